/**
 * PodDisruptionBudgets within one disruption pass. A budget blocks a node only when it allows
 * zero evictions right now; the observed `disruptionsAllowed` is spent as the pass plans
 * evictions, so once a pass has used it up no further node under it is chosen, and the drain
 * itself is paced by the eviction API. A pod covered by more than one budget cannot be evicted at all: the
 * eviction API refuses it (HTTP 500, "more than one PodDisruptionBudget").
 */
import type { Pod, PodDisruptionBudget } from "./model.ts";
import { matchesSelector } from "./requirements.ts";
import { type Reason, reason } from "./reason.ts";

type NamespaceIndex = {
  /** label key -> label value -> budgets whose first matchLabels entry is that pair. */
  byLabel: Map<string, Map<string, PodDisruptionBudget[]>>;
  /** Budgets without matchLabels (expressions only, or empty: every pod of the namespace). */
  other: PodDisruptionBudget[];
};
const NONE: readonly PodDisruptionBudget[] = [];

/** The budgets of one pass: which cover a pod, and how many evictions each has left. */
export class PdbLedger {
  readonly #byNamespace = new Map<string, NamespaceIndex>();
  readonly #left = new Map<PodDisruptionBudget, number>();
  readonly #cover = new Map<Pod, readonly PodDisruptionBudget[]>();

  constructor(pdbs: readonly PodDisruptionBudget[]) {
    for (const b of pdbs) {
      let ns = this.#byNamespace.get(b.namespace);
      if (!ns) this.#byNamespace.set(b.namespace, ns = { byLabel: new Map(), other: [] });
      // Most selectors name at least one label: index by it so a pod looks at few budgets.
      const first = Object.keys(b.selector.matchLabels ?? {})[0];
      if (first === undefined) ns.other.push(b);
      else {
        const v = b.selector.matchLabels![first]!;
        let byValue = ns.byLabel.get(first);
        if (!byValue) ns.byLabel.set(first, byValue = new Map());
        const l = byValue.get(v);
        if (l) l.push(b);
        else byValue.set(v, [b]);
      }
      this.#left.set(b, Math.max(0, b.disruptionsAllowed));
    }
  }

  /** Budgets whose selector matches the pod, in its namespace. */
  covering(pod: Pod): readonly PodDisruptionBudget[] {
    // No budget at all (most clusters a pass sees): no lookup per pod.
    if (this.#byNamespace.size === 0) return NONE;
    const ns = this.#byNamespace.get(pod.namespace);
    if (!ns) return NONE;
    let c = this.#cover.get(pod);
    if (c) return c;
    let out: PodDisruptionBudget[] | undefined;
    const labels = pod.labels ?? {};
    for (const [key, byValue] of ns.byLabel) {
      const v = labels[key];
      if (v === undefined) continue;
      for (const b of byValue.get(v) ?? NONE) {
        if (matchesSelector(labels, b.selector)) (out ??= []).push(b);
      }
    }
    for (const b of ns.other) if (matchesSelector(labels, b.selector)) (out ??= []).push(b);
    c = out ?? NONE;
    this.#cover.set(pod, c);
    return c;
  }

  /**
   * Why a node whose pods are `pods` cannot be disrupted now, or undefined. As in Karpenter, a
   * budget blocks only when it allows zero evictions right now (after what this pass already
   * spent); a budget with some evictions left lets the node go, and its drain is paced by the
   * eviction API, which refuses each eviction the budget does not allow at that moment.
   */
  check(pods: readonly Pod[]): Reason | undefined {
    for (const p of pods) {
      const c = this.covering(p);
      if (c.length === 0) continue;
      if (c.length > 1) {
        return reason(
          "PdbBlocked",
          `pod ${p.namespace}/${p.name} is covered by ${c.length} PodDisruptionBudgets (${
            c.map((b) => b.name).join(", ")
          }); the eviction API refuses such pods`,
        );
      }
      const b = c[0]!;
      const left = this.#left.get(b) ?? 0;
      if (left <= 0) {
        return reason(
          "PdbBlocked",
          `PodDisruptionBudget ${b.namespace}/${b.name} allows no disruption now (observed ${b.disruptionsAllowed}${
            left < b.disruptionsAllowed ? ", the rest spent by this pass" : ""
          }); pod ${p.namespace}/${p.name} cannot be evicted`,
        );
      }
    }
    return undefined;
  }

  /** `check` for several nodes taken together: each spends its budgets before the next is checked. */
  checkEach(groups: readonly (readonly Pod[])[]): Reason | undefined {
    const saved = new Map(this.#left);
    try {
      for (const g of groups) {
        const r = this.check(g);
        if (r) return r;
        this.commit(g);
      }
      return undefined;
    } finally {
      for (const [b, n] of saved) this.#left.set(b, n);
    }
  }

  /** Spends the budgets for `pods`, which the pass has decided to evict. */
  commit(pods: readonly Pod[]): void {
    for (const p of pods) {
      for (const b of this.covering(p)) this.#left.set(b, (this.#left.get(b) ?? 0) - 1);
    }
  }

  /** Evictions a budget has left in this pass. */
  left(b: PodDisruptionBudget): number {
    return this.#left.get(b) ?? 0;
  }
}
