/**
 * The fake scheduler's per-pass view of the cluster: every Node with what is already bound to
 * it (summed requests, pod count, host ports, the pods themselves), built once per pass and
 * updated in place after each bind so the next pod sees it. Also the namespaces (for
 * namespaceSelector) and the storage objects VolumeBinding reads.
 *
 * May import: ./label_match.ts, ./pod_requests.ts, ../../fake_kube/objects.ts (types).
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { Labels } from "./label_match.ts";
import {
  type HostPort,
  hostPorts,
  podRequests,
  type ResourceList,
  resourceList,
} from "./pod_requests.ts";

/** A node taint as the API stores it. */
export type Taint = { key: string; value?: string; effect: string };

/** A pod bound to a node, with what the filters read from it precomputed. */
export type BoundPod = {
  pod: KObj;
  namespace: string;
  labels: Labels;
  requests: ResourceList;
  /** Its required pod anti-affinity terms (they repel incoming pods too). */
  // deno-lint-ignore no-explicit-any
  requiredAntiAffinity: any[];
  /** Those terms compiled (filled by the first inter-pod check that needs them). */
  compiledAnti?: {
    topologyKey: string;
    selects(t: { namespace: string; labels: Labels }): boolean;
  }[];
};

/** One node and everything bound to it. */
export type NodeState = {
  name: string;
  node: KObj;
  labels: Labels;
  taints: Taint[];
  unschedulable: boolean;
  allocatable: ResourceList;
  requested: ResourceList;
  pods: BoundPod[];
  ports: HostPort[];
};

/** Everything one scheduling pass reads. Keys of `pvcs` are "namespace/name". */
export type ClusterState = {
  nodes: NodeState[];
  byName: Map<string, NodeState>;
  namespaceLabels: Map<string, Labels>;
  pvcs: Map<string, KObj>;
  pvs: Map<string, KObj>;
  storageClasses: Map<string, KObj>;
  /** How many bound pods carry required anti-affinity (0 lets the filter skip its scan). */
  antiAffinityPods: number;
};

/** Pods in these phases hold no resources. */
export function isTerminal(pod: KObj): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** The scheduler's view of one node, with nothing bound yet. */
export function nodeState(node: KObj): NodeState {
  return {
    name: node.metadata.name!,
    node,
    labels: node.metadata.labels ?? {},
    taints: Array.isArray(node.spec?.taints) ? node.spec.taints : [],
    unschedulable: node.spec?.unschedulable === true,
    allocatable: resourceList(node.status?.allocatable ?? node.status?.capacity),
    requested: new Map(),
    pods: [],
    ports: [],
  };
}

/** Counts `pod` as running on `state` (requests, ports, pod list); returns its entry. */
export function addPod(state: NodeState, pod: KObj, requests = podRequests(pod)): BoundPod {
  const anti = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const bound: BoundPod = {
    pod,
    namespace: pod.metadata.namespace ?? "default",
    labels: pod.metadata.labels ?? {},
    requests,
    requiredAntiAffinity: Array.isArray(anti) ? anti : [],
  };
  state.pods.push(bound);
  for (const [k, v] of requests) state.requested.set(k, (state.requested.get(k) ?? 0) + v);
  for (const p of hostPorts(pod)) state.ports.push(p);
  return bound;
}

/** Records a bind made during the pass, so the next pod of the pass sees it. */
export function bindInState(
  cluster: ClusterState,
  node: NodeState,
  pod: KObj,
  requests?: ResourceList,
): void {
  const b = addPod(node, pod, requests);
  if (b.requiredAntiAffinity.length > 0) cluster.antiAffinityPods++;
}

/** Inputs of `clusterState`: the raw lists as the API returns them. */
export type ClusterObjects = {
  nodes: KObj[];
  pods: KObj[];
  namespaces?: KObj[];
  pvcs?: KObj[];
  pvs?: KObj[];
  storageClasses?: KObj[];
};

/**
 * Builds the pass's view: nodes sorted by name, and every non-terminal pod bound to a known
 * node counted against it (a pod being deleted still holds its node until it is gone).
 */
export function clusterState(objs: ClusterObjects): ClusterState {
  const nodes = objs.nodes.map(nodeState).sort((
    a,
    b,
  ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byName = new Map(nodes.map((n) => [n.name, n]));
  let antiAffinityPods = 0;
  for (const pod of objs.pods) {
    const at = pod.spec?.nodeName;
    if (!at || isTerminal(pod)) continue;
    const n = byName.get(at);
    if (n && addPod(n, pod).requiredAntiAffinity.length > 0) antiAffinityPods++;
  }
  const namespaceLabels = new Map<string, Labels>();
  for (const ns of objs.namespaces ?? []) {
    namespaceLabels.set(ns.metadata.name!, ns.metadata.labels ?? {});
  }
  const pvcs = new Map<string, KObj>();
  for (const c of objs.pvcs ?? []) pvcs.set(`${c.metadata.namespace}/${c.metadata.name}`, c);
  const pvs = new Map((objs.pvs ?? []).map((v) => [v.metadata.name!, v]));
  const storageClasses = new Map((objs.storageClasses ?? []).map((s) => [s.metadata.name!, s]));
  return { nodes, byName, namespaceLabels, pvcs, pvs, storageClasses, antiAffinityPods };
}
