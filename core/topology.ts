/**
 * Counting pods per topology domain for required pod anti-affinity and topology spread.
 * A group is (namespaces, label selector, topology key); its counts start from the pods already
 * bound and grow as the plan places pods. Zones are a label per Proxmox host, so spreading
 * across zones spreads across physical machines.
 */
import type { LabelSelector, Pod, PodAffinityTerm, TopologySpreadConstraint } from "./model.ts";
import { matchesSelector, selectorKey } from "./requirements.ts";

export const HOSTNAME_KEY = "kubernetes.io/hostname";
export const ZONE_KEY = "topology.kubernetes.io/zone";

type Group = {
  namespaces: ReadonlySet<string> | null;
  selector: LabelSelector | undefined;
  key: string;
  counts: Map<string, number>;
};

/** A pod already running or placed, with the labels of the node it is on. */
export type PlacedPod = {
  namespace: string;
  labels: Readonly<Record<string, string>> | undefined;
  nodeLabels: Readonly<Record<string, string>>;
  antiAffinity?: readonly PodAffinityTerm[] | undefined;
};

export class TopologyIndex {
  readonly #groups = new Map<string, Group>();
  /**
   * Groups whose selector is matchLabels only, by their first label pair: a placed pod can only
   * count in the ones whose pair it carries. The others are checked for every pod.
   */
  readonly #byPair = new Map<string, Group[]>();
  readonly #unpaired: Group[] = [];
  /** The same groups by selector object, namespace list and key: no selector text per check. */
  readonly #bySelector = new WeakMap<object, Map<string, Group>>();
  readonly #placed: PlacedPod[];
  /** Known domains per topology key (zones from hosts and nodes; hostnames are unbounded). */
  readonly #domains = new Map<string, Set<string>>();

  /** Anti-affinity terms of placed pods, by (namespaces, selector, key): domains they forbid. */
  readonly #owners = new Map<string, Group>();
  /** The same groups indexed by topology key and domain, so a check looks only where it lands. */
  readonly #ownersAt = new Map<string, Map<string, Group[]>>();

  constructor(placed: PlacedPod[], domains: Iterable<[string, string]>) {
    this.#placed = placed;
    for (const [k, v] of domains) this.addDomain(k, v);
    for (const p of placed) this.#own(p.namespace, p.antiAffinity, p.nodeLabels);
    // Pods of one node share its labels object: each node's labels are counted once.
    let seen: Readonly<Record<string, string>> | undefined;
    let seenSet: Set<Readonly<Record<string, string>>> | undefined;
    for (const p of placed) {
      const l = p.nodeLabels;
      if (l === seen) continue;
      if (seen !== undefined) {
        seenSet ??= new Set([seen]);
        if (seenSet.has(l)) continue;
        seenSet.add(l);
      }
      seen = l;
      this.addNodeDomains(l);
    }
  }

  /**
   * Counts every label of a node as a known domain of its key, as kube-scheduler takes a spread
   * constraint's domains from the nodes' labels (a spread over proxscale.io/host or any custom
   * key needs them; without them the global minimum would be taken as zero).
   */
  addNodeDomains(nodeLabels: Readonly<Record<string, string>>): void {
    for (const k in nodeLabels) this.addDomain(k, nodeLabels[k]!);
  }

  addDomain(key: string, value: string): void {
    let s = this.#domains.get(key);
    if (!s) this.#domains.set(key, s = new Set());
    if (s.has(value)) return;
    s.add(value);
    this.#domainCount++;
  }
  #domainCount = 0;

  /** How many (key, value) domains are known: it changes whenever `domains()` of a key grows. */
  get domainCount(): number {
    return this.#domainCount;
  }

  domains(key: string): ReadonlySet<string> {
    return this.#domains.get(key) ?? new Set();
  }

  #group(namespaces: readonly string[], selector: LabelSelector | undefined, key: string): Group {
    const short = selector ? `${namespaces.join(",")}|${key}` : undefined;
    const known = short === undefined ? undefined : this.#bySelector.get(selector!)?.get(short);
    if (known) return known;
    const id = `${[...namespaces].sort().join(",")}|${selectorKey(selector)}|${key}`;
    let g = this.#groups.get(id);
    if (g) {
      if (short !== undefined) this.#remember(selector!, short, g);
      return g;
    }
    g = { namespaces: new Set(namespaces), selector, key, counts: new Map() };
    for (const p of this.#placed) this.#count(g, p.namespace, p.labels, p.nodeLabels);
    const pods = this.#placedPods;
    for (let i = 0; i < pods.length; i++) {
      this.#count(g, pods[i]!.namespace, pods[i]!.labels, this.#placedNodes[i]!);
    }
    this.#groups.set(id, g);
    const pairs = selector?.matchLabels;
    let first: string | undefined;
    if (pairs && !selector!.matchExpressions?.length) {
      for (const k in pairs) {
        first = `${k}=${pairs[k]}`;
        break;
      }
    }
    if (first === undefined) this.#unpaired.push(g);
    else {
      const list = this.#byPair.get(first);
      if (list) list.push(g);
      else this.#byPair.set(first, [g]);
    }
    if (short !== undefined) this.#remember(selector!, short, g);
    return g;
  }

  /**
   * The group of one term (anti-affinity, affinity or spread) of a pod in namespace `ns`: kept
   * per term object, so the pods of a class (which share their terms) find it without any text.
   */
  #termGroup(
    term: {
      namespaces?: readonly string[] | undefined;
      labelSelector?: LabelSelector;
      topologyKey: string;
    },
    ns: string,
  ): Group {
    const hit = this.#byTerm.get(term);
    if (hit !== undefined && hit.ns === ns) return hit.g;
    const g = this.#group(
      term.namespaces?.length ? term.namespaces : [ns],
      term.labelSelector,
      term.topologyKey,
    );
    this.#byTerm.set(term, { ns, g });
    return g;
  }
  readonly #byTerm = new WeakMap<object, { ns: string; g: Group }>();

  #remember(selector: object, short: string, g: Group) {
    let m = this.#bySelector.get(selector);
    if (!m) this.#bySelector.set(selector, m = new Map());
    m.set(short, g);
  }

  #count(
    g: Group,
    ns: string,
    labels: PlacedPod["labels"],
    nodeLabels: Readonly<Record<string, string>>,
  ) {
    if (g.namespaces && !g.namespaces.has(ns)) return;
    const domain = nodeLabels[g.key];
    if (domain === undefined || !matchesSelector(labels, g.selector)) return;
    g.counts.set(domain, (g.counts.get(domain) ?? 0) + 1);
  }

  /**
   * Records a pod placed on a node or claim with `nodeLabels`; `pairs` may give the pod's labels
   * as `key=value` texts, already made.
   */
  place(
    pod: Pod,
    nodeLabels: Readonly<Record<string, string>>,
    pairs?: readonly string[],
  ): void {
    // Kept as the pod and its node's labels (no record per placement).
    this.#placedPods.push(pod);
    this.#placedNodes.push(nodeLabels);
    this.addNodeDomains(nodeLabels);
    const ns = pod.namespace;
    const labels = pod.labels;
    for (const g of this.#unpaired) this.#count(g, ns, labels, nodeLabels);
    if (labels && this.#byPair.size > 0) {
      if (pairs) {
        for (const pair of pairs) {
          const list = this.#byPair.get(pair);
          if (list) { for (const g of list) this.#count(g, ns, labels, nodeLabels); }
        }
      } else {
        for (const k in labels) {
          const list = this.#byPair.get(`${k}=${labels[k]}`);
          if (list) { for (const g of list) this.#count(g, ns, labels, nodeLabels); }
        }
      }
    }
    if (pod.requiredPodAntiAffinity?.length) this.#own(ns, pod.requiredPodAntiAffinity, nodeLabels);
  }
  /** Pods placed through `place`, and their nodes' labels (the constructor's are in #placed). */
  readonly #placedPods: Pod[] = [];
  readonly #placedNodes: Readonly<Record<string, string>>[] = [];

  /** The group of placed pods' anti-affinity terms like `term` of a pod in `namespace`. */
  #ownerGroup(term: PodAffinityTerm, namespace: string): Group {
    const hit = this.#ownerByTerm.get(term);
    if (hit !== undefined && hit.ns === namespace) return hit.g;
    const ns = term.namespaces?.length ? term.namespaces : [namespace];
    const id = `${[...ns].sort().join(",")}|${selectorKey(term.labelSelector)}|${term.topologyKey}`;
    let g = this.#owners.get(id);
    if (!g) {
      g = {
        namespaces: new Set(ns),
        selector: term.labelSelector,
        key: term.topologyKey,
        counts: new Map(),
      };
      this.#owners.set(id, g);
    }
    this.#ownerByTerm.set(term, { ns: namespace, g });
    return g;
  }
  readonly #ownerByTerm = new WeakMap<object, { ns: string; g: Group }>();

  #own(
    namespace: string,
    antiAffinity: readonly PodAffinityTerm[] | undefined,
    nodeLabels: Readonly<Record<string, string>>,
  ) {
    for (const term of antiAffinity ?? []) {
      const d = nodeLabels[term.topologyKey];
      if (d === undefined) continue;
      const g = this.#ownerGroup(term, namespace);
      const n = (g.counts.get(d) ?? 0) + 1;
      g.counts.set(d, n);
      if (n === 1) {
        let byDomain = this.#ownersAt.get(g.key);
        if (!byDomain) this.#ownersAt.set(g.key, byDomain = new Map());
        const list = byDomain.get(d);
        if (list) list.push(g);
        else byDomain.set(d, [g]);
      }
    }
  }

  /**
   * Symmetry of anti-affinity: a placed pod whose term matches `pod` forbids its domain to `pod`,
   * even when `pod` itself has no anti-affinity (kube-scheduler checks both directions).
   */
  forbiddenBy(pod: Pod, labels: Readonly<Record<string, string>>): string | undefined {
    for (const [key, byDomain] of this.#ownersAt) {
      const d = labels[key];
      if (d === undefined) continue;
      const groups = byDomain.get(d);
      if (groups === undefined) continue;
      for (const g of groups) {
        if (g.namespaces && !g.namespaces.has(pod.namespace)) continue;
        if (matchesSelector(pod.labels, g.selector)) return `${key}=${d}`;
      }
    }
    return undefined;
  }

  /** The topology keys placed pods' anti-affinity terms use (the keys a check looks at). */
  antiAffinityKeys(): ReadonlySet<string> {
    return new Set(this.#ownersAt.keys());
  }

  /** Whether any placed pod has anti-affinity (a fast path for the common case of none). */
  get hasAntiAffinity(): boolean {
    return this.#owners.size > 0;
  }

  /** Matching pods in `domain` for an anti-affinity term of `pod`. */
  antiAffinityCount(pod: Pod, term: PodAffinityTerm, domain: string): number {
    return this.#termGroup(term, pod.namespace).counts.get(domain) ?? 0;
  }

  /**
   * Why required pod affinity keeps `pod` off a node with `labels`, or undefined: each term
   * needs a matching pod in the node's domain, except that the first pod of a group whose term
   * matches itself may go anywhere (as kube-scheduler allows).
   */
  affinityBlocks(
    pod: Pod,
    labels: Readonly<Record<string, string>>,
    terms: readonly PodAffinityTerm[] = pod.requiredPodAffinity ?? [],
  ): string | undefined {
    for (const term of terms) {
      const g = this.#termGroup(term, pod.namespace);
      const d = labels[term.topologyKey];
      if (d !== undefined && (g.counts.get(d) ?? 0) > 0) continue;
      let total = 0;
      for (const n of g.counts.values()) total += n;
      const ns = term.namespaces?.length ? term.namespaces : [pod.namespace];
      const self = ns.includes(pod.namespace) && matchesSelector(pod.labels, term.labelSelector);
      if (total === 0 && self) continue;
      return d === undefined
        ? `node has no ${term.topologyKey} label for pod affinity`
        : `pod affinity needs a matching pod in ${term.topologyKey}=${d}`;
    }
    return undefined;
  }

  /** Matching pods per domain for a spread constraint of `pod`. */
  spreadCounts(pod: Pod, c: TopologySpreadConstraint): ReadonlyMap<string, number> {
    return this.#termGroup(c, pod.namespace).counts;
  }
}

/**
 * Would placing `pod` into a node whose labels are `labels` keep its required anti-affinity
 * and DoNotSchedule spread constraints? `zoneUniverse` lists the zones the pod could still get a
 * node in; for hostname a brand-new node is always possible, so its minimum is zero.
 */
export function topologyAllows(
  index: TopologyIndex,
  pod: Pod,
  labels: Readonly<Record<string, string>>,
  zoneUniverse: ReadonlySet<string>,
): { ok: true } | { ok: false; permanent: boolean; why: string } {
  if (index.hasAntiAffinity) {
    const by = index.forbiddenBy(pod, labels);
    if (by) return { ok: false, permanent: true, why: `another pod's anti-affinity on ${by}` };
  }
  for (const term of pod.requiredPodAntiAffinity ?? []) {
    const d = labels[term.topologyKey];
    if (d === undefined) continue;
    if (index.antiAffinityCount(pod, term, d) > 0) {
      return { ok: false, permanent: true, why: `anti-affinity on ${term.topologyKey}=${d}` };
    }
  }
  for (const c of pod.topologySpreadConstraints ?? []) {
    if (c.whenUnsatisfiable !== "DoNotSchedule") continue;
    const d = labels[c.topologyKey];
    if (d === undefined) {
      return { ok: false, permanent: true, why: `node has no ${c.topologyKey} label for spread` };
    }
    const counts = index.spreadCounts(pod, c);
    const self = matchesSelector(pod.labels, c.labelSelector) ? 1 : 0;
    let min = 0;
    if (c.topologyKey !== HOSTNAME_KEY) {
      const universe = c.topologyKey === ZONE_KEY ? zoneUniverse : index.domains(c.topologyKey);
      min = Infinity;
      for (const dom of universe) min = Math.min(min, counts.get(dom) ?? 0);
      if (min === Infinity) min = 0;
      // Fewer eligible domains than minDomains: the global minimum counts as zero.
      if (c.minDomains !== undefined && universe.size < c.minDomains) min = 0;
    }
    if ((counts.get(d) ?? 0) + self - min > c.maxSkew) {
      return {
        ok: false,
        permanent: c.topologyKey === HOSTNAME_KEY,
        why: `spread on ${c.topologyKey} (skew would exceed ${c.maxSkew})`,
      };
    }
  }
  return ALLOWED;
}
/** The answer when nothing refuses (one object: callers only read it). */
const ALLOWED = { ok: true } as const;
