/**
 * Interim scale-down for the proxscale policy while core/disruption.ts is being written:
 * Karpenter's emptiness method only (autoscaling-semantics.md §10.3). A Ready node of a pool
 * whose consolidateAfter is not Never, with no pods but DaemonSet ones, is removed once it has
 * been empty for consolidateAfter, within the pool's disruption budget and minNodes, never while
 * a pending pod is placed onto it. It has the signature the core's `disrupt` will have, so the
 * proxscale policy swaps it out by changing one import (sim/policies/proxscale.ts).
 *
 * May import: core/.
 */
import type { Config, NodeClaim, NodePool, Snapshot } from "../../core/model.ts";
import { isClaimReady } from "../../core/claim_state.ts";
import { reason } from "../../core/reason.ts";
import type { Deletion } from "../engine/policy.ts";

/** What the emptiness pass remembers between calls: when each node was first seen empty. */
export type EmptinessState = { emptySince: Readonly<Record<string, number>> };

/** Deletions decided by a scale-down pass, the state to keep, and its next timer. */
export type ScaleDownPlan<S> = { deletions: Deletion[]; state: S; wakeAt?: number };

/** A scale-down pass with the shape of the core's disrupt(snapshot, config, state). */
export type ScaleDown<S> = (
  snapshot: Snapshot,
  config: Config,
  state: S,
  protectedNodes?: ReadonlySet<string>,
) => ScaleDownPlan<S>;

/** Nodes a pool's budgets allow to disrupt for `reasonCode` now (percentages round up). */
export function budgetAllows(pool: NodePool, total: number, deleting: number): number {
  let allowed = Infinity;
  for (const b of pool.disruption.budgets) {
    if (b.reasons && !b.reasons.includes("Empty")) continue;
    const n = b.nodes.endsWith("%")
      ? Math.ceil((Number(b.nodes.slice(0, -1)) / 100) * total)
      : Number(b.nodes);
    allowed = Math.min(allowed, n);
  }
  if (allowed === Infinity) allowed = Math.ceil(0.1 * total);
  return Math.max(0, allowed - deleting);
}

/** Removes nodes that stayed empty for their pool's consolidateAfter. Pure. */
export const emptyNodeScaleDown: ScaleDown<EmptinessState> = (snap, config, state, protect) => {
  const busy = new Set<string>();
  for (const p of snap.pods) {
    if (
      p.nodeName && p.ownerKind !== "DaemonSet" && p.phase !== "Succeeded" && p.phase !== "Failed"
    ) {
      busy.add(p.nodeName);
    }
  }
  const nodes = new Set(snap.nodes.filter((n) => !n.deleting).map((n) => n.name));
  const byPool = new Map<string, NodeClaim[]>();
  for (const c of snap.nodeClaims) {
    const l = byPool.get(c.nodePool) ?? [];
    l.push(c);
    byPool.set(c.nodePool, l);
  }
  const emptySince: Record<string, number> = {};
  const deletions: Deletion[] = [];
  let wakeAt: number | undefined;
  for (const pool of [...config.nodePools].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const claims = byPool.get(pool.name) ?? [];
    const after = pool.disruption.consolidateAfter;
    const live = claims.filter((c) => !c.deleting);
    const deleting = claims.length - live.length;
    const initialized = live.filter((c) => isClaimReady(c)).length;
    let allowed = budgetAllows(pool, initialized, deleting);
    let keep = live.length - pool.minNodes;
    const due: { c: NodeClaim; since: number }[] = [];
    for (const c of live) {
      const name = c.nodeName ?? c.name;
      if (!isClaimReady(c) || !nodes.has(name) || busy.has(name) || protect?.has(name)) continue;
      const since = state.emptySince[name] ?? snap.now;
      emptySince[name] = since;
      if (after === null) continue;
      if (snap.now - since >= after) due.push({ c, since });
      else wakeAt = Math.min(wakeAt ?? Infinity, since + after);
    }
    due.sort((a, b) => a.since - b.since || (a.c.name < b.c.name ? -1 : 1));
    for (const { c, since } of due) {
      if (allowed <= 0 || keep <= 0) {
        wakeAt = Math.min(wakeAt ?? Infinity, snap.now + 10_000);
        break;
      }
      allowed--;
      keep--;
      deletions.push({
        claim: c.name,
        reason: reason(
          "Empty",
          `node ${c.nodeName ?? c.name} has run no pods for ${
            Math.round((snap.now - since) / 1000)
          }s (consolidateAfter ${after! / 1000}s)`,
        ),
      });
    }
  }
  return { deletions, state: { emptySince }, ...(wakeAt !== undefined ? { wakeAt } : {}) };
};
