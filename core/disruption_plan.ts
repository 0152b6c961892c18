/**
 * What a disruption pass returns (core/disruption.ts): the commands to carry out, a verdict with
 * its Reason for every NodeClaim, the budgets it saw, and the state to pass into the next pass.
 * Plain data, so the daemon, the simulator and `proxscale` commands can all read it.
 */
import type { Reason } from "./reason.ts";
import type { PlannedClaim } from "./provisioning.ts";
import type { BudgetReason } from "./disruption_budgets.ts";

/**
 * The name of the method that made a command (core/disruption_methods.ts lists them in the
 * order a pass runs them).
 */
export type DisruptionMethodName =
  | "Emptiness"
  | "Drift"
  | "HostMaintenance"
  | "Expiration"
  | "MultiNodeConsolidation"
  | "SingleNodeConsolidation";

/** A node a command takes away. */
export type DisruptedNode = { nodeClaim: string; node: string; nodePool: string };

/** A pod the command evicts, and where the simulation says it will run next. */
export type PlannedEviction = {
  pod: string;
  uid: string;
  from: string;
  to: string;
  kind: "node" | "replacement";
};

/**
 * One thing to carry out: launch `replacements` first and wait until they are Ready, then
 * taint, drain and delete the `candidates` (daemon/termination.ts).
 */
export type DisruptionCommand = {
  method: DisruptionMethodName;
  /** Empty, Underutilized, Drifted or Expired, with the numbers. */
  reason: Reason;
  candidates: DisruptedNode[];
  replacements: PlannedClaim[];
  evictions: PlannedEviction[];
  /** Cost per hour saved: candidates' cost minus replacements' cost (cost model units). */
  savings: number;
};

/** The outcome for one NodeClaim: disrupted, or kept and why. */
export type CandidateVerdict = {
  nodeClaim: string;
  node?: string;
  nodePool: string;
  disrupt: boolean;
  reason: Reason;
};

/**
 * A command that launched replacements and waits for them to be Ready before its nodes are
 * tainted-and-drained or deleted. Until then the snapshot may not show its nodes as disrupted
 * (the simulator deletes them only once the replacements are Ready; an informer may lag a
 * taint), so the pass remembers them, as Karpenter's cluster state marks nodes for deletion.
 */
export type InFlightCommand = {
  /** NodeClaims the command takes away. */
  nodeClaims: string[];
  /** NodeClaims of its replacement VMs. */
  replacements: string[];
  /** When the pass planned it (epoch ms). */
  since: number;
};

/**
 * What a pass remembers for the next: since when each NodeClaim has been unneeded (epoch ms),
 * and the commands still waiting on their replacements (absent: none).
 */
export type DisruptionState = {
  unneededSince: Record<string, number>;
  inFlight?: InFlightCommand[];
  /**
   * Per NodeClaim: a digest of the pods that need a home on its node and when that set last
   * changed (a bind, a delete, a pod finishing). consolidateAfter counts from that moment.
   */
  podEvents?: Record<string, { pods: string; at: number }>;
};

/** Allowed disruptions per pool and reason at the start of the pass (for metrics and status). */
export type BudgetStatus = { nodePool: string; reason: BudgetReason; allowed: number; why: string };

export type DisruptionPlan = {
  commands: DisruptionCommand[];
  /** One per NodeClaim in the snapshot, in name order. */
  verdicts: CandidateVerdict[];
  budgets: BudgetStatus[];
  /** Pass this back into the next call. */
  state: DisruptionState;
  /** Rescheduling simulations run (every non-empty candidate gets at least one). */
  simulations: number;
};
