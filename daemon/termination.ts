/**
 * Carries out a disruption: taint the node `proxscale.io/disrupted:NoSchedule`, launch the
 * replacements first and wait until they are Ready, drain (core/drain.ts decides each step;
 * evictions go through the eviction API and a refusal backs off), then delete the VM through the
 * provider, then the Node, then release the NodeClaim's finalizer. At drainTimeout the pool's
 * drainTimeoutAction applies: "uncordon" removes the taint and keeps node and VM; "force" deletes
 * the pods left and waits for them (or their grace period) before the VM goes. The VM is never
 * deleted while a drain still sees pods that need one.
 *
 * Everything outside is reached through small ports (Kubernetes writer, provider, clock), so the
 * same runner works against the real adapters, the fakes and the simulator's virtual clock.
 *
 * May import: core/, daemon/ports/ (types). The ports it needs besides the clock it declares
 * itself.
 */
import type { NodePool, Pod, PodDisruptionBudget, Taint } from "../core/model.ts";
import { podKey } from "../core/model.ts";
import type { Result } from "../core/result.ts";
import { type Reason, reason, type ReasonCode } from "../core/reason.ts";
import type { PlannedClaim } from "../core/provisioning.ts";
import type { DisruptionCommand } from "../core/disruption.ts";
import { decideDrain, type EvictionBackoff, nextBackoff } from "../core/drain.ts";
import { DISRUPTED_TAINT_KEY } from "../core/labels.ts";
import type { Clock } from "./ports/clock.ts";

/** The taint that keeps new pods off a node being disrupted. */
export const DISRUPTED_TAINT: Taint = { key: DISRUPTED_TAINT_KEY, effect: "NoSchedule" };

/** A port call that failed in a way the runner may retry. */
/**
 * Why a port call failed; `code` says whose failure it was when the port knows (e.g. a
 * replacement launch that could not be queued is a QueueError). Unset, a VM deletion is the
 * provider's failure and every other port call the Kubernetes API's.
 */
export type PortError = { kind: "PortError"; message: string; code?: ReasonCode };

/** Why an eviction did not happen: a PDB refused it (HTTP 429 or the multi-PDB 500), or else. */
export type EvictError =
  | { kind: "PdbBlocked"; message: string }
  | { kind: "TooManyRequests"; message: string }
  | { kind: "Failed"; message: string };

/** What the runner needs from Kubernetes and the provider. */
export interface TerminationPorts {
  taintNode(node: string, taint: Taint): Promise<Result<void, PortError>>;
  /** Removes the taint and the cordon: the node is back in service. */
  untaintNode(node: string, taintKey: string): Promise<Result<void, PortError>>;
  /** Creates the replacement NodeClaim (idempotent by name). */
  launchReplacement(claim: PlannedClaim): Promise<Result<void, PortError>>;
  replacementStatus(name: string): Promise<Result<"Ready" | "Pending" | "Failed", PortError>>;
  listPods(node: string): Promise<Result<Pod[], PortError>>;
  listPdbs(): Promise<Result<PodDisruptionBudget[], PortError>>;
  /** policy/v1 Eviction with a UID precondition; 404 and 409 are "gone". */
  evict(pod: Pod): Promise<Result<"evicted" | "gone", EvictError>>;
  /** Plain delete, which no PDB stops: only for the "force" outcome. */
  deletePod(pod: Pod, gracePeriodMs: number): Promise<Result<"deleted" | "gone", PortError>>;
  deleteVm(target: TerminationTarget): Promise<Result<"deleted" | "gone", PortError>>;
  deleteNode(node: string): Promise<Result<void, PortError>>;
  releaseFinalizer(nodeClaim: string): Promise<Result<void, PortError>>;
}

/** One node to take away. */
export type TerminationTarget = {
  nodeClaim: string;
  node: string;
  nodePool: string;
  vmid?: number;
  host?: string;
  /** ms */
  drainTimeout: number;
  /** ms, null = not set */
  terminationGracePeriod: number | null;
  drainTimeoutAction: "uncordon" | "force";
  /** Why it goes (the disruption command's reason). */
  reason: Reason;
};

export type TerminationOptions = {
  /** Longest sleep while waiting for pods or replacements (ms). */
  pollInterval?: number;
  /** How long replacements may take to become Ready (ms). */
  replacementTimeout?: number;
  /** Attempts per port call before the step counts as failed. */
  attempts?: number;
  /** First retry delay of a failed port call, doubled each time (ms). */
  retryDelay?: number;
  /** Progress, for logs and Events. */
  onStep?: (step: string, why: Reason) => void;
};

export type TerminationOutcome =
  | { kind: "Terminated"; reason: Reason; evicted: number; forced: number }
  /** drainTimeout passed with "uncordon": the node is back in service. */
  | { kind: "GaveUp"; reason: Reason; evicted: number }
  /** A replacement failed or was not Ready in time: nothing was drained, the taint is gone. */
  | { kind: "ReplacementFailed"; reason: Reason }
  /** A port kept failing at `step`; the caller retries the whole termination later. */
  | { kind: "Failed"; step: string; reason: Reason };

const DEFAULTS = {
  pollInterval: 2_000,
  replacementTimeout: 25 * 60_000,
  attempts: 5,
  retryDelay: 500,
};

type Opts = typeof DEFAULTS & { onStep: (step: string, why: Reason) => void };

function options(o: TerminationOptions): Opts {
  return {
    pollInterval: o.pollInterval ?? DEFAULTS.pollInterval,
    replacementTimeout: o.replacementTimeout ?? DEFAULTS.replacementTimeout,
    attempts: o.attempts ?? DEFAULTS.attempts,
    retryDelay: o.retryDelay ?? DEFAULTS.retryDelay,
    onStep: o.onStep ?? (() => {}),
  };
}

/** Retries a port call with doubling delays; the last error is returned as a value. */
async function call<T>(
  clock: Clock,
  o: Opts,
  f: () => Promise<Result<T, PortError>>,
): Promise<Result<T, PortError>> {
  let r = await f();
  for (let i = 1; !r.ok && i < o.attempts; i++) {
    await clock.sleep(o.retryDelay * 2 ** (i - 1));
    r = await f();
  }
  return r;
}

/** A step that kept failing, with the failure's own code (`whose` when the port gave none). */
function failed(
  step: string,
  e: PortError,
  whose: ReasonCode = "KubernetesError",
): TerminationOutcome {
  return { kind: "Failed", step, reason: reason(e.code ?? whose, `${step} failed: ${e.message}`) };
}

/**
 * Puts a node back in service after its replacement failed. A failure is told as a step; the
 * outcome stays the replacement's, and the daemon's pass untaints a node no job carries on.
 */
async function untaintAfterFailedReplacement(
  node: string,
  ports: TerminationPorts,
  clock: Clock,
  o: Opts,
): Promise<void> {
  const u = await call(clock, o, () => ports.untaintNode(node, DISRUPTED_TAINT_KEY));
  if (u.ok) return;
  const f = failed(`untaint node ${node}`, u.error);
  if (f.kind === "Failed") o.onStep("untaint-failed", f.reason);
}

/**
 * Launches `replacements` and waits until all are Ready. Undefined on success; otherwise the
 * outcome to report (nothing has been drained yet).
 */
export async function launchReplacements(
  replacements: readonly PlannedClaim[],
  ports: TerminationPorts,
  clock: Clock,
  opts: TerminationOptions = {},
): Promise<TerminationOutcome | undefined> {
  const o = options(opts);
  if (replacements.length === 0) return undefined;
  for (const r of replacements) {
    const l = await call(clock, o, () => ports.launchReplacement(r));
    if (!l.ok) return failed(`launch replacement ${r.name}`, l.error);
  }
  const deadline = clock.now() + o.replacementTimeout;
  const pending = new Set(replacements.map((r) => r.name));
  while (pending.size > 0) {
    for (const name of [...pending]) {
      const s = await call(clock, o, () => ports.replacementStatus(name));
      if (!s.ok) return failed(`status of replacement ${name}`, s.error);
      if (s.value === "Ready") pending.delete(name);
      if (s.value === "Failed") {
        return {
          kind: "ReplacementFailed",
          reason: reason("LaunchFailed", `replacement NodeClaim ${name} failed to launch`),
        };
      }
    }
    if (pending.size === 0) break;
    if (clock.now() >= deadline) {
      return {
        kind: "ReplacementFailed",
        reason: reason(
          "LaunchTimeout",
          `replacement${pending.size === 1 ? "" : "s"} ${
            [...pending].join(", ")
          } not Ready within ${o.replacementTimeout / 1000}s`,
        ),
      };
    }
    await clock.sleep(o.pollInterval);
  }
  o.onStep("replacements", reason("Ready", `${replacements.length} replacements are Ready`));
  return undefined;
}

/** Takes one node away: taint, (replacements,) drain, delete VM, Node, finalizer. */
export async function terminate(
  target: TerminationTarget,
  ports: TerminationPorts,
  clock: Clock,
  opts: TerminationOptions & { replacements?: readonly PlannedClaim[] } = {},
): Promise<TerminationOutcome> {
  const o = options(opts);
  const t = await call(clock, o, () => ports.taintNode(target.node, DISRUPTED_TAINT));
  if (!t.ok) return failed(`taint node ${target.node}`, t.error);
  o.onStep("tainted", target.reason);

  const launched = await launchReplacements(opts.replacements ?? [], ports, clock, opts);
  if (launched) {
    await untaintAfterFailedReplacement(target.node, ports, clock, o);
    return launched;
  }

  const drained = await drain(target, ports, clock, o);
  if (drained.kind !== "Drained") return drained.outcome;

  const vm = await call(clock, o, () => ports.deleteVm(target));
  if (!vm.ok) return failed(`delete VM of ${target.nodeClaim}`, vm.error, "ProviderError");
  o.onStep("vm-deleted", target.reason);
  const n = await call(clock, o, () => ports.deleteNode(target.node));
  if (!n.ok) return failed(`delete node ${target.node}`, n.error);
  const f = await call(clock, o, () => ports.releaseFinalizer(target.nodeClaim));
  if (!f.ok) return failed(`release finalizer of ${target.nodeClaim}`, f.error);
  return {
    kind: "Terminated",
    reason: target.reason,
    evicted: drained.evicted,
    forced: drained.forced,
  };
}

/** How a drain ended: the node holds no pod that needs one, or the outcome that stopped it. */
export type DrainEnd =
  | { kind: "Drained"; evicted: number; forced: number }
  | { kind: "Stopped"; outcome: TerminationOutcome };

/**
 * Only the drain of `target.node` (no taint, no deletions), for callers that end a claim
 * themselves: the finalize job drains a node whose claim the lifecycle deletes.
 */
export function drainTarget(
  target: TerminationTarget,
  ports: TerminationPorts,
  clock: Clock,
  opts: TerminationOptions = {},
): Promise<DrainEnd> {
  return drain(target, ports, clock, options(opts));
}

async function drain(
  target: TerminationTarget,
  ports: TerminationPorts,
  clock: Clock,
  o: Opts,
): Promise<DrainEnd> {
  const startedAt = clock.now();
  const backoff: EvictionBackoff = {};
  let evicted = 0;
  let forced = 0;
  for (;;) {
    const pods = await call(clock, o, () => ports.listPods(target.node));
    if (!pods.ok) {
      return { kind: "Stopped", outcome: failed(`list pods of ${target.node}`, pods.error) };
    }
    const pdbs = await call(clock, o, () => ports.listPdbs());
    if (!pdbs.ok) {
      return { kind: "Stopped", outcome: failed("list PodDisruptionBudgets", pdbs.error) };
    }
    const now = clock.now();
    const d = decideDrain({
      node: target.node,
      pods: pods.value,
      pdbs: pdbs.value,
      now,
      startedAt,
      drainTimeout: target.drainTimeout,
      terminationGracePeriod: target.terminationGracePeriod,
      drainTimeoutAction: target.drainTimeoutAction,
      backoff,
    });
    switch (d.kind) {
      case "Drained":
        o.onStep("drained", d.reason);
        return { kind: "Drained", evicted, forced };
      case "GiveUp": {
        o.onStep("gave-up", d.reason);
        const u = await call(clock, o, () => ports.untaintNode(target.node, DISRUPTED_TAINT_KEY));
        if (!u.ok) {
          return { kind: "Stopped", outcome: failed(`untaint node ${target.node}`, u.error) };
        }
        return { kind: "Stopped", outcome: { kind: "GaveUp", reason: d.reason, evicted } };
      }
      case "Evict":
        o.onStep("evict", d.reason);
        for (const p of d.pods) {
          const r = await ports.evict(p);
          if (r.ok) {
            evicted += 1;
            delete backoff[p.uid];
          } else {
            backoff[p.uid] = nextBackoff(backoff[p.uid], clock.now());
            o.onStep(
              "evict-refused",
              reason(
                r.error.kind === "Failed" ? "KubernetesError" : "PdbBlocked",
                `eviction of ${podKey(p)} refused: ${r.error.message}`,
              ),
            );
          }
        }
        break;
      case "Force":
        o.onStep("force", d.reason);
        for (const p of d.pods) {
          const r = await call(clock, o, () => ports.deletePod(p, d.gracePeriod));
          if (!r.ok) {
            return { kind: "Stopped", outcome: failed(`delete pod ${podKey(p)}`, r.error) };
          }
          forced += 1;
        }
        break;
      case "Wait":
        await clock.sleep(Math.max(1, Math.min(d.until - now, o.pollInterval)));
        break;
    }
  }
}

/** Termination settings of a node from its pool. */
export function targetOf(
  node: { nodeClaim: string; node: string; nodePool: string },
  pool: NodePool | undefined,
  why: Reason,
): TerminationTarget {
  return {
    ...node,
    drainTimeout: pool?.scaleDown.drainTimeout ?? 600_000,
    terminationGracePeriod: pool?.disruption.terminationGracePeriod ?? null,
    drainTimeoutAction: pool?.disruption.drainTimeoutAction ?? "uncordon",
    reason: why,
  };
}

/**
 * Carries out a whole disruption command: every candidate is tainted, the replacements launch
 * and must be Ready, then each candidate is drained and deleted. A failed replacement untaints
 * every candidate and drains nothing.
 */
export async function terminateCommand(
  cmd: DisruptionCommand,
  pools: readonly NodePool[],
  ports: TerminationPorts,
  clock: Clock,
  opts: TerminationOptions = {},
): Promise<TerminationOutcome[]> {
  const o = options(opts);
  const targets = cmd.candidates.map((c) =>
    targetOf(c, pools.find((p) => p.name === c.nodePool), cmd.reason)
  );
  for (const t of targets) {
    const r = await call(clock, o, () => ports.taintNode(t.node, DISRUPTED_TAINT));
    if (!r.ok) return [failed(`taint node ${t.node}`, r.error)];
  }
  const launched = await launchReplacements(cmd.replacements, ports, clock, opts);
  if (launched) {
    for (const t of targets) await untaintAfterFailedReplacement(t.node, ports, clock, o);
    return [launched];
  }
  const out: TerminationOutcome[] = [];
  for (const t of targets) out.push(await terminate(t, ports, clock, opts));
  return out;
}
