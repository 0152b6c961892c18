/**
 * What drift and expiration share (the `Eventual` methods): each affected node is replaced
 * first (any number of new VMs launch before it is drained), empty nodes and the longest
 * affected first, within the method's own budget and minNodes. Past terminationGracePeriod since
 * the trigger, the method is forceful: do-not-disrupt and PodDisruptionBudgets no longer hold
 * the node (a local volume on storage that is not replicated still does).
 *
 * May import: core/ only.
 */
import { reason, type ReasonCode } from "./reason.ts";
import type { DisruptionCommand } from "./disruption_plan.ts";
import type { DisruptionMethod } from "./disruption_method.ts";
import type { Candidate } from "./disruption_candidates.ts";
import { cmp, type DisruptionPass, VerdictWeight } from "./disruption_pass.ts";

/** What makes one eventual method take a node, and how its command explains it. */
export type EventualTrigger = {
  /** Is the candidate affected now (drifted, expired)? */
  affects(c: Candidate, now: number): boolean;
  /** Since when it is affected (epoch ms), if known: the order, and the start of the grace. */
  since(c: Candidate): number | undefined;
  /** The Reason code of the candidate's command (the method's budget reason, or a finer one). */
  code(c: Candidate): ReasonCode;
  /** What happened to the node, for the command's message. */
  describe(c: Candidate, forceful: boolean, now: number): string;
};

/** Plans `method`'s commands for the candidates `trigger` affects (see the header). */
export function decideEventual(
  pass: DisruptionPass,
  method: DisruptionMethod,
  trigger: EventualTrigger,
): DisruptionCommand[] {
  const now = pass.now;
  const list = pass.world.candidates.filter((c) => !pass.chosen.has(c) && trigger.affects(c, now));
  list.sort((a, b) =>
    (a.movers.length === 0 ? 0 : 1) - (b.movers.length === 0 ? 0 : 1) ||
    (trigger.since(a) ?? 0) - (trigger.since(b) ?? 0) ||
    cmp(a.claim.name, b.claim.name)
  );
  const made: DisruptionCommand[] = [];
  for (const c of list) {
    const since = trigger.since(c);
    const grace = c.pool.disruption.terminationGracePeriod;
    const forceful = since !== undefined && grace !== null && now >= since + grace;
    const block = c.pinned ?? (forceful ? undefined : c.blocked) ?? pass.nominatedBlock(c) ??
      (forceful ? undefined : pass.ledger.check(c.movers)) ?? pass.received(c) ??
      pass.guards.budget([c], method.reason);
    if (block) {
      pass.note(c, block, VerdictWeight.Forced);
      continue;
    }
    const r = pass.simulate([c], Infinity);
    const after = r.ok ? pass.guards.minNodes([c], r.replacements) : r.reason;
    if (!r.ok || after) {
      pass.note(c, after!, VerdictWeight.Forced);
      continue;
    }
    made.push(pass.commit(
      method.name,
      reason(
        trigger.code(c),
        `${
          trigger.describe(c, forceful, now)
        }; ${c.movers.length} pods move, ${r.replacements.length} replacement VMs launch first`,
      ),
      [c],
      r,
      c.cost,
    ));
  }
  return made;
}
