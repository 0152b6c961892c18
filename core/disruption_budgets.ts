/**
 * Disruption budgets: how many more nodes of a NodePool may be disrupted now, for one reason.
 * Karpenter's counting rules: the minimum over the active budgets that cover the
 * reason, percentages rounded up against the pool's managed, initialized, not-terminating nodes,
 * minus the nodes already NotReady or being disrupted for any reason. proxscale adds the
 * `Expired` reason so that expiration can be budgeted too.
 */
import type { Budget, NodePool } from "./model.ts";
import { parseCron, windowOpen } from "./disruption_cron.ts";

export type BudgetReason = "Empty" | "Underutilized" | "Drifted" | "Expired";
export const BUDGET_REASONS: readonly BudgetReason[] = [
  "Empty",
  "Underutilized",
  "Drifted",
  "Expired",
];

/** What one budget allows right now, before in-flight disruptions are subtracted. */
export type BudgetLimit = {
  /** Node count this budget allows, or undefined when it does not apply now. */
  nodes: number | undefined;
  /** Why: "10% of 12 nodes", "schedule '0 9 * * 1-5' inactive", "invalid schedule ...". */
  why: string;
};

/** Evaluates one budget against the pool size at `now`. An invalid schedule allows 0 (fails closed). */
export function budgetLimit(b: Budget, total: number, now: number): BudgetLimit {
  if (b.schedule !== undefined) {
    const s = parseCron(b.schedule);
    if (!s.ok) return { nodes: 0, why: `invalid schedule (${s.error}) allows 0` };
    if (!windowOpen(s.value, b.duration ?? 0, now)) {
      return { nodes: undefined, why: `schedule '${b.schedule}' inactive` };
    }
  }
  return countLimit(b.nodes, total);
}

const countMemo = new Map<string, Map<number, BudgetLimit>>();

/**
 * What a budget's `nodes` ("20%" or "3") allows of `total` nodes. A pure function of the two,
 * asked on every pass for the same few pairs: kept in a bounded memo (frozen answers).
 */
function countLimit(nodes: string, total: number): BudgetLimit {
  let byTotal = countMemo.get(nodes);
  if (!byTotal) {
    if (countMemo.size >= 1024) countMemo.clear();
    countMemo.set(nodes, byTotal = new Map());
  }
  let l = byTotal.get(total);
  if (l === undefined) {
    if (byTotal.size >= 4096) byTotal.clear();
    const m = /^(\d+)%$/.exec(nodes);
    if (m) {
      const pct = Number(m[1]);
      const n = Math.ceil((total * pct) / 100);
      l = { nodes: n, why: `${nodes} of ${total} nodes = ${n}` };
    } else {
      const n = /^\d+$/.test(nodes) ? Number(nodes) : 0;
      l = { nodes: n, why: `${n} nodes` };
    }
    byTotal.set(total, l = Object.freeze(l));
  }
  return l;
}

/** Allowed disruptions for one reason, and the budget that sets it (for the Reason message). */
export type Allowance = { allowed: number; limit: number; why: string };

/**
 * Allowed disruptions of `pool` for `reason` at `now`: min over active budgets covering the
 * reason, minus `inFlight` (NotReady plus already-disrupting nodes), never below 0. No budget
 * covering the reason means no limit.
 */
export function allowance(
  pool: NodePool,
  reason: BudgetReason,
  total: number,
  inFlight: number,
  now: number,
): Allowance {
  let limit = Infinity;
  let why = "no budget covers this reason";
  for (const b of pool.disruption.budgets) {
    if (b.reasons && !b.reasons.includes(reason)) continue;
    const l = budgetLimit(b, total, now);
    if (l.nodes !== undefined && l.nodes < limit) {
      limit = l.nodes;
      why = `budget ${l.why}`;
    }
  }
  return { allowed: Math.max(0, limit - inFlight), limit, why };
}
