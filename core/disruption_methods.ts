/**
 * The disruption methods in the order every pass runs them: the one place that order is set.
 *
 * May import: core/ only.
 */
import type { DisruptionMethod } from "./disruption_method.ts";
import { EMPTINESS } from "./disruption_method_emptiness.ts";
import { DRIFT } from "./disruption_method_drift.ts";
import { EXPIRATION } from "./disruption_method_expiration.ts";
import { MULTI_NODE_CONSOLIDATION } from "./disruption_method_multi_node.ts";
import { SINGLE_NODE_CONSOLIDATION } from "./disruption_method_single_node.ts";

/**
 * Karpenter's order, each method seeing the commands of those before it (their budgets, PDBs
 * and simulated room are already spent):
 * 1. Emptiness: nothing moves and nothing launches, so it is the cheapest and safest saving,
 *    and the nodes it removes are never counted as room by the methods after it.
 * 2. Drift, 3. Expiration: the cluster must converge to what its pools ask for; they run before
 *    consolidation so that consolidation neither takes a node they are about to replace nor
 *    moves pods onto one, and drift (a changed spec) before expiration (age alone).
 * 4. Multi-node consolidation: one command removing several nodes saves more than the
 *    single-node commands over the same nodes, and must see them all still available.
 * 5. Single-node consolidation: takes what is left, one node at a time.
 */
export const DISRUPTION_METHODS: readonly DisruptionMethod[] = [
  EMPTINESS,
  DRIFT,
  EXPIRATION,
  MULTI_NODE_CONSOLIDATION,
  SINGLE_NODE_CONSOLIDATION,
];
