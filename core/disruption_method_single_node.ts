/**
 * Single-node consolidation: each remaining consolidation candidate (best savings first) whose
 * pods fit on the other nodes plus at most one cheaper VM, one command per node, within the
 * Underutilized budget, PDBs, minNodes and the pool's stabilization window.
 *
 * May import: core/ only.
 */
import { reason } from "./reason.ts";
import type { DisruptionCommand } from "./disruption_plan.ts";
import type { DisruptionMethod } from "./disruption_method.ts";
import { type DisruptionPass, VerdictWeight } from "./disruption_pass.ts";

/** One underused node at a time, after every other method has had its turn. */
export const SINGLE_NODE_CONSOLIDATION: DisruptionMethod = {
  name: "SingleNodeConsolidation",
  reason: "Underutilized",
  class: "Graceful",
  decide(pass: DisruptionPass): DisruptionCommand[] {
    const why = SINGLE_NODE_CONSOLIDATION.reason;
    const made: DisruptionCommand[] = [];
    for (const c of pass.consolidatable()) {
      const block = pass.windowBlock(c) ?? pass.ledger.check(c.movers) ?? pass.received(c) ??
        pass.guards.budget([c], why);
      if (block) {
        pass.note(c, block, VerdictWeight.Consolidation);
        continue;
      }
      // The first simulation still holds if nothing has been committed since.
      const r = pass.firstSimulation(c) ?? pass.simulate([c], 1, c.cost);
      const bad = pass.cheaper(r, c.cost, [c]) ??
        (r.ok ? pass.guards.minNodes([c], r.replacements) : undefined);
      if (bad || !r.ok) {
        pass.note(c, bad!, VerdictWeight.Consolidation);
        continue;
      }
      made.push(pass.commit(
        SINGLE_NODE_CONSOLIDATION.name,
        reason(
          why,
          `the ${c.movers.length} pods of node ${c.node.name} fit on ${
            r.replacements.length === 0
              ? "the other nodes"
              : `the other nodes and one ${r.replacements[0]!.shape.name} VM`
          }; saves ${(c.cost - r.replacementCost).toFixed(4)}/h`,
        ),
        [c],
        r,
        c.cost,
      ));
    }
    return made;
  },
};
