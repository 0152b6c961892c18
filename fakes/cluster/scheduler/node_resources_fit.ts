/**
 * NodeResourcesFit: the pod's effective request (pod_requests.ts) must fit in the node's
 * status.allocatable minus what the non-terminal pods already bound there request, for cpu,
 * memory, ephemeral-storage, hugepages-* and extended resources (nvidia.com/gpu, ...), and the
 * node must have room for one more pod (allocatable.pods). A resource the pod requests zero of
 * is never checked; an extended resource the node does not list has zero allocatable. Every
 * shortfall is its own reason ("Insufficient cpu", "Insufficient nvidia.com/gpu", "Too many pods").
 *
 * May import: ./cluster_state.ts, ./pod_requests.ts.
 */
import type { NodeState } from "./cluster_state.ts";
import type { ResourceList } from "./pod_requests.ts";

/** The reason for a node that has no room left for another pod. */
export const TOO_MANY_PODS = "Too many pods";

const FIRST = ["cpu", "memory", "ephemeral-storage"];

const NONE: string[] = [];

/**
 * Prepares the check for one pod request (resource order fixed once), returning a function
 * that gives the reasons a node cannot hold it; empty when it fits.
 */
export function resourceFitter(req: ResourceList): (n: NodeState) => string[] {
  const names = [...req.keys()].filter((k) => k !== "pods" && req.get(k)! > 0);
  names.sort((a, b) => {
    const ia = FIRST.indexOf(a), ib = FIRST.indexOf(b);
    if (ia !== ib) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const wants = names.map((name) => [name, req.get(name)!] as const);
  return (n) => {
    let reasons: string[] | undefined;
    if (n.pods.length + 1 > (n.allocatable.get("pods") ?? 0)) reasons = [TOO_MANY_PODS];
    for (const [name, want] of wants) {
      const free = (n.allocatable.get(name) ?? 0) - (n.requested.get(name) ?? 0);
      if (want > free) (reasons ??= []).push(`Insufficient ${name}`);
    }
    return reasons ?? NONE;
  };
}

/** Reasons the node cannot hold a pod requesting `req`; empty when it fits. */
export function nodeResourcesFit(req: ResourceList, n: NodeState): string[] {
  return resourceFitter(req)(n);
}
