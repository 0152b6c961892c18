/**
 * Disruption: which nodes to take away now, how, and why the others stay. The methods run in
 * the order core/disruption_methods.ts sets (Karpenter's): emptiness, drift, expiration,
 * multi-node consolidation, single-node consolidation, each in its own
 * core/disruption_method_*.ts behind one interface (core/disruption_method.ts). Every managed
 * node is evaluated in every pass (no sampling, no time cap) and gets a verdict with a Reason.
 * Guards, re-checked for each deletion: do-not-disrupt in every spelling, Cluster Autoscaler's
 * pod rules, PodDisruptionBudgets (spent as the pass plans evictions), disruption budgets per
 * reason, scaleDown.maxConcurrent, minNodes, consolidateAfter and scaleDown.stabilizationWindow
 * (a node must stay unneeded for the whole window, tracked in the state the caller passes back
 * in). Before any candidate is simulated, pending pods and the pods of nodes already being
 * disrupted (including those of commands still waiting on their replacements, remembered in the
 * state) take their room, as in Karpenter's simulation (core/disruption_pass.ts).
 * Pure: snapshot, config and state in; plan and state out.
 *
 * May import: core/ only.
 */
import type { Config, Snapshot } from "./model.ts";
import type { DisruptionPlan, DisruptionState } from "./disruption_plan.ts";
import { DisruptionPass } from "./disruption_pass.ts";
import type { Provisioned } from "./disruption_reserve.ts";
import { DISRUPTION_METHODS } from "./disruption_methods.ts";

export type {
  BudgetStatus,
  CandidateVerdict,
  DisruptedNode,
  DisruptionCommand,
  DisruptionMethodName,
  DisruptionPlan,
  DisruptionState,
  InFlightCommand,
  PlannedEviction,
} from "./disruption_plan.ts";
export type { Provisioned } from "./disruption_reserve.ts";

/** An empty state, for the first pass. */
export function initialDisruptionState(): DisruptionState {
  return { unneededSince: {} };
}

/** Decides this pass's disruptions. Deterministic: same inputs, same plan. */
export function disrupt(
  snapshot: Snapshot,
  config: Config,
  state: DisruptionState = initialDisruptionState(),
  provisioned?: Provisioned,
): DisruptionPlan {
  const pass = new DisruptionPass(snapshot, config, state, provisioned);
  for (const method of DISRUPTION_METHODS) method.decide(pass);
  return pass.plan();
}
