/**
 * InterPodAffinity, required terms in both directions and preferred terms for scoring:
 *
 * - an existing pod's required anti-affinity term that matches the incoming pod forbids every
 *   node in the existing pod's topology domain ("didn't satisfy existing pods anti-affinity");
 * - the incoming pod's required anti-affinity terms forbid domains holding a matching pod;
 * - the incoming pod's required affinity terms need, for every term, a domain (on this node's
 *   topologyKey label, which must exist) holding a pod that matches all its affinity terms.
 *   The first pod of a group that matches its own terms may go anywhere with the labels when
 *   no pod anywhere matches yet (kube-scheduler's self-affinity exception).
 *
 * A term selects pods in its `namespaces`, plus namespaces whose labels match its
 * `namespaceSelector` (`{}` selects all); with neither, the owning pod's namespace. A term
 * without labelSelector matches no pod. matchLabelKeys/mismatchLabelKeys are not modelled.
 *
 * May import: ./cluster_state.ts, ./label_match.ts, ../../fake_kube/objects.ts (types).
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { ClusterState, NodeState } from "./cluster_state.ts";
import { type Labels, type LabelSelector, selectorMatches } from "./label_match.ts";

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

/** Does `term`, owned by a pod in `ownerNs`, select pod `target`? */
export function termSelects(
  term: AffinityTerm,
  ownerNs: string,
  target: Who,
  namespaceLabels: ReadonlyMap<string, Labels>,
): boolean {
  const listed = term.namespaces ?? [];
  const nsSel = term.namespaceSelector;
  let inNs: boolean;
  if (listed.length === 0 && (nsSel === undefined || nsSel === null)) {
    inNs = target.namespace === ownerNs;
  } else {
    inNs = listed.includes(target.namespace) ||
      (nsSel !== undefined && nsSel !== null &&
        selectorMatches(nsSel, namespaceLabels.get(target.namespace) ?? {}));
  }
  return inNs && selectorMatches(term.labelSelector, target.labels);
}

function required(pod: KObj, kind: "podAffinity" | "podAntiAffinity"): AffinityTerm[] {
  const t = pod.spec?.affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution;
  return Array.isArray(t) ? t : [];
}

function preferred(
  pod: KObj,
  kind: "podAffinity" | "podAntiAffinity",
): { weight: number; podAffinityTerm: AffinityTerm }[] {
  const t = pod.spec?.affinity?.[kind]?.preferredDuringSchedulingIgnoredDuringExecution;
  return Array.isArray(t) ? t : [];
}

const pair = (k: string, v: string) => `${k}\u0000${v}`;

/** The per-pod precomputation: a filter and a raw preferred-affinity score per node. */
export type InterPodAffinity = {
  filter(n: NodeState): string[];
  score(n: NodeState): number;
};

/** Counts, once per pod, what the filter and score need from all bound pods. */
export function interPodAffinity(pod: KObj, cluster: ClusterState): InterPodAffinity {
  const me: Who = {
    namespace: pod.metadata.namespace ?? "default",
    labels: pod.metadata.labels ?? {},
  };
  const ns = cluster.namespaceLabels;
  const affinity = required(pod, "podAffinity");
  const anti = required(pod, "podAntiAffinity");
  const prefAff = preferred(pod, "podAffinity");
  const prefAnti = preferred(pod, "podAntiAffinity");
  const existingAnti = new Map<string, number>();
  const affinityCounts = new Map<string, number>();
  const antiCounts = new Map<string, number>();
  const prefScore = new Map<string, number>();
  if (
    affinity.length + anti.length + prefAff.length + prefAnti.length === 0 &&
    cluster.antiAffinityPods === 0
  ) {
    return { filter: () => [], score: () => 0 };
  }
  const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);
  for (const n of cluster.nodes) {
    for (const e of n.pods) {
      for (const t of e.requiredAntiAffinity as AffinityTerm[]) {
        const v = n.labels[t.topologyKey];
        if (v !== undefined && termSelects(t, e.namespace, me, ns)) {
          bump(existingAnti, pair(t.topologyKey, v));
        }
      }
      if (affinity.length > 0 && affinity.every((t) => termSelects(t, me.namespace, e, ns))) {
        for (const t of affinity) {
          const v = n.labels[t.topologyKey];
          if (v !== undefined) bump(affinityCounts, pair(t.topologyKey, v));
        }
      }
      for (const t of anti) {
        const v = n.labels[t.topologyKey];
        if (v !== undefined && termSelects(t, me.namespace, e, ns)) {
          bump(antiCounts, pair(t.topologyKey, v));
        }
      }
      for (const [list, sign] of [[prefAff, 1], [prefAnti, -1]] as const) {
        for (const w of list) {
          const t = w.podAffinityTerm;
          const v = t && n.labels[t.topologyKey];
          if (v !== undefined && termSelects(t, me.namespace, e, ns)) {
            bump(prefScore, pair(t.topologyKey, v), sign * Number(w.weight ?? 0));
          }
        }
      }
    }
  }
  const selfMatch = affinity.every((t) => termSelects(t, me.namespace, me, ns));
  const prefKeys = new Set([...prefAff, ...prefAnti].map((w) => w.podAffinityTerm?.topologyKey));
  return {
    filter(n: NodeState): string[] {
      if (existingAnti.size > 0) {
        for (const k in n.labels) {
          if ((existingAnti.get(pair(k, n.labels[k]!)) ?? 0) > 0) return [EXISTING_ANTI_AFFINITY];
        }
      }
      for (const t of anti) {
        const v = n.labels[t.topologyKey];
        if (v !== undefined && (antiCounts.get(pair(t.topologyKey, v)) ?? 0) > 0) {
          return [ANTI_AFFINITY];
        }
      }
      let podsExist = true;
      for (const t of affinity) {
        const v = n.labels[t.topologyKey];
        if (v === undefined) return [AFFINITY];
        if ((affinityCounts.get(pair(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
      }
      if (!podsExist && !(affinityCounts.size === 0 && selfMatch)) return [AFFINITY];
      return [];
    },
    score(n: NodeState): number {
      let s = 0;
      for (const k of prefKeys) {
        if (k === undefined) continue;
        const v = n.labels[k];
        if (v !== undefined) s += prefScore.get(pair(k, v)) ?? 0;
      }
      return s;
    },
  };
}
