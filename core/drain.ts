/**
 * Draining a node, as a pure decision the termination runner asks again after every step:
 * given the pods still on the node, the PodDisruptionBudgets, the eviction backoff so far and
 * the clock, what to do next. Pods leave in tiers, each starting only when the one before is
 * empty: non-critical pods, then critical ones (priority class system-*), DaemonSet pods last.
 * Static pods, and pods that tolerate the disrupted taint, are never evicted. Do-not-disrupt pods and pods whose PDB allows nothing wait.
 * At drainTimeout the pool's drainTimeoutAction decides: "uncordon" gives up (the node stays),
 * "force" deletes what is left with terminationGracePeriod as the pods' grace period, and the
 * node counts as drained once they are gone or that grace has run out.
 */
import type { Pod, PodDisruptionBudget, Taint } from "./model.ts";
import { podKey } from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import { matchesSelector } from "./requirements.ts";
import { podDoNotDisrupt } from "./disruption_pods.ts";
import { formatDuration } from "./duration.ts";
import { tolerates } from "./taints.ts";
import { DISRUPTED_TAINT_KEY } from "./labels.ts";

export type DrainTier = "NonCritical" | "Critical" | "DaemonSet";
const TIERS: readonly DrainTier[] = ["NonCritical", "Critical", "DaemonSet"];

/** Per pod (by uid): eviction refusals so far and when to try again (epoch ms). */
export type EvictionBackoff = Record<string, { failures: number; notBefore: number }>;

/** Grace given to force-deleted pods when the pool sets no terminationGracePeriod (ms). */
export const DEFAULT_FORCE_GRACE = 30_000;

export type DrainInput = {
  node: string;
  /** Pods bound to the node now. */
  pods: readonly Pod[];
  pdbs: readonly PodDisruptionBudget[];
  now: number;
  /** When the drain began (epoch ms). */
  startedAt: number;
  /** ms */
  drainTimeout: number;
  /** ms, null = not set */
  terminationGracePeriod: number | null;
  drainTimeoutAction: "uncordon" | "force";
  backoff: EvictionBackoff;
};

export type DrainDecision =
  /** Evict these pods now through the eviction API (PDBs enforced by the API server). */
  | { kind: "Evict"; tier: DrainTier; pods: Pod[]; reason: Reason }
  /** Nothing to do before `until`: pods are terminating, protected or backing off. */
  | { kind: "Wait"; tier: DrainTier; until: number; reason: Reason }
  /** No pod that needs a drain is left: the VM may go. */
  | { kind: "Drained"; reason: Reason }
  /** drainTimeout passed with drainTimeoutAction "uncordon": untaint, keep the node and VM. */
  | { kind: "GiveUp"; reason: Reason }
  /** drainTimeout passed with "force": delete these pods (no PDB check) with this grace (ms). */
  | { kind: "Force"; pods: Pod[]; gracePeriod: number; reason: Reason };

/** Critical pods run cluster infrastructure and leave after the workloads. */
export function isCritical(pod: Pod): boolean {
  return (pod.priorityClassName?.startsWith("system-") ?? false) ||
    (pod.priority ?? 0) >= 2_000_000_000;
}

/** The tier a pod leaves in. */
export function drainTier(pod: Pod): DrainTier {
  if (pod.ownerKind === "DaemonSet") return "DaemonSet";
  return isCritical(pod) ? "Critical" : "NonCritical";
}

/**
 * Pods a drain waits for: bound here, not finished, not static (kubelet owns those), and not
 * tolerating the disrupted taint: such pods (often DaemonSet agents that tolerate everything)
 * would be recreated on this very node, so evicting them could never finish; they end with it.
 */
export function drainable(pods: readonly Pod[], node: string): Pod[] {
  return pods.filter((p) =>
    p.nodeName === node && p.phase !== "Succeeded" && p.phase !== "Failed" &&
    p.ownerKind !== "Node" && !toleratesDisruption(p)
  );
}

const DISRUPTED: Taint = { key: DISRUPTED_TAINT_KEY, effect: "NoSchedule" };

/** Does the pod tolerate `proxscale.io/disrupted:NoSchedule`? */
export function toleratesDisruption(pod: Pod): boolean {
  return (pod.tolerations ?? []).some((t) => tolerates(t, DISRUPTED));
}

/** Backoff after an eviction refusal (HTTP 429): 100 ms doubling to at most 10 s, per pod. */
export function nextBackoff(
  prev: { failures: number } | undefined,
  now: number,
): { failures: number; notBefore: number } {
  const failures = (prev?.failures ?? 0) + 1;
  return { failures, notBefore: now + Math.min(10_000, 100 * 2 ** (failures - 1)) };
}

/** What the drain of `input.node` should do next. */
export function decideDrain(input: DrainInput): DrainDecision {
  const { now } = input;
  const left = drainable(input.pods, input.node);
  if (left.length === 0) {
    return {
      kind: "Drained",
      reason: reason("Drained", `node ${input.node} has no pods left to drain`),
    };
  }
  const deadline = input.startedAt + input.drainTimeout;
  if (now >= deadline) return atDeadline(input, left, deadline);

  const tier = TIERS.find((t) => left.some((p) => drainTier(p) === t))!;
  const inTier = left.filter((p) => drainTier(p) === tier);
  const spend = new Map<PodDisruptionBudget, number>();
  const evict: Pod[] = [];
  let until = deadline;
  let why: Reason | undefined;
  for (const p of inTier) {
    if (p.deleting) continue;
    const dnd = podDoNotDisrupt(p, now);
    if (dnd) {
      why ??= dnd;
      continue;
    }
    const b = input.backoff[p.uid];
    if (b && b.notBefore > now) {
      until = Math.min(until, b.notBefore);
      why ??= reason(
        "PdbBlocked",
        `eviction of pod ${podKey(p)} was refused ${b.failures} time${
          b.failures === 1 ? "" : "s"
        }; retrying in ${b.notBefore - now} ms`,
      );
      continue;
    }
    // Do not ask for evictions the observed budgets already forbid: the API would refuse them.
    const covering = input.pdbs.filter((x) =>
      x.namespace === p.namespace && matchesSelector(p.labels, x.selector)
    );
    const full = covering.find((x) => (spend.get(x) ?? 0) >= x.disruptionsAllowed);
    if (full) {
      why ??= reason(
        "PdbBlocked",
        `PodDisruptionBudget ${full.namespace}/${full.name} allows ${full.disruptionsAllowed} disruptions; pod ${
          podKey(p)
        } waits`,
      );
      continue;
    }
    for (const x of covering) spend.set(x, (spend.get(x) ?? 0) + 1);
    evict.push(p);
  }
  if (evict.length > 0) {
    return {
      kind: "Evict",
      tier,
      pods: evict,
      reason: reason(
        "Draining",
        `evicting ${evict.length} ${tier} pod${
          evict.length === 1 ? "" : "s"
        } from node ${input.node}; ${left.length} pods left`,
      ),
    };
  }
  return {
    kind: "Wait",
    tier,
    until,
    reason: why ??
      reason(
        "Draining",
        `waiting for ${inTier.length} ${tier} pods on node ${input.node} to terminate`,
      ),
  };
}

function atDeadline(input: DrainInput, left: Pod[], deadline: number): DrainDecision {
  const what = `drainTimeout ${formatDuration(input.drainTimeout)} passed with ${left.length} pod${
    left.length === 1 ? "" : "s"
  } left on node ${input.node} (first: ${podKey(left[0]!)})`;
  if (input.drainTimeoutAction === "uncordon") {
    return { kind: "GiveUp", reason: reason("DrainTimeout", `${what}; giving up and uncordoning`) };
  }
  const grace = input.terminationGracePeriod ?? DEFAULT_FORCE_GRACE;
  const toDelete = left.filter((p) => !p.deleting);
  if (toDelete.length > 0) {
    return {
      kind: "Force",
      pods: toDelete,
      gracePeriod: grace,
      reason: reason(
        "DrainTimeout",
        `${what}; deleting them with a ${formatDuration(grace)} grace period`,
      ),
    };
  }
  // Everything left is terminating; pods stuck past their grace period do not hold the VM.
  if (input.now >= deadline + grace) {
    return {
      kind: "Drained",
      reason: reason(
        "DrainTimeout",
        `${what}; all are terminating past their ${formatDuration(grace)} grace period`,
      ),
    };
  }
  return {
    kind: "Wait",
    tier: drainTier(left[0]!),
    until: deadline + grace,
    reason: reason("DrainTimeout", `${what}; waiting for forced pods to terminate`),
  };
}
