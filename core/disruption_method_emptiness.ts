/**
 * Emptiness: deletes unneeded nodes that run no pod needing a home, most expensive first, in
 * one command for all of them (as Karpenter does), within the Empty budget, minNodes and the
 * pool's stabilization window.
 *
 * May import: core/ only.
 */
import { reason } from "./reason.ts";
import type { DisruptionCommand } from "./disruption_plan.ts";
import type { DisruptionMethod } from "./disruption_method.ts";
import { cmp, type DisruptionPass, type PlacedOutcome, VerdictWeight } from "./disruption_pass.ts";

/** Nothing moves and nothing launches. */
const NOTHING: PlacedOutcome = { ok: true, moves: [], replacements: [], replacementCost: 0 };

/** Empty nodes go first: nothing moves, so nothing can go wrong for a workload. */
export const EMPTINESS: DisruptionMethod = {
  name: "Emptiness",
  reason: "Empty",
  class: "Graceful",
  decide(pass: DisruptionPass): DisruptionCommand[] {
    const list = pass.world.candidates.filter((c) => pass.unneeded.has(c) && c.movers.length === 0);
    list.sort((a, b) => b.cost - a.cost || cmp(a.claim.name, b.claim.name));
    const start = pass.commands.length;
    for (const c of list) {
      const block = pass.windowBlock(c) ?? pass.guards.budget([c], EMPTINESS.reason) ??
        pass.guards.minNodes([c], []);
      if (block) {
        pass.note(c, block, VerdictWeight.Consolidation);
        continue;
      }
      const r = reason(
        EMPTINESS.reason,
        `node ${c.node.name} runs no pods that need a home; removing it saves ${
          c.cost.toFixed(4)
        }/h`,
      );
      pass.commit(EMPTINESS.name, r, [c], NOTHING, c.cost);
    }
    return mergeInto(pass, start);
  },
};

/** Folds the commands committed from `start` on into the first of them, which is returned. */
function mergeInto(pass: DisruptionPass, start: number): DisruptionCommand[] {
  const made = pass.commands.splice(start);
  const first = made[0];
  if (!first) return [];
  for (const next of made.slice(1)) {
    first.candidates.push(...next.candidates);
    first.savings += next.savings;
  }
  if (made.length > 1) {
    first.reason = reason(
      EMPTINESS.reason,
      `${first.candidates.length} empty nodes (${
        first.candidates.map((n) => n.node).join(", ")
      }) save ${first.savings.toFixed(4)}/h`,
    );
  }
  pass.commands.push(first);
  return [first];
}
