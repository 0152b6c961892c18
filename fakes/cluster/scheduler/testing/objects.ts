/**
 * Builders for the scheduler's tests: Nodes and Pods as the API stores them, with only the
 * fields a test names, and a ClusterState from them.
 *
 * May import: ../cluster_state.ts, ../../../fake_kube/objects.ts (types).
 */
import type { KObj } from "../../../fake_kube/objects.ts";
import { type ClusterObjects, type ClusterState, clusterState } from "../cluster_state.ts";

/** What a test says about a node; allocatable defaults to 4 cpu, 8Gi, 110 pods. */
export type NodeSpec = {
  labels?: Record<string, string>;
  allocatable?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
};

/** A Node named `name` (its hostname label set, as kubelet does). */
export function node(name: string, s: NodeSpec = {}): KObj {
  return {
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...s.labels } },
    spec: {
      ...(s.taints ? { taints: s.taints } : {}),
      ...(s.unschedulable ? { unschedulable: true } : {}),
    },
    status: { allocatable: { cpu: "4", memory: "8Gi", pods: "110", ...s.allocatable } },
  };
}

/** A Pod in namespace `default` (or `ns/name`) with one container requesting `requests`. */
export function pod(
  name: string,
  requests: Record<string, string> = {},
  // deno-lint-ignore no-explicit-any
  spec: Record<string, any> = {},
  meta: { labels?: Record<string, string>; nodeName?: string | undefined; phase?: string } = {},
): KObj {
  const [ns, n] = name.includes("/") ? name.split("/") as [string, string] : ["default", name];
  return {
    metadata: {
      name: n,
      namespace: ns,
      labels: meta.labels ?? {},
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: {
      containers: [{ name: "c", resources: { requests } }],
      ...(meta.nodeName ? { nodeName: meta.nodeName } : {}),
      ...spec,
    },
    status: { phase: meta.phase ?? (meta.nodeName ? "Running" : "Pending") },
  };
}

/** A ClusterState over `nodes` and `pods` (plus any other objects). */
export function cluster(
  nodes: KObj[],
  pods: KObj[] = [],
  more: Partial<ClusterObjects> = {},
): ClusterState {
  return clusterState({ nodes, pods, ...more });
}
