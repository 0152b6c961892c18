/**
 * What provisioning reuses between pods of a class without changing an answer: refusals joined
 * from verdicts that are the same object for every pod, and what says whether a placement can
 * matter to a class's topology answers (the label pairs of its selectors and of placed pods,
 * anti-affinity that selects it, a spread over every known value of a key).
 *
 * May import: nothing outside core/.
 */
import type { Pod } from "./model.ts";
import { matchesSelector } from "./requirements.ts";
import { HOSTNAME_KEY, ZONE_KEY } from "./topology.ts";
import { type Reason, reason } from "./reason.ts";

type Node = { next: Map<Reason, Node>; reason?: Reason };

/** Joined refusals ("why each pool declined"), written once per sequence of kept verdicts. */
export class JoinedReasons {
  readonly #kept = new Set<Reason>();
  readonly #root: Node = { next: new Map() };

  /** Marks a verdict as reused between pods, so refusals joined from it can be reused too. */
  keep(r: Reason) {
    this.#kept.add(r);
  }

  /** The first verdict's code with every verdict's message, "; "-separated (two or more). */
  join(fails: readonly Reason[]): Reason {
    let node: Node | undefined = this.#root;
    for (const f of fails) {
      if (!this.#kept.has(f)) {
        node = undefined;
        break;
      }
      let next: Node | undefined = node.next.get(f);
      if (!next) node.next.set(f, next = { next: new Map() });
      node = next;
    }
    if (node?.reason) return node.reason;
    const joined = reason(fails[0]!.code, fails.map((f) => f.message).join("; "));
    if (node) node.reason = joined;
    return joined;
  }
}

/**
 * The first label pair (`key=value`) of each pod selector in the pod's anti-affinity, affinity
 * and spread terms: only a placed pod carrying one of them can change those terms' counts.
 * Null when some selector is not plain matchLabels (then any placement may matter).
 */
export function selectorPairs(pod: Pod): string[] | null {
  const selectors = [
    ...(pod.requiredPodAntiAffinity ?? []).map((t) => t.labelSelector),
    ...(pod.requiredPodAffinity ?? []).map((t) => t.labelSelector),
    ...(pod.topologySpreadConstraints ?? []).map((t) => t.labelSelector),
  ];
  const pairs: string[] = [];
  for (const sel of selectors) {
    let first: string | undefined;
    if (sel?.matchLabels && !sel.matchExpressions?.length) {
      for (const k in sel.matchLabels) {
        first = `${k}=${sel.matchLabels[k]}`;
        break;
      }
    }
    if (first === undefined) return null;
    pairs.push(first);
  }
  return pairs;
}

/**
 * Does one of `a`'s required anti-affinity terms select `b` (its namespaces, or `a`'s own when
 * it names none, hold `b`'s, and its selector matches `b`'s labels)? Only then can a placed pod
 * like `a` keep `b` out of a domain.
 */
export function antiAffinitySelects(a: Pod, b: Pod): boolean {
  for (const t of a.requiredPodAntiAffinity ?? []) {
    const ns = t.namespaces?.length ? t.namespaces : [a.namespace];
    if (ns.includes(b.namespace) && matchesSelector(b.labels, t.labelSelector)) return true;
  }
  return false;
}

/** Has the pod a DoNotSchedule spread over a key other than hostname and zone? */
export function spreadsOverKnownDomains(pod: Pod): boolean {
  return (pod.topologySpreadConstraints ?? []).some((c) =>
    c.whenUnsatisfiable === "DoNotSchedule" && c.topologyKey !== HOSTNAME_KEY &&
    c.topologyKey !== ZONE_KEY
  );
}

/** A pod's labels as `key=value` pairs, in label order. */
export function labelPairs(pod: Pod): string[] {
  const out: string[] = [];
  const labels = pod.labels;
  if (labels) { for (const k in labels) out.push(`${k}=${labels[k]}`); }
  return out;
}
