/**
 * One disruption pass's shared context: the facts (core/disruption_candidates.ts), the guards,
 * the PDB ledger and the rescheduling simulation that every method reads and commits into, the
 * commands planned so far, and the verdict kept for each node. The methods themselves live in
 * core/disruption_method_*.ts; core/disruption.ts runs them in order and returns `plan()`.
 *
 * Built, a pass has already placed pending pods and the pods of leaving nodes first
 * (core/disruption_reserve.ts) and found which candidates are unneeded now (empty, or their pods
 * fit elsewhere more cheaply) and since when.
 *
 * May import: core/ only.
 */
import type { Config, Pod, Snapshot } from "./model.ts";
import { podKey } from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import { allowance, BUDGET_REASONS } from "./disruption_budgets.ts";
import type {
  BudgetStatus,
  CandidateVerdict,
  DisruptionCommand,
  DisruptionMethodName,
  DisruptionPlan,
  DisruptionState,
  InFlightCommand,
} from "./disruption_plan.ts";
import { DisruptionGuards } from "./disruption_guards.ts";
import { buildWorld, type Candidate, poolCounts, type World } from "./disruption_candidates.ts";
import { PdbLedger } from "./disruption_pdb.ts";
import { type SimOutcome, Simulator } from "./disruption_simulation.ts";
import { type Nominations, type Provisioned, reserveFirst } from "./disruption_reserve.ts";
import { stillInFlight } from "./disruption_in_flight.ts";
import { formatDuration } from "./duration.ts";
import { podSetDigest } from "./pod_set_digest.ts";
import { sortSmall } from "./small_sort.ts";
import { CAPACITY_TYPE_LABEL_KEY } from "./labels.ts";

/**
 * How strongly a verdict explains a kept node: a later method's reason does not hide an earlier,
 * weightier one (drift or expiry is not hidden by consolidation's).
 */
export const VerdictWeight = { Base: 0, Consolidation: 1, Forced: 2 } as const;
/** One of VerdictWeight's values. */
export type VerdictWeight = (typeof VerdictWeight)[keyof typeof VerdictWeight];

/** A simulation that placed every pod. */
export type PlacedOutcome = SimOutcome & { ok: true };

/** The state methods share within one pass, and the checks more than one method applies. */
export class DisruptionPass {
  /** The snapshot's time (epoch ms). */
  readonly now: number;
  /** PodDisruptionBudgets, spent as the pass plans evictions. */
  readonly ledger: PdbLedger;
  /** Facts per NodeClaim and the room on every node. */
  readonly world: World;
  /** Where pods go if their nodes are taken away. */
  readonly sim: Simulator;
  /** Budgets, maxConcurrent and minNodes, counting what the pass has planned. */
  readonly guards: DisruptionGuards;
  /** Commands planned so far, in the order they were committed. */
  readonly commands: DisruptionCommand[] = [];
  /** Candidates a committed command takes away. */
  readonly chosen = new Set<Candidate>();
  /** Candidates unneeded now, with since when (epoch ms). */
  readonly unneeded = new Map<Candidate, number>();
  /** Commands of earlier passes still waiting on their replacements. */
  readonly inFlight: InFlightCommand[];
  /** Per claim: the digest of its node's pods and when it last changed (passed to the next pass). */
  readonly podEvents: Record<string, { pods: string; at: number }> = dictionary();
  readonly #why = new Map<Candidate, { r: Reason; w: VerdictWeight }>();
  readonly #firstSim = new Map<Candidate, SimOutcome>();
  readonly #nominated: Nominations;
  #simulations = 0;
  /** Bumped by every commit: a simulation from an older version is stale. */
  #version = 0;

  /** Prepares a pass: facts, room for pending and leaving pods, and which nodes are unneeded. */
  constructor(
    readonly snap: Snapshot,
    readonly config: Config,
    readonly state: DisruptionState,
    provisioned?: Provisioned,
  ) {
    this.now = snap.now;
    this.ledger = new PdbLedger(snap.pdbs);
    this.inFlight = stillInFlight(snap, config, state.inFlight ?? []);
    const held = new Map<string, string[]>();
    for (const f of this.inFlight) for (const n of f.nodeClaims) held.set(n, f.replacements);
    this.world = buildWorld(snap, config, this.ledger, held);
    this.#podEvents();
    this.guards = new DisruptionGuards(this.world, this.now);
    this.#nominated = reserveFirst(this.world, snap, config, provisioned);
    this.sim = new Simulator(this.world, snap, config);
    this.#findUnneeded();
  }

  /** Rescheduling simulations run so far. */
  get simulations(): number {
    return this.#simulations;
  }

  /** Simulates taking `cands` away (counted in `simulations`). */
  simulate(cands: readonly Candidate[], maxReplacements: number, costCap = Infinity): SimOutcome {
    this.#simulations += 1;
    return this.sim.simulate(cands, maxReplacements, costCap);
  }

  /**
   * The simulation made while finding unneeded nodes, if it still holds: nothing has been
   * committed since.
   */
  firstSimulation(c: Candidate): SimOutcome | undefined {
    return this.#version === 0 ? this.#firstSim.get(c) : undefined;
  }

  /**
   * consolidateAfter counts from the last pod event on the node: a bind (seen in the pod's
   * bind time), or a pod leaving or finishing (seen as a change of the node's pod set since
   * the previous pass).
   */
  #podEvents() {
    const prev = this.state.podEvents ?? {};
    for (const c of this.world.candidates) {
      // Order-free digest of the pod set: count and the sum of the pods' uid hashes.
      const pods = podSetDigest(c.claim.name, c.movers);
      const had = prev[c.claim.name];
      const at = !had ? c.lastActivity : had.pods === pods ? had.at : this.now;
      c.lastActivity = Math.max(c.lastActivity, at);
      this.podEvents[c.claim.name] = { pods, at: c.lastActivity };
    }
  }

  /** Keeps the node this pass when provisioning is about to bind pods to it. */
  nominatedBlock(c: Candidate): Reason | undefined {
    const n = this.#nominated.get(c.slot);
    if (!n) return undefined;
    const parts: string[] = [];
    if (n.pending > 0) parts.push(`${n.pending} pending pod${n.pending === 1 ? "" : "s"}`);
    if (n.leaving > 0) {
      parts.push(
        `${n.leaving} pod${n.leaving === 1 ? "" : "s"} of nodes already being disrupted`,
      );
    }
    return reason(
      "Unconsolidatable",
      `node ${c.node.name} is about to receive ${parts.join(" and ")}`,
    );
  }

  /** Records why `c` stays, unless a weightier reason is already recorded. */
  note(c: Candidate, r: Reason, w: VerdictWeight): void {
    const had = this.#why.get(c);
    if (!had || had.w <= w) this.#why.set(c, { r, w });
  }

  /** Graceful candidacy shared by emptiness and consolidation, before budgets. */
  #gracefulBlock(c: Candidate): Reason | undefined {
    if (c.pinned) return c.pinned;
    if (c.blocked) return c.blocked;
    const nominated = this.nominatedBlock(c);
    if (nominated) return nominated;
    const pdb = this.ledger.check(c.movers);
    if (pdb) return pdb;
    const after = c.pool.disruption.consolidateAfter;
    if (after === null) {
      return reason(
        "Unconsolidatable",
        `pool '${c.pool.name}' has consolidateAfter: Never`,
      );
    }
    const quiet = this.now - c.lastActivity;
    if (quiet < after) {
      return reason(
        "StabilizationWindow",
        `last pod event on the node ${formatDuration(quiet)} ago; consolidateAfter is ${
          formatDuration(after)
        }`,
      );
    }
    return undefined;
  }

  /** Every candidate: is it unneeded now (empty, or its pods fit elsewhere more cheaply)? */
  #findUnneeded() {
    for (const c of this.world.candidates) {
      const block = this.#gracefulBlock(c);
      if (block) {
        this.note(c, block, VerdictWeight.Base);
        continue;
      }
      if (c.movers.length > 0) {
        if (c.pool.disruption.consolidationPolicy === "WhenEmpty") {
          this.note(
            c,
            reason(
              "Unconsolidatable",
              `pool '${c.pool.name}' consolidates only empty nodes (WhenEmpty); ${c.movers.length} pods run here`,
            ),
            VerdictWeight.Base,
          );
          continue;
        }
        // A Balanced pool refuses a move whose best case (deleting the node outright, saving its
        // whole price) does not save enough for its pods: no simulation can do better.
        const hopeless = this.#unbalanced(c.cost, [c]);
        if (hopeless) {
          this.note(c, hopeless, VerdictWeight.Base);
          continue;
        }
        // A replacement must cost less than the node: the cap skips simulating one that cannot.
        const r = this.simulate([c], 1, c.cost);
        const cheaper = this.cheaper(r, c.cost, [c]);
        if (cheaper) {
          this.note(c, cheaper, VerdictWeight.Base);
          continue;
        }
        this.#firstSim.set(c, r);
      }
      const since = this.state.unneededSince[c.claim.name] ?? this.now;
      this.unneeded.set(c, Math.min(since, this.now));
    }
  }

  /**
   * Undefined when the outcome places every pod and, if it launches a replacement, saves at
   * least the pools' minSavingsFraction of `cost` (strictly less cost when the fraction is 0).
   */
  cheaper(r: SimOutcome, cost: number, cands: readonly Candidate[]): Reason | undefined {
    if (!r.ok) return r.reason;
    const unbalanced = this.#unbalanced(cost - r.replacementCost, cands);
    if (unbalanced) return unbalanced;
    if (r.replacements.length === 0) return undefined;
    if (!(r.replacementCost < cost)) {
      return reason(
        "Unconsolidatable",
        `a replacement (${r.replacements.map((x) => x.shape.name).join(", ")}) would cost ${
          r.replacementCost.toFixed(4)
        }/h, not less than the ${cost.toFixed(4)}/h it replaces`,
      );
    }
    let min = 0;
    for (const c of cands) min = Math.max(min, c.pool.disruption.minSavingsFraction ?? 0);
    const saved = cost - r.replacementCost;
    if (min > 0 && saved < min * cost) {
      return reason(
        "InsufficientSavings",
        `a replacement (${r.replacements.map((x) => x.shape.name).join(", ")}) saves ${
          saved.toFixed(4)
        }/h, ${Math.round(saved / cost * 100)}% of ${cost.toFixed(4)}/h; the pool asks at least ${
          Math.round(min * 100)
        }% (minSavingsFraction) before a replacement is worth its churn`,
      );
    }
    return undefined;
  }

  /** Per Balanced pool: the cost and the disruption cost of its candidates (made on first need). */
  #poolTotals: Map<string, { cost: number; disruption: number }> | undefined;

  /**
   * Balanced consolidation (Karpenter's `consolidationPolicy: Balanced`): a move that saves
   * `saved` per hour by disrupting `cands` passes when its share of the pools' cost saved,
   * divided by its share of their disruption cost, is at least 1/k (k = consolidationThreshold,
   * 2 by default; the strictest k of the Balanced pools involved). Totals are over the pools of
   * the Balanced candidates. Undefined when it passes or no candidate's pool is Balanced.
   */
  #unbalanced(saved: number, cands: readonly Candidate[]): Reason | undefined {
    let k = Infinity;
    for (const c of cands) {
      if (c.pool.disruption.consolidationPolicy === "Balanced") {
        k = Math.min(k, c.pool.disruption.consolidationThreshold ?? 2);
      }
    }
    if (k === Infinity) return undefined;
    if (!this.#poolTotals) {
      this.#poolTotals = new Map();
      for (const c of this.world.candidates) {
        const t = this.#poolTotals.get(c.pool.name) ?? { cost: 0, disruption: 0 };
        t.cost += c.cost;
        t.disruption += c.disruptionCost;
        this.#poolTotals.set(c.pool.name, t);
      }
    }
    let poolCost = 0;
    let poolDisruption = 0;
    let disruption = 0;
    const seen = new Set<string>();
    for (const c of cands) {
      disruption += c.disruptionCost;
      if (c.pool.disruption.consolidationPolicy !== "Balanced" || seen.has(c.pool.name)) continue;
      seen.add(c.pool.name);
      const t = this.#poolTotals.get(c.pool.name)!;
      poolCost += t.cost;
      poolDisruption += t.disruption;
    }
    const score = saved > 0 && poolCost > 0
      ? (saved / poolCost) / (disruption / poolDisruption)
      : 0;
    if (score >= 1 / k) return undefined;
    return reason(
      "InsufficientSavings",
      `the move saves ${saved.toFixed(4)}/h, ${pct(saved / poolCost)} of the pool's cost, for ${
        pct(disruption / poolDisruption)
      } of its disruption cost (score ${score.toFixed(2)}); a Balanced pool asks at least ${
        (1 / k).toFixed(2)
      } (consolidationThreshold ${k})`,
    );
  }

  /** Has the candidate been unneeded for the pool's whole stabilization window? */
  windowBlock(c: Candidate): Reason | undefined {
    const since = this.unneeded.get(c);
    if (since === undefined) return undefined;
    const window = c.pool.scaleDown.stabilizationWindow;
    const long = this.now - since;
    if (long >= window) return undefined;
    return reason(
      "StabilizationWindow",
      `node unneeded for ${formatDuration(long)}; pool '${c.pool.name}' waits ${
        formatDuration(window)
      } (scaleDown.stabilizationWindow)`,
    );
  }

  /** Keeps a node that receives pods of a node disrupted earlier in this pass. */
  received(c: Candidate): Reason | undefined {
    if (!this.sim.received(c.slot)) return undefined;
    return reason(
      "Unconsolidatable",
      `node ${c.node.name} receives pods of a node disrupted in this pass`,
    );
  }

  /**
   * Candidates for consolidation (unneeded, with pods, not yet chosen): those on preemptible
   * hosts first when their pool prefers it, then best savings first.
   */
  consolidatable(): Candidate[] {
    const list = this.world.candidates.filter((c) =>
      this.unneeded.has(c) && c.movers.length > 0 && !this.chosen.has(c)
    );
    list.sort((a, b) =>
      offPreemptible(b) - offPreemptible(a) || b.savingsRatio - a.savingsRatio ||
      cmp(a.claim.name, b.claim.name)
    );
    return list;
  }

  /**
   * Plans a command: spends its PDBs, budgets and room in the simulation, and appends it to
   * `commands` (returned).
   */
  commit(
    method: DisruptionMethodName,
    r: Reason,
    cands: readonly Candidate[],
    outcome: PlacedOutcome,
    cost: number,
  ): DisruptionCommand {
    this.sim.commit(cands, outcome);
    const movers = cands.flatMap((c) => c.movers);
    this.ledger.commit(movers);
    const from = new Map<Pod, string>();
    for (const c of cands) {
      this.chosen.add(c);
      for (const p of c.movers) from.set(p, c.node.name);
    }
    this.guards.record(cands, outcome.replacements);
    this.#version += 1;
    const evictions = outcome.moves.map((m) => ({
      pod: podKey(m.pod),
      uid: m.pod.uid,
      from: from.get(m.pod) ?? "",
      to: m.to,
      kind: m.kind,
    }));
    const nodes = cands.map((c) => ({
      nodeClaim: c.claim.name,
      node: c.node.name,
      nodePool: c.pool.name,
    }));
    const command: DisruptionCommand = {
      method,
      reason: r,
      candidates: nodes,
      replacements: outcome.replacements,
      evictions,
      savings: cost - outcome.replacementCost,
    };
    this.commands.push(command);
    return command;
  }

  /** The pass's result: its commands, a verdict per NodeClaim, budgets and the next state. */
  plan(): DisruptionPlan {
    const verdicts: CandidateVerdict[] = [];
    const byClaim = new Map<string, CandidateVerdict>();
    for (const cmd of this.commands) {
      for (const n of cmd.candidates) {
        byClaim.set(n.nodeClaim, {
          nodeClaim: n.nodeClaim,
          node: n.node,
          nodePool: n.nodePool,
          disrupt: true,
          reason: cmd.reason,
        });
      }
    }
    for (const c of this.world.candidates) {
      if (byClaim.has(c.claim.name)) continue;
      byClaim.set(c.claim.name, {
        nodeClaim: c.claim.name,
        node: c.node.name,
        nodePool: c.pool.name,
        disrupt: false,
        reason: this.#why.get(c)?.r ??
          reason("Unconsolidatable", `node ${c.node.name} is needed: nothing to gain`),
      });
    }
    for (const e of this.world.excluded) {
      byClaim.set(e.claim.name, {
        nodeClaim: e.claim.name,
        ...(e.node ? { node: e.node.name } : {}),
        nodePool: e.claim.nodePool,
        disrupt: false,
        reason: e.reason,
      });
    }
    for (const k of sortSmall([...byClaim.keys()], cmp)) verdicts.push(byClaim.get(k)!);

    const unneededSince: Record<string, number> = dictionary();
    for (const [c, since] of this.unneeded) unneededSince[c.claim.name] = since;
    const inFlight = [...this.inFlight];
    for (const cmd of this.commands) {
      if (cmd.replacements.length === 0) continue;
      inFlight.push({
        nodeClaims: cmd.candidates.map((n) => n.nodeClaim),
        replacements: cmd.replacements.map((r) => r.name),
        since: this.now,
      });
    }

    const budgets: BudgetStatus[] = [];
    for (const pool of this.config.nodePools) {
      const counts = poolCounts(this.world, pool.name);
      for (const why of BUDGET_REASONS) {
        const a = allowance(pool, why, counts.total, counts.inFlight, this.now);
        budgets.push({
          nodePool: pool.name,
          reason: why,
          allowed: Number.isFinite(a.allowed) ? a.allowed : counts.total,
          why: a.why,
        });
      }
    }
    return {
      commands: this.commands,
      verdicts,
      budgets,
      state: {
        unneededSince,
        ...(inFlight.length > 0 ? { inFlight } : {}),
        podEvents: this.podEvents,
      },
      simulations: this.#simulations,
    };
  }
}

/**
 * An empty record keyed by NodeClaim names. Each pass makes new ones under names that come and
 * go; made without a prototype, V8 keeps them as hash tables from the start instead of minting a
 * hidden class for every new sequence of names (which made the lookups of the next pass slow).
 * JSON and Object.keys see the same entries as in a plain object.
 */
function dictionary<V>(): Record<string, V> {
  return Object.create(null);
}

/** Orders names by UTF-16 code units, the same on every machine. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A fraction as a whole percentage ("<1%" for a small positive one). */
function pct(f: number): string {
  const p = Math.round(f * 100);
  return p === 0 && f > 0 ? "<1%" : `${p}%`;
}

/** 1 for a node on a preemptible host of a pool that prefers moving pods off them, else 0. */
function offPreemptible(c: Candidate): number {
  return c.pool.disruption.preferOffPreemptible === true &&
      c.claim.labels[CAPACITY_TYPE_LABEL_KEY] === "preemptible"
    ? 1
    : 0;
}
