/**
 * A kube-scheduler model: binds pending pods to Ready, schedulable nodes they fit (requests,
 * extended resources such as GPUs, pod count, taints and tolerations, node selector and
 * required node affinity), scored by NodeResourcesFit (MostAllocated packs, LeastAllocated spreads); a pod that fits nowhere is
 * marked Unschedulable, which is what autoscalers react to. Higher priority, then older, first.
 *
 * May import: core/requirements.ts, core/taints.ts, sim/engine/world.ts.
 */
import { matchesNodeConstraints } from "../../core/requirements.ts";
import { untoleratedTaint } from "../../core/taints.ts";
import { fitsRoom, type SimNode, type SimPod } from "./world.ts";

/** Picks the node `p` should bind to, or undefined when none fits. */
export function pickNode(
  p: SimPod,
  nodes: readonly SimNode[],
  scoring: "MostAllocated" | "LeastAllocated",
): SimNode | undefined {
  let best: SimNode | undefined;
  let bestScore = -Infinity;
  const pod = p.pod;
  for (const n of nodes) {
    if (!fitsRoom(n, p.req, p.ext)) continue;
    const node = n.node!;
    if (node.taints && node.taints.length && untoleratedTaint(node.taints, pod.tolerations)) {
      continue;
    }
    if (
      (pod.nodeSelector || pod.requiredNodeAffinity) &&
      !matchesNodeConstraints(node.labels, pod.nodeSelector, pod.requiredNodeAffinity, node.name)
    ) continue;
    const cpu = n.alloc.cpu > 0 ? (n.used.cpu + p.req.cpu) / n.alloc.cpu : 1;
    const mem = n.alloc.memory > 0 ? (n.used.memory + p.req.memory) / n.alloc.memory : 1;
    const used = (cpu + mem) / 2;
    const score = scoring === "MostAllocated" ? used : 1 - used;
    if (score > bestScore || (score === bestScore && best && n.name < best.name)) {
      best = n;
      bestScore = score;
    }
  }
  return best;
}

/** Scheduling order: priority descending, then arrival, then namespace/name. */
export function schedulingOrder(a: SimPod, b: SimPod): number {
  return (b.pod.priority ?? 0) - (a.pod.priority ?? 0) || a.pod.createdAt - b.pod.createdAt ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
