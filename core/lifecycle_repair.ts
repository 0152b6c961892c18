/**
 * The node-repair guard: when more than a fifth of a NodePool's nodes are NotReady at once,
 * the cause is rarely the nodes (a network or control-plane outage, a bad DaemonSet), and
 * replacing them all would only add churn. Karpenter pauses repair for such a pool (20 %); so
 * does proxscale, and says so with a Reason.
 *
 * May import: core/ only.
 */
import type { NodeClaim } from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import type { LifecycleDecision } from "./lifecycle.ts";

/**
 * Above this fraction of NotReady nodes in a pool (rounded up: at least one node may always be
 * repaired), no node of it is repaired.
 */
export const MAX_UNHEALTHY_FRACTION = 0.2;

/** A pool whose repairs were held back, and why. */
export type BlockedRepair = { nodePool: string; reason: Reason };

/**
 * Removes node-repair replacements (DeleteClaim with reason NodeNotReady) from pools where
 * more than `maxUnhealthy` of the claims have a NotReady node; other actions stay.
 */
export function guardNodeRepair(
  claims: readonly NodeClaim[],
  decisions: readonly LifecycleDecision[],
  maxUnhealthy = MAX_UNHEALTHY_FRACTION,
): { decisions: LifecycleDecision[]; blocked: BlockedRepair[] } {
  const poolOf = new Map(claims.map((c) => [c.name, c.nodePool]));
  const size = new Map<string, number>();
  for (const c of claims) if (!c.deleting) size.set(c.nodePool, (size.get(c.nodePool) ?? 0) + 1);
  const down = new Map<string, number>();
  for (const d of decisions) {
    const p = poolOf.get(d.claim);
    if (p !== undefined && d.notReadySince !== undefined) down.set(p, (down.get(p) ?? 0) + 1);
  }
  const blocked: BlockedRepair[] = [];
  const paused = new Set<string>();
  for (const [pool, n] of [...down].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const total = size.get(pool) ?? 0;
    // The allowance rounds up, so one NotReady node never halts repair in a small pool.
    if (total > 0 && n > Math.ceil(total * maxUnhealthy)) {
      paused.add(pool);
      blocked.push({
        nodePool: pool,
        reason: reason(
          "RepairPaused",
          `node repair paused in NodePool ${pool}: ${n} of ${total} nodes NotReady (more than ${
            Math.round(maxUnhealthy * 100)
          }%)`,
        ),
      });
    }
  }
  const out = decisions.map((d) => {
    const p = poolOf.get(d.claim);
    if (p === undefined || !paused.has(p)) return d;
    const actions = d.actions.filter((a) =>
      !(a.kind === "DeleteClaim" && a.reason.code === "NodeNotReady")
    );
    return actions.length === d.actions.length ? d : { ...d, actions };
  });
  return { decisions: out, blocked };
}
