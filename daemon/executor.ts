/**
 * Turns a reconcile plan into effects. Quick idempotent writes (conditions, registration, a
 * claim's deletion request) happen in the pass; multi-step operations become queue jobs keyed
 * by stable ids (`launch-<nodeclaim>`, `finalize-<nodeclaim>`, `delete-vm-<provider>-<vmid>`,
 * `remove-node-<node>`, `disrupt-<nodeclaims>`), so a decision repeated on every pass, or by a
 * restarted daemon, never runs twice. Each new decision is reported once with its reason; an
 * action that failed is reported with the failure's own code (KubernetesError, QueueError, or
 * the launch's), never one that blames another system.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { Action } from "../core/reconcile.ts";
import { type Reason, reason } from "../core/reason.ts";
import { err, ok, type Result } from "../core/result.ts";
import {
  type EventSubject,
  nodeClaimSubject,
  nodePoolSubject,
  nodeSubject,
  podSubject,
} from "../adapters/kubernetes/events.ts";
import type { Node } from "../core/model.ts";
import { DISRUPTED_TAINT_KEY } from "../core/labels.ts";
import { setNodeLabels, updateNodeTaints } from "../adapters/kubernetes/node_writer.ts";
import { describeKubeError, type KubeError } from "../adapters/kubernetes/client.ts";
import { setNodeClaimStatus } from "../adapters/kubernetes/nodeclaim_writer.ts";
import { deleteVmJobId, type JobSpec } from "./ports/queue.ts";
import type { DaemonContext, DecisionReport, JobData, JobOrigin } from "./context.ts";
import { createClaimWithFinalizer, registerNode, requestClaimDeletion } from "./kube_actions.ts";
import { clearFinishedJob, startLaunch } from "./launching.ts";

/** Pod nomination Events waiting to be written at most (see Executor #nominate). */
export const NOMINATIONS_WAITING = 256;

/** What an action is about, for reports and de-duplication. */
function subject(a: Action): Omit<DecisionReport, "time" | "what" | "reason"> {
  switch (a.kind) {
    case "LaunchClaim":
      return {
        nodeclaim: a.claim.name,
        nodepool: a.claim.nodePool,
        ...(a.claim.host ? { host: a.claim.host } : {}),
        ...(a.isNew ? { pods: a.pods, passAt: a.claim.createdAt } : {}),
      };
    case "RegisterNode":
      return { nodeclaim: a.claim, node: a.node };
    case "GarbageCollectVM":
      return { vmid: a.vm.vmid, host: a.vm.host };
    case "RemoveNode":
      return { node: a.node };
    case "Disrupt":
      return {
        nodeclaim: a.command.candidates.map((c) => c.nodeClaim).join(","),
        node: a.command.candidates.map((c) => c.node).join(","),
      };
    case "RepairPaused":
      return { nodepool: a.nodePool };
    case "AdoptClaim":
      return {
        nodeclaim: a.claim.name,
        nodepool: a.claim.nodePool,
        ...(a.claim.vmid !== undefined ? { vmid: a.claim.vmid } : {}),
        ...(a.claim.host ? { host: a.claim.host } : {}),
        ...(a.claim.nodeName ? { node: a.claim.nodeName } : {}),
      };
    case "KeepOrphanVM":
      return {
        vmid: a.vm.vmid,
        host: a.vm.host,
        ...(a.vm.claim ? { nodeclaim: a.vm.claim } : {}),
      };
    default:
      return { nodeclaim: a.claim };
  }
}

/** Every action kind, once (the type makes the list complete). */
const ACTION_KINDS: Record<Action["kind"], true> = {
  LaunchClaim: true,
  RegisterNode: true,
  UpdateClaimStatus: true,
  MarkDrifted: true,
  MarkInitialized: true,
  DeleteClaim: true,
  FinalizeClaim: true,
  GarbageCollectVM: true,
  AdoptClaim: true,
  KeepOrphanVM: true,
  RemoveNode: true,
  RepairPaused: true,
  Disrupt: true,
};

/** The report of an action that failed: `<kind>Failed` (e.g. FinalizeClaimFailed). */
export function actionFailedWhat(kind: Action["kind"]): string {
  return `${kind}Failed`;
}

/** Whether a report's `what` is an action's failure (its reason code is the failure's). */
export function isActionFailure(what: string): boolean {
  return what.endsWith("Failed") && Object.hasOwn(ACTION_KINDS, what.slice(0, -"Failed".length));
}

/** What makes two reports the same decision (reported once until it changes). */
function reportKey(kind: string, s: ReturnType<typeof subject>): string {
  return `${kind}/${s.nodepool ?? ""}/${s.nodeclaim ?? ""}/${s.node ?? ""}/${s.vmid ?? ""}`;
}

/** Applies plans; remembers which decisions it already reported. */
export class Executor {
  readonly #ctx: DaemonContext;
  #reported = new Map<string, string>();
  /** Pod nominations written in the background and not yet done. */
  #nominations = 0;
  /** The action being carried out, stamped on the jobs it queues (reason, span). */
  #origin: JobOrigin | undefined;

  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
  }

  /** Reports each decision once; with `act` false (paused, or not leader) does nothing else. */
  async apply(actions: readonly Action[], act: boolean): Promise<void> {
    const seen = new Map<string, string>();
    for (const a of actions) {
      // A pool backing off from launches that keep failing, or past its hourly claim bound,
      // creates no NodeClaim now (reported once per change of reason).
      if (a.kind === "LaunchClaim" && a.isNew && act && this.#ctx.launchGuard) {
        const g = this.#ctx.launchGuard.gate(a.claim.nodePool);
        if (!g.ok) {
          const key = `LaunchBackoff/${a.claim.nodePool}`;
          const sig = g.reason.code;
          seen.set(key, sig);
          if (this.#reported.get(key) !== sig) {
            this.#ctx.report({
              time: this.#ctx.clock.now(),
              what: "LaunchBackoff",
              nodepool: a.claim.nodePool,
              reason: g.reason,
            });
            // The pods it was for say why they wait (a full IP pool, a bad template...).
            for (const pod of a.pods) await this.#eventOn(this.#podSubject(pod), g.reason);
          }
          continue;
        }
      }
      const s = subject(a);
      const key = reportKey(a.kind, s);
      const sig = `${a.reason.code}/${act}`;
      seen.set(key, sig);
      // Status updates are the outcome of work, not news; report the rest the first time.
      if (this.#reported.get(key) !== sig && a.kind !== "UpdateClaimStatus") {
        this.#ctx.report({
          time: this.#ctx.clock.now(),
          what: a.kind,
          ...s,
          reason: a.reason,
          ...(act ? {} : { dryRun: true }),
        });
      }
      if (!act) continue;
      const r = await this.#act(a, s);
      if (!r.ok) {
        this.#ctx.report({
          time: this.#ctx.clock.now(),
          what: actionFailedWhat(a.kind),
          ...s,
          outcome: "failed",
          reason: r.error,
        });
      }
    }
    this.#reported = seen;
  }

  /**
   * A node left with the disrupted taint by a disruption no job carries on (its daemon died
   * mid-drain and the memory queue died with it) is untainted, so the next pass decides about
   * it again; core/disruption.ts treats a tainted node as a disruption in progress.
   */
  async releaseAbandonedDisruptions(nodes: readonly Node[]): Promise<void> {
    const tainted = nodes.filter((n) =>
      (n.taints ?? []).some((t) => t.key === DISRUPTED_TAINT_KEY)
    );
    if (tainted.length === 0) return;
    const jobs = await this.#ctx.queue.list();
    if (!jobs.ok) {
      // Untainting without knowing which disruptions jobs carry on could stop a live one
      // halfway: nothing is released this pass, and the queue's failure is told.
      this.#ctx.report({
        time: this.#ctx.clock.now(),
        what: "UntaintSkipped",
        outcome: "failed",
        reason: reason("QueueError", `listing jobs: ${jobs.error.message}`),
      });
      return;
    }
    const carried = new Set<string>();
    for (const j of jobs.value) {
      if (j.state === "completed" || j.state === "failed" || j.data.kind !== "disrupt") continue;
      for (const c of j.data.command.candidates) carried.add(c.node);
    }
    // A deleting claim's finalize job drains its node under the same taint (finalize_drain.ts).
    for (const c of this.#ctx.informers.nodeClaims.list()) {
      if (c.deleting && c.nodeName !== undefined) carried.add(c.nodeName);
    }
    for (const n of tainted) {
      if (carried.has(n.name) || n.deleting) continue;
      const r = await updateNodeTaints(this.#ctx.kube, n.name, {
        remove: [{ key: DISRUPTED_TAINT_KEY, effect: "NoSchedule" }],
      }, this.#ctx.clock.now);
      this.#ctx.report({
        time: this.#ctx.clock.now(),
        what: r.ok ? "Untaint" : "UntaintFailed",
        node: n.name,
        ...(r.ok ? {} : { outcome: "failed" as const }),
        reason: r.ok
          ? reason(
            "DisruptionInProgress",
            `no job carries on the disruption of ${n.name}: back in service`,
          )
          : kubeFailure(r.error),
      });
    }
  }

  /** `#run` inside an `action <kind>` span that names the claim, its pool and the reason. */
  async #act(a: Action, s: ReturnType<typeof subject>): Promise<Result<void, Reason>> {
    const tracing = this.#ctx.tracing;
    if (!tracing) return await this.#run(a);
    const claim = a.kind === "LaunchClaim" ? a.claim : undefined;
    const pool = claim?.nodePool ?? s.nodepool ??
      this.#ctx.informers.nodeClaims.list().find((c) => c.name === s.nodeclaim)?.nodePool;
    const done = await tracing.action(a.kind, {
      nodeclaim: s.nodeclaim,
      nodepool: pool,
      reason: a.reason,
      node: s.node,
      vmid: s.vmid,
      host: s.host,
    }, async (span) => {
      const ref = span.ref();
      this.#origin = {
        reason: a.reason,
        ...(ref ? { span: ref } : {}),
        ...(pool ? { nodepool: pool } : {}),
      };
      try {
        const r = await this.#run(a);
        // The span fails with the failure's own code (as the error's kind) and message.
        if (!r.ok) span.fail({ kind: r.error.code, message: r.error.message });
        // Wrapped, so the span helper does not fail the span again with the bare Result.
        return { r };
      } finally {
        this.#origin = undefined;
      }
    });
    return done.r;
  }

  /** Carries out one action; why it failed, if it did (the next pass tries again). */
  async #run(a: Action): Promise<Result<void, Reason>> {
    const ctx = this.#ctx;
    const now = ctx.clock.now;
    switch (a.kind) {
      case "LaunchClaim": {
        const r = await startLaunch(ctx, a.claim, a.isNew, a.relaunch ?? false, this.#origin);
        if (!r.ok) return r;
        if (a.isNew) {
          ctx.launchGuard?.created(a.claim.nodePool);
          // Why the NodeClaim exists (describe nodeclaim), and on each pod it is for, which
          // NodeClaim is coming for it (describe pod), in the decision's words.
          await this.#event(a.claim.name, a.reason);
          this.#nominate(a.claim.name, a.pods, a.reason);
        }
        return ok(undefined);
      }
      case "RegisterNode": {
        const r = await registerNode(ctx.kube, a.node, a.labels, a.taints, a.removeTaintKeys);
        if (!r.ok) return err(kubeFailure(r.error));
        // The kubelet now holds its own certificate: its join token and seed ISO go (queued
        // before the status write, so a failed write re-decides and the job id dedupes).
        const q = await this.#enqueue({
          id: `release-bootstrap-${a.claim}`,
          name: "release-bootstrap",
          data: { kind: "release-bootstrap", claim: a.claim, why: `Node ${a.node} registered` },
        }, false);
        if (!q.ok) return q;
        const w = await setNodeClaimStatus(ctx.kube, a.claim, {
          nodeName: a.node,
          conditions: [{
            type: "Registered",
            status: "True",
            reason: a.reason.code,
            message: a.reason.message,
            lastTransitionTime: now(),
          }],
        }, now);
        if (!w.ok) return err(kubeFailure(w.error));
        await ctx.hook("after-registration", a.claim);
        return ok(undefined);
      }
      case "UpdateClaimStatus": {
        const w = await setNodeClaimStatus(ctx.kube, a.claim, {
          conditions: a.conditions,
          ...(a.vmid !== undefined ? { vmid: a.vmid } : {}),
          ...(a.host !== undefined ? { host: a.host } : {}),
          ...(a.providerID !== undefined ? { providerID: a.providerID } : {}),
          ...(a.nodeName !== undefined ? { nodeName: a.nodeName } : {}),
        }, now);
        return kubeResult(w);
      }
      case "MarkDrifted": {
        const w = await setNodeClaimStatus(ctx.kube, a.claim, { conditions: [a.condition] }, now);
        await this.#event(a.claim, a.reason);
        return kubeResult(w);
      }
      case "MarkInitialized": {
        const r = await setNodeLabels(ctx.kube, a.node, a.labels);
        return kubeResult(r);
      }
      case "DeleteClaim": {
        const r = await requestClaimDeletion(ctx.kube, a.claim);
        await this.#event(a.claim, a.reason);
        return kubeResult(r);
      }
      case "FinalizeClaim":
        return await this.#enqueue(
          {
            id: `finalize-${a.claim}`,
            name: "finalize",
            data: { kind: "finalize", claim: a.claim },
          },
          true,
        );
      case "GarbageCollectVM": {
        const vm = a.vm;
        await this.#event(vm.claim ?? `vm-${vm.vmid}`, a.reason);
        if (!vm.claim) return ok(undefined);
        return await this.#enqueue({
          id: deleteVmJobId(vm.provider, vm.vmid),
          name: "gc-vm",
          data: { kind: "gc-vm", vm: { ...vm, claim: vm.claim } },
        }, true);
      }
      case "AdoptClaim": {
        // Created with its finalizer, then its status: the VM is Launched and its Node Ready.
        const c = await createClaimWithFinalizer(ctx.kube, a.claim);
        if (!c.ok) return err(kubeFailure(c.error));
        const w = await setNodeClaimStatus(ctx.kube, a.claim.name, {
          conditions: a.claim.conditions,
          ...(a.claim.vmid !== undefined ? { vmid: a.claim.vmid } : {}),
          ...(a.claim.host !== undefined ? { host: a.claim.host } : {}),
          ...(a.claim.providerID !== undefined ? { providerID: a.claim.providerID } : {}),
          ...(a.claim.nodeName !== undefined ? { nodeName: a.claim.nodeName } : {}),
        }, now);
        if (c.value.created) await this.#event(a.claim.name, a.reason);
        return kubeResult(w);
      }
      case "KeepOrphanVM":
        // Once per change: a Warning says the VM stays until an operator decides.
        if (this.#reported.has(reportKey(a.kind, subject(a)))) return ok(undefined);
        await this.#event(a.vm.claim ?? `vm-${a.vm.vmid}`, a.reason);
        return ok(undefined);
      case "RemoveNode":
        await this.#eventOn(nodeSubject(a.node), a.reason);
        return await this.#enqueue(
          {
            id: `remove-node-${a.node}`,
            name: "remove-node",
            data: { kind: "remove-node", node: a.node },
          },
          true,
        );
      case "RepairPaused":
        // Once per change (apply reports only news): a Warning on the NodePool says why its
        // NotReady nodes stay.
        if (this.#reported.has(reportKey(a.kind, subject(a)))) return ok(undefined);
        await this.#ctx.events?.record(nodePoolSubject(a.nodePool), a.reason);
        return ok(undefined);
      case "Disrupt": {
        // Each node taken away says why, on its NodeClaim and on its Node.
        for (const c of a.command.candidates) {
          await this.#event(c.nodeClaim, a.reason);
          await this.#eventOn(nodeSubject(c.node), a.reason);
        }
        const names = a.command.candidates.map((c) => c.nodeClaim).sort().join("-");
        return await this.#enqueue(
          {
            id: `disrupt-${names}`,
            name: "disrupt",
            data: { kind: "disrupt", command: a.command },
          },
          // A finished job of the same candidates must not swallow the new decision: a command
          // whose replacement failed untaints its nodes and completes, and the next pass decides
          // the same disruption again (workers.ts skips one whose claims are already gone).
          true,
        );
      }
    }
  }

  /** Enqueues; `renew` lets a finished job of the same id run again (the need came back). */
  async #enqueue(job: JobSpec<JobData>, renew: boolean): Promise<Result<void, Reason>> {
    const q = this.#ctx.queue;
    if (renew) {
      const cleared = await clearFinishedJob(q, job.id);
      if (!cleared.ok) return cleared;
    }
    const origin = this.#origin;
    const r = await q.enqueue(origin ? { ...job, data: { ...job.data, origin } } : job);
    return r.ok
      ? ok(undefined)
      : err(reason("QueueError", `queueing ${job.id}: ${r.error.message}`));
  }

  /**
   * Tells each pod a new NodeClaim is launched for which one is coming (Karpenter's Nominated),
   * with the launch's reason code and message. Written in the background: a launch for
   * thousands of pods must not hold the pass on thousands of writes. At most
   * NOMINATIONS_WAITING wait at once; beyond that a nomination is skipped, as client-go's event
   * queue drops Events when it is full (the NodeClaim's own Event still says it all).
   */
  #nominate(claim: string, pods: readonly string[], why: Reason): void {
    const events = this.#ctx.events;
    if (!events) return;
    const r = reason(why.code, `NodeClaim ${claim} is launched for this pod: ${why.message}`);
    for (const key of pods) {
      if (this.#nominations >= NOMINATIONS_WAITING) return;
      this.#nominations++;
      void events.record(this.#podSubject(key), r)
        // The recorder answers failures as values; a throw would be its bug, and an Event is
        // never worth the daemon (an unhandled rejection ends a Deno process).
        .catch(() => undefined)
        .finally(() => this.#nominations--);
    }
  }

  /** The Event subject of pod `namespace/name`, with its uid from the informer. */
  #podSubject(key: string): EventSubject {
    return podSubject(key, this.#ctx.informers.pods.get(key)?.uid);
  }

  #event(claim: string, why: Reason): Promise<void> {
    return this.#eventOn(nodeClaimSubject(claim), why);
  }

  /**
   * An Event with the decision's reason (failures to record it never block the action); its
   * code decides whether it is a Warning.
   */
  async #eventOn(subject: EventSubject, why: Reason): Promise<void> {
    await this.#ctx.events?.record(subject, why);
  }
}

/** A Kubernetes API failure as the reason an action failed. */
function kubeFailure(e: KubeError): Reason {
  return reason("KubernetesError", describeKubeError(e));
}

/** A Kubernetes write's result as an action's: its failure is a KubernetesError. */
function kubeResult(r: Result<unknown, KubeError>): Result<void, Reason> {
  return r.ok ? ok(undefined) : err(kubeFailure(r.error));
}
