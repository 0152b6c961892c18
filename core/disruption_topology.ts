/**
 * Which placed pods can matter to a consolidation simulation's topology checks. Rebuilding
 * anti-affinity and spread counts from the whole cluster for every simulated node would make a
 * 1000-node pass take seconds; only pods selected by the moving pods' own terms, and pods whose
 * anti-affinity selects a moving pod (kube-scheduler checks both ways), can change a verdict.
 */
import type { LabelSelector, Pod, Snapshot } from "./model.ts";
import type { World } from "./disruption_candidates.ts";
import { matchesNodeConstraints, matchesSelector, selectorKey } from "./requirements.ts";
import { type TopologyIndex, ZONE_KEY } from "./topology.ts";
import { isActive } from "./disruption_pods.ts";

/** A pod and the slot (node index) it is bound to in the snapshot. */
export type PodAt = { pod: Pod; slot: number };

/** Does the pod carry topology rules of its own (required anti-affinity, DoNotSchedule spread)? */
export function constrained(p: Pod): boolean {
  if ((p.requiredPodAntiAffinity?.length ?? 0) > 0) return true;
  const spread = p.topologySpreadConstraints;
  return spread !== undefined && spread.some((c) => c.whenUnsatisfiable === "DoNotSchedule");
}

/** The topology-relevant view of one pass's cluster, built lazily and reused by every simulation. */
export class TopologyScope {
  readonly #world: World;
  readonly #snap: Snapshot;
  #anyAntiAffinity: boolean | undefined;
  #index:
    | { byLabel: Map<string, PodAt[]>; byNamespace: Map<string, PodAt[]>; owners: PodAt[] }
    | undefined;
  #zoneDomains: [string, string][] | undefined;
  #repelling: { namespaces: Set<string>; selector: LabelSelector }[] | undefined;

  constructor(world: World, snapshot: Snapshot) {
    this.#world = world;
    this.#snap = snapshot;
  }

  /**
   * Does any pod carry required anti-affinity, in the pass's view of where pods run (pending
   * pods placed, leaving pods moved)? Asked once the pass has placed them, on first need.
   */
  #antiAffinityAnywhere(): boolean {
    return this.#anyAntiAffinity ??= this.#world.podsOn.some((pods) =>
      pods.some((p) => (p.requiredPodAntiAffinity?.length ?? 0) > 0)
    );
  }

  /** Active pods by namespace and by label, and those with anti-affinity: built on first need. */
  #podIndex(): {
    byLabel: Map<string, PodAt[]>;
    byNamespace: Map<string, PodAt[]>;
    owners: PodAt[];
  } {
    if (this.#index) return this.#index;
    const byLabel = new Map<string, PodAt[]>();
    const byNamespace = new Map<string, PodAt[]>();
    const owners: PodAt[] = [];
    const push = (m: Map<string, PodAt[]>, k: string, v: PodAt) => {
      const l = m.get(k);
      if (l) l.push(v);
      else m.set(k, [v]);
    };
    this.#world.podsOn.forEach((pods, slot) => {
      for (const pod of pods) {
        if (!isActive(pod)) continue;
        const at = { pod, slot };
        push(byNamespace, pod.namespace, at);
        for (const k in pod.labels ?? {}) {
          push(byLabel, `${pod.namespace}\u0000${k}\u0000${pod.labels![k]}`, at);
        }
        if ((pod.requiredPodAntiAffinity?.length ?? 0) > 0) owners.push(at);
      }
    });
    return this.#index = { byLabel, byNamespace, owners };
  }

  /**
   * The placed pods whose position can matter to `movers`: those their anti-affinity or spread
   * selectors match, and every pod with anti-affinity of its own (kube-scheduler checks both
   * ways). Everything else is irrelevant to topology, so a pass never copies the whole cluster.
   */
  relevant(movers: readonly Pod[]): Map<Pod, number> {
    const idx = this.#podIndex();
    const out = new Map<Pod, number>();
    for (const o of idx.owners) out.set(o.pod, o.slot);
    const seen = new Set<string>();
    const add = (namespaces: readonly string[], sel: LabelSelector | undefined) => {
      if (!sel) return;
      for (const ns of namespaces) {
        const id = `${ns}|${selectorKey(sel)}`;
        if (seen.has(id)) continue;
        seen.add(id);
        const first = Object.keys(sel.matchLabels ?? {})[0];
        const list = first === undefined
          ? idx.byNamespace.get(ns)
          : idx.byLabel.get(`${ns}\u0000${first}\u0000${sel.matchLabels![first]}`);
        for (const at of list ?? []) {
          if (matchesSelector(at.pod.labels, sel)) out.set(at.pod, at.slot);
        }
      }
    };
    for (const pod of movers) {
      for (const t of pod.requiredPodAntiAffinity ?? []) {
        add(t.namespaces?.length ? t.namespaces : [pod.namespace], t.labelSelector);
      }
      for (const c of pod.topologySpreadConstraints ?? []) {
        if (c.whenUnsatisfiable === "DoNotSchedule") add([pod.namespace], c.labelSelector);
      }
    }
    return out;
  }

  /**
   * Can topology constrain where this pod goes? Only through its own anti-affinity or spread,
   * or through a placed pod's anti-affinity term that selects it (the symmetric check).
   */
  needsTopology(pod: Pod): boolean {
    if (constrained(pod)) return true;
    if (!this.#antiAffinityAnywhere()) return false;
    if (!this.#repelling) {
      const terms = new Map<string, { namespaces: Set<string>; selector: LabelSelector }>();
      for (const o of this.#podIndex().owners) {
        for (const t of o.pod.requiredPodAntiAffinity ?? []) {
          if (!t.labelSelector) continue;
          const ns = t.namespaces?.length ? t.namespaces : [o.pod.namespace];
          const id = `${[...ns].sort().join(",")}|${selectorKey(t.labelSelector)}`;
          if (!terms.has(id)) terms.set(id, { namespaces: new Set(ns), selector: t.labelSelector });
        }
      }
      this.#repelling = [...terms.values()];
    }
    for (const t of this.#repelling) {
      if (t.namespaces.has(pod.namespace) && matchesSelector(pod.labels, t.selector)) return true;
    }
    return false;
  }

  zones(): [string, string][] {
    if (this.#zoneDomains) return this.#zoneDomains;
    const domains: [string, string][] = [];
    const seen = new Set<string>();
    const add = (z: string | undefined) => {
      if (z === undefined || seen.has(z)) return;
      seen.add(z);
      domains.push([ZONE_KEY, z]);
    };
    for (const h of this.#snap.hosts) if (h.online) add(h.zone);
    for (const s of this.#world.slots) add(s.node.labels[ZONE_KEY]);
    return this.#zoneDomains = domains;
  }

  /** Zones the pod could still get a node in (for zone spread minimums), as provisioning counts them. */
  zoneUniverse(topo: TopologyIndex, pod: Pod): Set<string> {
    const out = new Set<string>();
    const sel = pod.nodeSelector?.[ZONE_KEY];
    const terms = pod.requiredNodeAffinity?.map((t) => ({
      matchExpressions: (t.matchExpressions ?? []).filter((e) => e.key === ZONE_KEY),
    }));
    for (const z of topo.domains(ZONE_KEY)) {
      if (
        matchesNodeConstraints(
          { [ZONE_KEY]: z },
          sel === undefined ? undefined : { [ZONE_KEY]: sel },
          terms,
        )
      ) out.add(z);
    }
    return out;
  }
}
