/**
 * InterPodAffinity, required terms in both directions and preferred terms for scoring. A node
 * is judged in kube-scheduler's order, the first failure giving its reason:
 *
 * - the incoming pod's required affinity terms need, for every term, a domain (on this node's
 *   topologyKey label, which must exist) holding a pod that matches all its affinity terms.
 *   The first pod of a group that matches its own terms may go anywhere with the labels when
 *   no pod anywhere matches yet (kube-scheduler's self-affinity exception);
 * - the incoming pod's required anti-affinity terms forbid domains holding a matching pod;
 * - an existing pod's required anti-affinity term that matches the incoming pod forbids every
 *   node in the existing pod's topology domain ("didn't satisfy existing pods anti-affinity").
 *
 * A term selects pods in its `namespaces`, plus namespaces whose labels match its
 * `namespaceSelector` (`{}` selects all); with neither, the owning pod's namespace. A term
 * without labelSelector matches no pod. matchLabelKeys/mismatchLabelKeys are not modelled.
 *
 * May import: ./cluster_state.ts, ./label_match.ts, ../../fake_kube/objects.ts (types).
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { ClusterState, NodeState, Placed } from "./cluster_state.ts";
import {
  compileSelector,
  type LabelMatcher,
  type Labels,
  type LabelSelector,
} from "./label_match.ts";

/** A node whose domain holds a pod whose required anti-affinity repels the incoming pod. */
export const EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
/** A node whose domain holds a pod the incoming pod's anti-affinity repels. */
export const ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
/** A node whose domain lacks the pods the incoming pod's affinity needs. */
export const AFFINITY = "node(s) didn't match pod affinity rules";

/** A pod affinity term as the API stores it. */
export type AffinityTerm = {
  labelSelector?: LabelSelector | null;
  namespaces?: string[];
  namespaceSelector?: LabelSelector | null;
  topologyKey: string;
};

type Who = { namespace: string; labels: Labels };

/** A term compiled for one owner: does it select a pod (namespace and labels)? */
export type CompiledTerm = { topologyKey: string; selects(target: Who): boolean };

/** Compiles `term`, owned by a pod in `ownerNs`, against the cluster's namespace labels. */
export function compileTerm(
  term: AffinityTerm,
  ownerNs: string,
  namespaceLabels: ReadonlyMap<string, Labels>,
): CompiledTerm {
  const listed = new Set(term.namespaces ?? []);
  const nsSel = term.namespaceSelector;
  const labelsMatch = compileSelector(term.labelSelector);
  let inNs: (ns: string) => boolean;
  if (listed.size === 0 && (nsSel === undefined || nsSel === null)) {
    inNs = (ns) => ns === ownerNs;
  } else {
    const nsMatch: LabelMatcher | undefined = nsSel ? compileSelector(nsSel) : undefined;
    inNs = (ns) =>
      listed.has(ns) || (nsMatch !== undefined && nsMatch(namespaceLabels.get(ns) ?? {}));
  }
  return {
    topologyKey: term.topologyKey,
    selects: (t) => inNs(t.namespace) && labelsMatch(t.labels),
  };
}

/** Does `term`, owned by a pod in `ownerNs`, select pod `target`? */
export function termSelects(
  term: AffinityTerm,
  ownerNs: string,
  target: Who,
  namespaceLabels: ReadonlyMap<string, Labels>,
): boolean {
  return compileTerm(term, ownerNs, namespaceLabels).selects(target);
}

function required(pod: KObj, kind: "podAffinity" | "podAntiAffinity"): AffinityTerm[] {
  const t = pod.spec?.affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution;
  return Array.isArray(t) ? t : [];
}

function preferred(
  pod: KObj,
  kind: "podAffinity" | "podAntiAffinity",
  sign: number,
  ns: string,
  namespaceLabels: ReadonlyMap<string, Labels>,
): (CompiledTerm & { weight: number; raw: AffinityTerm })[] {
  const t = pod.spec?.affinity?.[kind]?.preferredDuringSchedulingIgnoredDuringExecution;
  // deno-lint-ignore no-explicit-any
  return (Array.isArray(t) ? t : []).filter((w: any) => w?.podAffinityTerm).map((w: any) => ({
    ...compileTerm(w.podAffinityTerm, ns, namespaceLabels),
    raw: w.podAffinityTerm,
    weight: sign * Number(w.weight ?? 0),
  }));
}

/** Counts per topology key, then per domain value. */
type DomainCounts = Map<string, Map<string, number>>;

function bump(m: DomainCounts, key: string, value: string, by = 1): void {
  let inner = m.get(key);
  if (!inner) m.set(key, inner = new Map());
  inner.set(value, (inner.get(value) ?? 0) + by);
}

function countAt(m: DomainCounts, key: string, value: string): number {
  return m.get(key)?.get(value) ?? 0;
}
const NONE: string[] = [];

/** The per-pod precomputation: a filter and a raw preferred-affinity score per node. */
export type InterPodAffinity = {
  filter(n: NodeState): string[];
  score(n: NodeState): number;
  /** False when the score is the same on every node (no preferred terms). */
  scored: boolean;
};

const NOTHING_TO_CHECK: InterPodAffinity = { filter: () => NONE, score: () => 0, scored: false };

/** Counts, once per pod, what the filter and score need from all bound pods. */
export function interPodAffinity(pod: KObj, cluster: ClusterState): InterPodAffinity {
  const me: Who = {
    namespace: pod.metadata.namespace ?? "default",
    labels: pod.metadata.labels ?? {},
  };
  const nsl = cluster.namespaceLabels;
  const compile = (t: AffinityTerm) => ({ raw: t, ...compileTerm(t, me.namespace, nsl) });
  const affinity = required(pod, "podAffinity").map(compile);
  const anti = required(pod, "podAntiAffinity").map(compile);
  const prefs = [
    ...preferred(pod, "podAffinity", 1, me.namespace, nsl),
    ...preferred(pod, "podAntiAffinity", -1, me.namespace, nsl),
  ];
  if (affinity.length + anti.length + prefs.length === 0 && cluster.antiGroups.size === 0) {
    return NOTHING_TO_CHECK;
  }
  // Pods that can match a term: those carrying one of its matchLabels pairs, else all.
  const candidates = (t: AffinityTerm): Placed[] => {
    if (t.labelSelector === undefined || t.labelSelector === null) return [];
    const ml = t.labelSelector.matchLabels ?? {};
    for (const k in ml) return cluster.byLabel.get(`${k}=${ml[k]}`) ?? [];
    return cluster.placed;
  };
  const existingAnti: DomainCounts = new Map();
  const affinityCounts: DomainCounts = new Map();
  const antiCounts: DomainCounts = new Map();
  const prefScore: DomainCounts = new Map();
  for (const g of cluster.antiGroups.values()) {
    const t = (g.compiled ??= compileTerm(g.term, g.ownerNs, nsl)) as CompiledTerm;
    if (!t.selects(me)) continue;
    for (const [v, count] of g.counts) bump(existingAnti, t.topologyKey, v, count);
  }
  if (affinity.length > 0) {
    for (const { pod: e, node: n } of candidates(affinity[0]!.raw)) {
      if (!affinity.every((t) => t.selects(e))) continue;
      for (const t of affinity) {
        const v = n.labels[t.topologyKey];
        if (v !== undefined) bump(affinityCounts, t.topologyKey, v);
      }
    }
  }
  for (const t of anti) {
    for (const { pod: e, node: n } of candidates(t.raw)) {
      const v = n.labels[t.topologyKey];
      if (v !== undefined && t.selects(e)) bump(antiCounts, t.topologyKey, v);
    }
  }
  for (const t of prefs) {
    for (const { pod: e, node: n } of candidates(t.raw)) {
      const v = n.labels[t.topologyKey];
      if (v !== undefined && t.selects(e)) bump(prefScore, t.topologyKey, v, t.weight);
    }
  }
  const selfMatch = affinity.every((t) => t.selects(me));
  const prefKeys = new Set(prefs.map((t) => t.topologyKey));
  return {
    scored: prefs.length > 0,
    filter(n: NodeState): string[] {
      // kube-scheduler's order: the pod's affinity, its anti-affinity, then the existing pods'.
      let podsExist = true;
      for (const t of affinity) {
        const v = n.labels[t.topologyKey];
        if (v === undefined) return [AFFINITY];
        if (countAt(affinityCounts, t.topologyKey, v) <= 0) podsExist = false;
      }
      if (!podsExist && !(affinityCounts.size === 0 && selfMatch)) return [AFFINITY];
      for (const t of anti) {
        const v = n.labels[t.topologyKey];
        if (v !== undefined && countAt(antiCounts, t.topologyKey, v) > 0) return [ANTI_AFFINITY];
      }
      for (const [key, byValue] of existingAnti) {
        const v = n.labels[key];
        if (v !== undefined && (byValue.get(v) ?? 0) > 0) return [EXISTING_ANTI_AFFINITY];
      }
      return NONE;
    },
    score(n: NodeState): number {
      let s = 0;
      for (const k of prefKeys) {
        const v = n.labels[k];
        if (v !== undefined) s += countAt(prefScore, k, v);
      }
      return s;
    },
  };
}
