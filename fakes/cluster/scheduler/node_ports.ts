/**
 * NodePorts: a pod asking for a hostPort cannot land where a bound pod already holds the same
 * protocol and port on an overlapping address (0.0.0.0 overlaps every address).
 *
 * May import: ./cluster_state.ts, ./pod_requests.ts.
 */
import type { NodeState } from "./cluster_state.ts";
import type { HostPort } from "./pod_requests.ts";

/** The reason for a node where a wanted host port is taken. */
export const PORTS_TAKEN = "node(s) didn't have free ports for the requested pod ports";

function conflicts(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return a.hostIP === "0.0.0.0" || b.hostIP === "0.0.0.0" || a.hostIP === b.hostIP;
}

/** Reasons the node's host ports rule out the pod; empty when all wanted ports are free. */
export function nodePorts(wanted: readonly HostPort[], n: NodeState): string[] {
  for (const w of wanted) {
    for (const used of n.ports) if (conflicts(w, used)) return [PORTS_TAKEN];
  }
  return [];
}
