/**
 * Fills in what a report is about when the step that made it knew only part of it: the NodePool
 * of the NodeClaim (from the informer cache, or remembered from an earlier report of the same
 * claim, since a finished claim leaves the cache), and the NodeClaim and NodePool of a node (its
 * proxscale labels). Every audit line and metric label that names a pool reads it from here.
 *
 * May import: core/, adapters/, daemon/.
 */
import { NODECLAIM_LABEL_KEY, NODEPOOL_LABEL_KEY } from "../core/labels.ts";
import type { ClusterInformers } from "../adapters/kubernetes/cluster_informers.ts";
import type { DecisionReport } from "./context.ts";

/** Wraps `report` so each report carries its NodePool (and NodeClaim when a node names it). */
export function reportWithSubject(
  informers: ClusterInformers,
  report: (d: DecisionReport) => void,
): (d: DecisionReport) => void {
  const pools = new Map<string, string>();
  const remember = (claim: string, pool: string) => {
    if (pools.size > 10_000) pools.delete(pools.keys().next().value!);
    pools.set(claim, pool);
  };
  return (d) => {
    let nodeclaim = d.nodeclaim;
    let nodepool = d.nodepool;
    if (d.node !== undefined && (nodeclaim === undefined || nodepool === undefined)) {
      const labels = informers.nodes.get(d.node)?.labels ?? {};
      nodeclaim ??= labels[NODECLAIM_LABEL_KEY] ??
        informers.nodeClaims.list().find((c) => c.nodeName === d.node)?.name;
      nodepool ??= labels[NODEPOOL_LABEL_KEY];
    }
    if (nodeclaim !== undefined && nodepool === undefined) {
      // A comma list names the claims of one disruption; they share the first one's pool.
      const first = nodeclaim.split(",")[0]!;
      nodepool = informers.nodeClaims.get(first)?.nodePool ?? pools.get(first);
    }
    if (nodeclaim !== undefined && nodepool !== undefined && !nodeclaim.includes(",")) {
      remember(nodeclaim, nodepool);
    }
    report({
      ...d,
      ...(nodeclaim !== undefined ? { nodeclaim } : {}),
      ...(nodepool !== undefined ? { nodepool } : {}),
    });
  };
}
