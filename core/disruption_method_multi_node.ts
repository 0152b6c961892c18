/**
 * Multi-node consolidation: the longest prefix of the consolidation candidates (best savings
 * first, at most MULTI_NODE_CAP) whose pods all fit on the other nodes plus at most one cheaper
 * VM, found by binary search over the prefix length, in one command.
 *
 * As in Karpenter, the one VM must be cheaper than every candidate of a shape its template
 * offers: folding two 4c-8Gi nodes into one new 4c-8Gi node saves what deleting one of them
 * saves, at the price of a boot and a second node's evictions (Karpenter drops those options
 * from the replacement, "filterOutSameInstanceType"). Such a prefix is not a command; a shorter
 * one, or single-node consolidation, deletes the node instead.
 *
 * May import: core/ only.
 */
import { reason } from "./reason.ts";
import type { DisruptionCommand } from "./disruption_plan.ts";
import type { DisruptionMethod } from "./disruption_method.ts";
import type { Candidate } from "./disruption_candidates.ts";
import type { SimOutcome } from "./disruption_simulation.ts";
import type { DisruptionPass, PlacedOutcome } from "./disruption_pass.ts";

/** The most candidates one multi-node command considers. */
export const MULTI_NODE_CAP = 100;

/** Several underused nodes folded into the rest of the cluster (and one cheaper VM at most). */
export const MULTI_NODE_CONSOLIDATION: DisruptionMethod = {
  name: "MultiNodeConsolidation",
  reason: "Underutilized",
  class: "Graceful",
  decide(pass: DisruptionPass): DisruptionCommand[] {
    const why = MULTI_NODE_CONSOLIDATION.reason;
    const prefix: Candidate[] = [];
    for (const c of pass.consolidatable()) {
      if (prefix.length >= MULTI_NODE_CAP) break;
      if (pass.windowBlock(c) || pass.received(c)) continue;
      const next = [...prefix, c];
      if (pass.guards.budget(next, why) || pass.guards.minNodes(next, [])) continue;
      prefix.push(c);
    }
    if (prefix.length < 2) return [];
    let lo = 2;
    let hi = prefix.length;
    let best: { k: number; r: PlacedOutcome; cost: number } | undefined;
    while (lo <= hi) {
      const k = (lo + hi) >> 1;
      const set = prefix.slice(0, k);
      const cost = set.reduce((s, c) => s + c.cost, 0);
      let ok = pass.ledger.checkEach(set.map((c) => c.movers)) === undefined;
      let r: SimOutcome | undefined;
      if (ok) {
        r = pass.simulate(set, 1, cost);
        ok = pass.cheaper(r, cost, set) === undefined && r.ok &&
          sameShapeCandidate(r, set, pass) === undefined &&
          pass.guards.minNodes(set, r.replacements) === undefined;
      }
      if (ok && r?.ok) {
        best = { k, r, cost };
        lo = k + 1;
      } else hi = k - 1;
    }
    if (!best) return [];
    const set = prefix.slice(0, best.k);
    return [pass.commit(
      MULTI_NODE_CONSOLIDATION.name,
      reason(
        why,
        `the pods of ${best.k} nodes (${set.map((c) => c.node.name).join(", ")}) fit on ${
          best.r.replacements.length === 0
            ? "the other nodes"
            : `the other nodes and one ${best.r.replacements[0]!.shape.name} VM`
        }; saves ${(best.cost - best.r.replacementCost).toFixed(4)}/h`,
      ),
      set,
      best.r,
      best.cost,
    )];
  },
};

/**
 * A candidate whose shape the replacement's template also offers and that costs no more than
 * the replacement: keeping it and deleting the others is the same saving with less disruption.
 */
export function sameShapeCandidate(
  r: SimOutcome,
  set: readonly Candidate[],
  pass: Pick<DisruptionPass, "world">,
): Candidate | undefined {
  if (!r.ok || r.replacements.length === 0) return undefined;
  const offered = new Set<string>();
  for (const x of r.replacements) {
    offered.add(`${x.machineTemplate}/${x.shape.name}`);
    for (const s of pass.world.templates.get(x.machineTemplate)?.shapes ?? []) {
      offered.add(`${x.machineTemplate}/${s.name}`);
    }
  }
  return set.find((c) =>
    offered.has(`${c.claim.machineTemplate}/${c.claim.shape.name}`) && c.cost <= r.replacementCost
  );
}
