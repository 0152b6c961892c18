/**
 * Answers "why does proxscale keep this node?" where users ask it, `kubectl describe node` and
 * `kubectl describe nodeclaim`: each pass's disruption plan has a verdict per NodeClaim, and a
 * kept node's verdict (Unconsolidatable, PdbBlocked, DoNotDisrupt, BudgetExhausted,
 * InsufficientSavings, ...) becomes an Event on its NodeClaim and Node, as
 * Karpenter's Unconsolidatable and DisruptionBlocked Events do.
 *
 * Verdict messages carry figures that change from pass to pass (costs, counts), so an Event is
 * written when a node's verdict code changes, at most once per VERDICT_EVENT_GAP per node (a
 * node flapping between two verdicts writes no more than that), and again after
 * VERDICT_EVENT_REFRESH while the same code holds, so an old cluster still says why. A pass
 * writes at most VERDICT_EVENTS_PER_PASS nodes' Events, oldest news first; the rest wait for
 * the next passes. Nodes being disrupted or NotReady are told by their own Events; a node waiting
 * out consolidateAfter or its stabilization window is not told (see NOT_TOLD).
 *
 * May import: core/, adapters/, daemon/.
 */
import type { CandidateVerdict } from "../core/disruption.ts";
import type { ReasonCode } from "../core/reason.ts";
import {
  type EventRecorder,
  nodeClaimSubject,
  nodeSubject,
} from "../adapters/kubernetes/events.ts";

/** Least time between two verdict Events of one node (ms). */
export const VERDICT_EVENT_GAP = 60_000;
/** A verdict that holds is told again after this long (ms). */
export const VERDICT_EVENT_REFRESH = 60 * 60_000;
/** Nodes whose verdict one pass writes at most. */
export const VERDICT_EVENTS_PER_PASS = 20;

/**
 * Verdicts not told: those other Events already explain (the disruption itself, repair of a
 * NotReady node), and the wait for consolidateAfter or the stabilization window, which ends by
 * itself within the window (Karpenter keeps it to a condition too). Told, it would take the
 * node's gap and hold back the verdict a user came to read.
 */
const NOT_TOLD: ReadonlySet<ReasonCode> = new Set([
  "DisruptionInProgress",
  "NodeNotReady",
  "StabilizationWindow",
]);

type Told = { code: ReasonCode; at: number };

/** Records, pass by pass, why each kept node stays. */
export class VerdictEvents {
  /** NodeClaim → the verdict code last written and when. */
  #told = new Map<string, Told>();

  constructor(private readonly events: EventRecorder | undefined) {}

  /** Writes the Events of the verdicts that are news at `now` (epoch ms). */
  async observe(verdicts: readonly CandidateVerdict[], now: number): Promise<void> {
    const kept = new Map<string, CandidateVerdict>();
    for (const v of verdicts) {
      if (!v.disrupt && !NOT_TOLD.has(v.reason.code)) kept.set(v.nodeClaim, v);
    }
    // A NodeClaim gone or being disrupted: a later verdict about the same name is news.
    for (const claim of [...this.#told.keys()]) if (!kept.has(claim)) this.#told.delete(claim);
    if (!this.events) return;
    const news: CandidateVerdict[] = [];
    for (const v of kept.values()) {
      const told = this.#told.get(v.nodeClaim);
      const due = !told ||
        (told.code !== v.reason.code ? now - told.at >= VERDICT_EVENT_GAP : now - told.at >=
          VERDICT_EVENT_REFRESH);
      if (!due) continue;
      news.push(v);
      if (news.length === VERDICT_EVENTS_PER_PASS) break;
    }
    await Promise.all(news.map(async (v) => {
      const onClaim = await this.events!.record(nodeClaimSubject(v.nodeClaim), v.reason);
      if (v.node !== undefined) await this.events!.record(nodeSubject(v.node), v.reason);
      if (onClaim.ok) this.#told.set(v.nodeClaim, { code: v.reason.code, at: now });
    }));
  }
}
