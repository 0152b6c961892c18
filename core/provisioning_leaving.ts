/**
 * Pods of nodes on their way out count as pending for provisioning. A node being deleted, or
 * tainted as disrupted, will have its pods evicted; as Karpenter does, provisioning plans room
 * for them before they are evicted (on existing nodes, launching claims such as the node's
 * replacements, or new VMs), so they do not wait a whole launch after the drain. The node
 * itself is cordoned in this view: its pods do not come back to it.
 *
 * May import: nothing outside core/.
 */
import type { Node, Pod, Snapshot } from "./model.ts";
import { DISRUPTED_TAINT_KEY } from "./labels.ts";
import { needsNewHome } from "./disruption_pods.ts";

/** Is the node on its way out (deleting, or tainted by disruption)? */
export function isLeaving(node: Node): boolean {
  return node.deleting === true ||
    (node.taints ?? []).some((t) => t.key === DISRUPTED_TAINT_KEY);
}

/** The snapshot as provisioning should see it: pods of leaving nodes pending, those nodes cordoned. */
export function withLeavingPodsPending(snapshot: Snapshot): Snapshot {
  let leaving: Set<string> | undefined;
  for (const n of snapshot.nodes) if (isLeaving(n)) (leaving ??= new Set()).add(n.name);
  if (!leaving) return snapshot;
  const pods = snapshot.pods.map((p): Pod => {
    if (p.nodeName === undefined || !leaving!.has(p.nodeName) || !needsNewHome(p)) return p;
    const { nodeName: _n, boundAt: _b, ...rest } = p;
    // Waiting since it was made: no scale-up stabilization window holds it back.
    return { ...rest, phase: "Pending", unschedulable: true, pendingSince: p.createdAt };
  });
  const nodes = snapshot.nodes.map((n): Node =>
    leaving!.has(n.name) && !n.unschedulable ? { ...n, unschedulable: true } : n
  );
  return { ...snapshot, pods, nodes };
}
