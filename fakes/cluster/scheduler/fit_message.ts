/**
 * The PodScheduled=False message kube-scheduler writes when no node fits: "0/N nodes are
 * available: " followed by each distinct reason with the number of nodes that gave it, as
 * "<count> <reason>" strings sorted as plain strings and joined by ", ", then a period. When a
 * check ruled the pod out before any node was looked at (a missing claim, say), that one
 * message replaces the per-node list. Preemption is not modelled, so the tail always says
 * preemption cannot help on any node.
 *
 * May import: nothing of the project.
 */

/** What kube-scheduler says when the cluster has no nodes at all. */
export const NO_NODES = "no nodes available to schedule pods";

/**
 * Builds the message for `numNodes` nodes from each failing node's reasons (one node may give
 * several, e.g. Insufficient cpu and Insufficient memory), or from a pod-wide `preFilter` reason.
 */
export function fitErrorMessage(
  numNodes: number,
  nodeReasons: Iterable<readonly string[]>,
  preFilter?: string,
): string {
  if (numNodes === 0) return NO_NODES;
  let msg = `0/${numNodes} nodes are available:`;
  if (preFilter !== undefined) msg += ` ${preFilter}.`;
  else {
    const counts = new Map<string, number>();
    for (const reasons of nodeReasons) {
      for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    }
    const parts = [...counts].map(([r, c]) => `${c} ${r}`).sort((
      a,
      b,
    ) => (a < b ? -1 : a > b ? 1 : 0));
    if (parts.length > 0) msg += ` ${parts.join(", ")}.`;
  }
  return `${msg} preemption: 0/${numNodes} nodes are available: ${numNodes} Preemption is not helpful for scheduling.`;
}
