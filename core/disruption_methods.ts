/**
 * The disruption methods in the order every pass runs them: the one place that order is set.
 *
 * May import: core/ only.
 */
import type { DisruptionMethod } from "./disruption_method.ts";
import { EMPTINESS } from "./disruption_method_emptiness.ts";
import { DRIFT } from "./disruption_method_drift.ts";
import { HOST_MAINTENANCE } from "./disruption_method_host_maintenance.ts";
import { EXPIRATION } from "./disruption_method_expiration.ts";
import { MULTI_NODE_CONSOLIDATION } from "./disruption_method_multi_node.ts";
import { SINGLE_NODE_CONSOLIDATION } from "./disruption_method_single_node.ts";

/**
 * Karpenter's order, each method seeing the commands of those before it (their budgets, PDBs
 * and simulated room are already spent):
 * 1. Emptiness: nothing moves and nothing launches, so it is the cheapest and safest saving,
 *    and the nodes it removes are never counted as room by the methods after it.
 * 2. Host maintenance: the operator asked for a host to be emptied (or PVE put it into HA
 *    maintenance); it is forced like drift and goes first among the forced methods, so the drain
 *    is not starved of budget by drift or expiration.
 * 3. Drift, 4. Expiration: the cluster must converge to what its pools ask for; they run before
 *    consolidation so that consolidation neither takes a node they are about to replace nor
 *    moves pods onto one, and drift (a changed spec) before expiration (age alone).
 * 5. Multi-node consolidation: one command removing several nodes saves more than the
 *    single-node commands over the same nodes, and must see them all still available.
 * 6. Single-node consolidation: takes what is left, one node at a time.
 */
export const DISRUPTION_METHODS: readonly DisruptionMethod[] = [
  EMPTINESS,
  HOST_MAINTENANCE,
  DRIFT,
  EXPIRATION,
  MULTI_NODE_CONSOLIDATION,
  SINGLE_NODE_CONSOLIDATION,
];
