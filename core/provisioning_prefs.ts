/**
 * Small pure helpers of provisioning: soft preferences, a pod's zone constraints, and the zone
 * choice for topology spread.
 */
import type { NodeSelectorTerm, Pod, PodAffinityTerm } from "./model.ts";
import { type TopologyIndex, ZONE_KEY } from "./topology.ts";

export type Pref = NodeSelectorTerm;

/** The heaviest preferred node affinity term, tried as if required before being relaxed. */
export function topPreference(pod: Pod): Pref | undefined {
  const prefs = pod.preferredNodeAffinity;
  if (!prefs || prefs.length === 0) return undefined;
  let best = prefs[0]!;
  for (const p of prefs) if (p.weight > best.weight) best = p;
  return best.preference;
}

/** The heaviest preferred pod affinity term: tried on existing capacity before being relaxed. */
export function topPodPreference(pod: Pod): PodAffinityTerm | undefined {
  const prefs = pod.preferredPodAffinity;
  if (!prefs || prefs.length === 0) return undefined;
  let best = prefs[0]!;
  for (const p of prefs) if (p.weight > best.weight) best = p;
  return best.term;
}

export function onlyKey(
  sel: Record<string, string> | undefined,
  key: string,
): Record<string, string> | undefined {
  if (!sel || sel[key] === undefined) return undefined;
  return { [key]: sel[key]! };
}

/** The pod's required node affinity restricted to the zone key (other keys say nothing of zones). */
export function zoneTerms(pod: Pod) {
  const terms = pod.requiredNodeAffinity;
  if (!terms || terms.length === 0) return undefined;
  return terms.map((t) => ({
    matchExpressions: (t.matchExpressions ?? []).filter((e) => e.key === ZONE_KEY),
  }));
}

/** With zone spread, a new node goes to the zones with the fewest matching pods. */
export function preferEmptiestZones(topo: TopologyIndex, pod: Pod, zones: string[]): string[] {
  const spread = (pod.topologySpreadConstraints ?? []).find((c) => c.topologyKey === ZONE_KEY);
  if (!spread || zones.length <= 1) return zones;
  const counts = topo.spreadCounts(pod, spread);
  let min = Infinity;
  for (const z of zones) min = Math.min(min, counts.get(z) ?? 0);
  return zones.filter((z) => (counts.get(z) ?? 0) === min);
}
