/**
 * PodTopologySpread. For each DoNotSchedule constraint the filter counts, per domain of its
 * topologyKey, the pods in the incoming pod's namespace that match its labelSelector (plus
 * `matchLabelKeys`: the incoming pod's own values for those keys) and are not being deleted,
 * over the eligible nodes: nodes that carry every constraint's topologyKey, that match the
 * pod's nodeSelector/required node affinity unless nodeAffinityPolicy is Ignore (default
 * Honor), and whose hard taints the pod tolerates only when nodeTaintsPolicy is Honor (default
 * Ignore). A node passes when
 *   count(its domain) + (1 if the pod matches the selector) - global minimum <= maxSkew,
 * where the minimum is taken over the eligible domains, and is 0 when minDomains is set and
 * fewer domains exist. A node without the topologyKey label fails with "(missing required
 * label)". ScheduleAnyway constraints never filter: fewer matching pods in a node's domain
 * only score higher.
 *
 * May import: ./cluster_state.ts, ./label_match.ts, ./node_affinity.ts, ./taint_toleration.ts,
 * ../../fake_kube/objects.ts (types).
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { ClusterState, NodeState, Placed } from "./cluster_state.ts";
import { compileSelector, type LabelMatcher, type LabelSelector } from "./label_match.ts";
import { hasNodeConstraints, podMatchesNode } from "./node_affinity.ts";
import { taintToleration } from "./taint_toleration.ts";

/** A node whose domain would exceed a constraint's maxSkew. */
export const SPREAD_MISMATCH = "node(s) didn't match pod topology spread constraints";
/** A node without a constraint's topologyKey label. */
export const SPREAD_MISSING_LABEL = `${SPREAD_MISMATCH} (missing required label)`;

/** A v1.TopologySpreadConstraint as the API stores it. */
export type SpreadConstraint = {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: string;
  labelSelector?: LabelSelector | null;
  minDomains?: number;
  nodeAffinityPolicy?: string;
  nodeTaintsPolicy?: string;
  matchLabelKeys?: string[];
};

/** The per-pod precomputation: a filter and a raw spread score (lower is better) per node. */
export type TopologySpread = {
  filter(n: NodeState): string[];
  score(n: NodeState): number;
  /** False when the score is the same on every node (no ScheduleAnyway constraint). */
  scored: boolean;
};

type Prepared = { c: SpreadConstraint; matches: LabelMatcher; counts: Map<string, number> };

function effectiveSelector(c: SpreadConstraint, pod: KObj): LabelSelector | null | undefined {
  const keys = c.matchLabelKeys ?? [];
  if (keys.length === 0 || !c.labelSelector) return c.labelSelector;
  const labels = pod.metadata.labels ?? {};
  const extra = keys.filter((k) => Object.hasOwn(labels, k)).map((k) => ({
    key: k,
    operator: "In",
    values: [labels[k]!],
  }));
  return {
    ...c.labelSelector,
    matchExpressions: [...(c.labelSelector.matchExpressions ?? []), ...extra],
  };
}

function candidates(cluster: ClusterState, sel: LabelSelector | null | undefined): Placed[] {
  if (sel === undefined || sel === null) return [];
  const ml = sel.matchLabels ?? {};
  for (const k in ml) return cluster.byLabel.get(`${k}=${ml[k]}`) ?? [];
  return cluster.placed;
}

function prepare(
  pod: KObj,
  cluster: ClusterState,
  constraints: SpreadConstraint[],
): Prepared[] {
  const ns = pod.metadata.namespace ?? "default";
  const tolerations = pod.spec?.tolerations ?? [];
  const constrained = hasNodeConstraints(pod);
  const affinityOk = new Map<NodeState, boolean>();
  const taintsOk = new Map<NodeState, boolean>();
  const eligible = (n: NodeState, c: SpreadConstraint): boolean => {
    if (!constraints.every((x) => Object.hasOwn(n.labels, x.topologyKey))) return false;
    if (constrained && (c.nodeAffinityPolicy ?? "Honor") === "Honor") {
      let ok = affinityOk.get(n);
      if (ok === undefined) affinityOk.set(n, ok = podMatchesNode(pod, n.labels, n.name));
      if (!ok) return false;
    }
    if (c.nodeTaintsPolicy === "Honor" && n.taints.length > 0) {
      let ok = taintsOk.get(n);
      if (ok === undefined) taintsOk.set(n, ok = taintToleration(tolerations, n).length === 0);
      if (!ok) return false;
    }
    return true;
  };
  return constraints.map((c) => {
    const sel = effectiveSelector(c, pod);
    const matches = compileSelector(sel);
    const counts = new Map<string, number>();
    // Every eligible domain counts, even with no matching pod (it may hold the minimum).
    for (const n of cluster.nodes) {
      if (eligible(n, c)) counts.set(n.labels[c.topologyKey]!, 0);
    }
    for (const { pod: e, node: n } of candidates(cluster, sel)) {
      if (e.namespace !== ns || e.pod.metadata.deletionTimestamp || !matches(e.labels)) continue;
      if (!eligible(n, c)) continue;
      const domain = n.labels[c.topologyKey]!;
      counts.set(domain, counts.get(domain)! + 1);
    }
    return { c, matches, counts };
  });
}

const NONE: string[] = [];
const NOTHING_TO_CHECK: TopologySpread = { filter: () => NONE, score: () => 0, scored: false };

function constraintsOf(pod: KObj, when: string): SpreadConstraint[] {
  const all = pod.spec?.topologySpreadConstraints;
  // deno-lint-ignore no-explicit-any
  return Array.isArray(all) ? all.filter((c: any) => c?.whenUnsatisfiable === when) : [];
}

/** Counts, once per pod, the matching pods per domain for its spread constraints. */
export function podTopologySpread(pod: KObj, cluster: ClusterState): TopologySpread {
  const hard = constraintsOf(pod, "DoNotSchedule");
  const soft = constraintsOf(pod, "ScheduleAnyway");
  if (hard.length === 0 && soft.length === 0) return NOTHING_TO_CHECK;
  const labels = pod.metadata.labels ?? {};
  const hardP = hard.length ? prepare(pod, cluster, hard) : [];
  const softP = soft.length ? prepare(pod, cluster, soft) : [];
  const minima = hardP.map((p) => {
    if (p.c.minDomains !== undefined && p.counts.size < p.c.minDomains) return 0;
    let min = Infinity;
    for (const v of p.counts.values()) min = Math.min(min, v);
    return min;
  });
  return {
    scored: softP.length > 0,
    filter(n: NodeState): string[] {
      for (let i = 0; i < hardP.length; i++) {
        const p = hardP[i]!;
        const domain = n.labels[p.c.topologyKey];
        if (domain === undefined) return [SPREAD_MISSING_LABEL];
        const self = p.matches(labels) ? 1 : 0;
        if ((p.counts.get(domain) ?? 0) + self - minima[i]! > Number(p.c.maxSkew)) {
          return [SPREAD_MISMATCH];
        }
      }
      return NONE;
    },
    score(n: NodeState): number {
      let s = 0;
      for (const p of softP) {
        const domain = n.labels[p.c.topologyKey];
        if (domain !== undefined) s += p.counts.get(domain) ?? 0;
      }
      return s;
    },
  };
}
