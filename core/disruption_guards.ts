/**
 * The per-pool guards of one disruption pass, re-checked for every deletion it plans: budgets per
 * reason and scaleDown.maxConcurrent (both counting disruptions already in flight and those
 * planned earlier in the pass), and minNodes (counting the replacements that launch first).
 */
import type { NodePool } from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import type { PlannedClaim } from "./provisioning.ts";
import { allowance, type BudgetReason } from "./disruption_budgets.ts";
import { type Candidate, poolCounts, type World } from "./disruption_candidates.ts";

/** Deletions and replacements planned so far in the pass, and the checks that use them. */
export class DisruptionGuards {
  readonly #world: World;
  readonly #now: number;
  /** Deletions and replacements planned in this pass, per pool. */
  readonly deleted = new Map<string, number>();
  readonly replaced = new Map<string, number>();

  constructor(world: World, now: number) {
    this.#world = world;
    this.#now = now;
  }

  /** Budgets and maxConcurrent for taking `cands` away now for `why`. */
  budget(cands: readonly Candidate[], why: BudgetReason): Reason | undefined {
    const per = new Map<NodePool, number>();
    for (const c of cands) per.set(c.pool, (per.get(c.pool) ?? 0) + 1);
    for (const [pool, k] of per) {
      if (pool.paused) return reason("Paused", `NodePool '${pool.name}' is paused`);
      const counts = poolCounts(this.#world, pool.name);
      const planned = this.deleted.get(pool.name) ?? 0;
      const max = pool.scaleDown.maxConcurrent;
      if (counts.disrupting + planned + k > max) {
        return reason(
          "MaxConcurrentReached",
          `pool '${pool.name}' has ${counts.disrupting} disruptions in flight and ${planned} planned in this pass (scaleDown.maxConcurrent ${max})`,
        );
      }
      const a = allowance(pool, why, counts.total, counts.inFlight, this.#now);
      if (planned + k > a.allowed) {
        return reason(
          "BudgetExhausted",
          `pool '${pool.name}' allows ${a.allowed} ${why} disruptions now (${a.why}, ${counts.inFlight} NotReady or in flight), ${planned} already planned in this pass`,
        );
      }
    }
    return undefined;
  }

  /** Would taking `cands` away (with `replacements` launched) drop a pool below minNodes? */
  minNodes(cands: readonly Candidate[], replacements: readonly PlannedClaim[]): Reason | undefined {
    const delta = new Map<string, number>();
    for (const c of cands) delta.set(c.pool.name, (delta.get(c.pool.name) ?? 0) - 1);
    for (const r of replacements) delta.set(r.nodePool, (delta.get(r.nodePool) ?? 0) + 1);
    for (const [name, d] of delta) {
      if (d >= 0) continue;
      const pool = this.#world.pools.get(name);
      if (!pool) continue;
      const before = poolCounts(this.#world, name).live - (this.deleted.get(name) ?? 0) +
        (this.replaced.get(name) ?? 0);
      if (before + d < pool.minNodes) {
        return reason(
          "MinNodes",
          `pool '${name}' keeps at least ${pool.minNodes} nodes (${before} now, ${
            before + d
          } after this)`,
        );
      }
    }
    return undefined;
  }

  /** Counts a planned command against its pools. */
  record(cands: readonly Candidate[], replacements: readonly PlannedClaim[]): void {
    for (const c of cands) this.deleted.set(c.pool.name, (this.deleted.get(c.pool.name) ?? 0) + 1);
    for (const r of replacements) {
      this.replaced.set(r.nodePool, (this.replaced.get(r.nodePool) ?? 0) + 1);
    }
  }
}
