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
};

/** A bound pod with the node it is on. */
export type Placed = { pod: BoundPod; node: NodeState };

/**
 * Bound pods whose required anti-affinity carry the same term from the same namespace, and
 * how many of them sit in each domain of the term's topologyKey: one check of the term against
 * an incoming pod covers them all.
 */
export type AntiGroup = {
  ownerNs: string;
  // deno-lint-ignore no-explicit-any
  term: any;
  counts: Map<string, number>;
  /** The term compiled by the inter-pod check (cached for the pass). */
  compiled?: unknown;
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
  /** Every bound pod, with its node. */
  placed: Placed[];
  /** Bound pods by each of their labels ("key=value"), to find a selector's candidates. */
  byLabel: Map<string, Placed[]>;
  /** Required anti-affinity of bound pods, grouped by namespace and term. */
  antiGroups: Map<string, AntiGroup>;
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
  track(cluster, node, addPod(node, pod, requests));
}

function track(cluster: ClusterState, node: NodeState, bound: BoundPod): void {
  const placed: Placed = { pod: bound, node };
  cluster.placed.push(placed);
  for (const k in bound.labels) {
    const key = `${k}=${bound.labels[k]}`;
    const list = cluster.byLabel.get(key);
    if (list) list.push(placed);
    else cluster.byLabel.set(key, [placed]);
  }
  for (const term of bound.requiredAntiAffinity) {
    const id = `${bound.namespace}\u0000${JSON.stringify(term)}`;
    let g = cluster.antiGroups.get(id);
    if (!g) cluster.antiGroups.set(id, g = { ownerNs: bound.namespace, term, counts: new Map() });
    const v = node.labels[term?.topologyKey];
    if (v !== undefined) g.counts.set(v, (g.counts.get(v) ?? 0) + 1);
  }
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
  const cluster: ClusterState = {
    nodes,
    byName,
    namespaceLabels: new Map(),
    pvcs: new Map(),
    pvs: new Map(),
    storageClasses: new Map(),
    placed: [],
    byLabel: new Map(),
    antiGroups: new Map(),
  };
  for (const pod of objs.pods) {
    const at = pod.spec?.nodeName;
    if (!at || isTerminal(pod)) continue;
    const n = byName.get(at);
    if (n) track(cluster, n, addPod(n, pod));
  }
  for (const ns of objs.namespaces ?? []) {
    cluster.namespaceLabels.set(ns.metadata.name!, ns.metadata.labels ?? {});
  }
  for (const c of objs.pvcs ?? []) {
    cluster.pvcs.set(`${c.metadata.namespace}/${c.metadata.name}`, c);
  }
  for (const v of objs.pvs ?? []) cluster.pvs.set(v.metadata.name!, v);
  for (const sc of objs.storageClasses ?? []) cluster.storageClasses.set(sc.metadata.name!, sc);
  return cluster;
}
