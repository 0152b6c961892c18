/**
 * Disruption: which nodes to take away now, how, and why the others stay. Methods run in
 * Karpenter's order: emptiness, drift, expiration, multi-node consolidation,
 * single-node consolidation. Every managed node is evaluated in every pass (no sampling, no time
 * cap) and gets a verdict with a Reason. Guards, re-checked for each deletion: do-not-disrupt in
 * every spelling, Cluster Autoscaler's pod rules, PodDisruptionBudgets (spent as the pass plans
 * evictions), disruption budgets per reason, scaleDown.maxConcurrent, minNodes, consolidateAfter
 * and scaleDown.stabilizationWindow (a node must stay unneeded for the whole window, tracked in
 * the state the caller passes back in). Before any candidate is simulated, pending pods and the
 * pods of nodes already being disrupted (including those of commands still waiting on their
 * replacements, remembered in the state) take their room, as in Karpenter's simulation.
 * Pure: snapshot, config and state in; plan and state out.
 *
 * May import: core/ only.
 */
import type { Config, Node, Pod, Snapshot } from "./model.ts";
import { podKey } from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import { provision, type ProvisionPlan } from "./provisioning.ts";
import { podRequests } from "./pod_requests.ts";
import { allowance, BUDGET_REASONS } from "./disruption_budgets.ts";
import type {
  BudgetStatus,
  CandidateVerdict,
  DisruptionCommand,
  DisruptionMethod,
  DisruptionPlan,
  DisruptionState,
  InFlightCommand,
} from "./disruption_plan.ts";
import { DisruptionGuards } from "./disruption_guards.ts";
import {
  buildWorld,
  type Candidate,
  isDisrupting,
  poolCounts,
  type World,
} from "./disruption_candidates.ts";
import { PdbLedger } from "./disruption_pdb.ts";
import { type SimOutcome, Simulator } from "./disruption_simulation.ts";
import { formatDuration } from "./duration.ts";
import { base36, fnv1aMemo } from "./hash.ts";

export type {
  BudgetStatus,
  CandidateVerdict,
  DisruptedNode,
  DisruptionCommand,
  DisruptionMethod,
  DisruptionPlan,
  DisruptionState,
  InFlightCommand,
  PlannedEviction,
} from "./disruption_plan.ts";

/** An empty state, for the first pass. */
export function initialDisruptionState(): DisruptionState {
  return { unneededSince: {} };
}

/** Decides this pass's disruptions. Deterministic: same inputs, same plan. */
export function disrupt(
  snapshot: Snapshot,
  config: Config,
  state: DisruptionState = initialDisruptionState(),
  provisioned?: Provisioned,
): DisruptionPlan {
  return new Pass(snapshot, config, state, provisioned).run();
}

/**
 * The provisioning plan the same pass already made, and the snapshot it was made on. When no
 * node is leaving, the pass would ask provisioning the very same question (where the pending
 * pods go) on the very same snapshot; the answer is reused instead of computed twice. It is
 * used only when `snapshot` and `config` are the objects disrupt was given, so a stale plan
 * cannot leak in.
 */
export type Provisioned = { snapshot: Snapshot; config: Config; plan: ProvisionPlan };

const MULTI_NODE_CAP = 100;

/** How strongly a verdict explains a kept node: later methods do not hide drift or expiry. */
const Weight = { Base: 0, Consolidation: 1, Forced: 2 } as const;
type Weight = (typeof Weight)[keyof typeof Weight];

class Pass {
  readonly now: number;
  readonly ledger: PdbLedger;
  readonly world: World;
  readonly sim: Simulator;
  readonly commands: DisruptionCommand[] = [];
  readonly chosen = new Set<Candidate>();
  readonly why = new Map<Candidate, { r: Reason; w: Weight }>();
  readonly guards: DisruptionGuards;
  readonly unneeded = new Map<Candidate, number>();
  readonly firstSim = new Map<Candidate, SimOutcome>();
  simulations = 0;
  /** Bumped by every commit: a simulation from an older version is stale. */
  version = 0;

  constructor(
    readonly snap: Snapshot,
    readonly config: Config,
    readonly state: DisruptionState,
    readonly provisioned?: Provisioned,
  ) {
    this.now = snap.now;
    this.ledger = new PdbLedger(snap.pdbs);
    this.inFlight = stillInFlight(snap, config, state.inFlight ?? []);
    const held = new Map<string, string[]>();
    for (const f of this.inFlight) for (const n of f.nodeClaims) held.set(n, f.replacements);
    this.world = buildWorld(snap, config, this.ledger, held);
    this.#podEvents();
    this.guards = new DisruptionGuards(this.world, this.now);
    this.#reserveFirst();
    this.sim = new Simulator(this.world, snap, config);
  }

  /** Per claim: the digest of its node's pods and when it last changed (passed to the next pass). */
  readonly podEvents: Record<string, { pods: string; at: number }> = {};

  /**
   * consolidateAfter counts from the last pod event on the node: a bind (seen in the pod's
   * bind time), or a pod leaving or finishing (seen as a change of the node's pod set since
   * the previous pass).
   */
  #podEvents() {
    const prev = this.state.podEvents ?? {};
    for (const c of this.world.candidates) {
      // Order-free digest of the pod set: count and the sum of the pods' uid hashes.
      let sum = 0;
      for (const p of c.movers) sum = (sum + fnv1aMemo(p.uid)) >>> 0;
      const pods = `${c.movers.length}:${base36(sum)}`;
      const had = prev[c.claim.name];
      const at = !had ? c.lastActivity : had.pods === pods ? had.at : this.now;
      c.lastActivity = Math.max(c.lastActivity, at);
      this.podEvents[c.claim.name] = { pods, at: c.lastActivity };
    }
  }

  /** Commands of earlier passes still waiting on their replacements. */
  readonly inFlight: InFlightCommand[];

  /**
   * Nodes provisioning will bind pods to (Karpenter's nomination): how many pending pods, and
   * how many pods of nodes already being disrupted, each gets.
   */
  readonly nominated = new Map<number, { pending: number; leaving: number }>();

  /**
   * Pods that need room before any candidate's come first, as in Karpenter's simulation:
   * pending pods, and the pods of nodes already being disrupted (tainted, deleting, or waiting
   * on replacements), which their drain is about to make pending. Provisioning places them on
   * the room of existing nodes, then on launching NodeClaims (such as those nodes'
   * replacements), then on new VMs; the room it gives them on existing nodes is not offered to
   * pods moved by consolidation, and those nodes stay this pass.
   */
  #reserveFirst() {
    const leaving = new Set(this.world.leavingPods);
    const pending = this.snap.pods.some((p) => p.nodeName === undefined && p.phase === "Pending");
    if (!pending && leaving.size === 0) return;
    let input = this.snap;
    if (leaving.size > 0) {
      const slots = this.world.slots;
      input = {
        ...this.snap,
        pods: this.snap.pods.map((p) => leaving.has(p) ? asPending(p, this.now) : p),
        // Their drained pods do not come back to them.
        nodes: this.snap.nodes.map((n): Node => {
          const i = this.world.slotByName.get(n.name);
          return i !== undefined && slots[i]!.leaving && !n.unschedulable
            ? { ...n, unschedulable: true }
            : n;
        }),
      };
    }
    const given = this.provisioned;
    const plan = leaving.size === 0 && given?.snapshot === this.snap && given.config === this.config
      ? given.plan
      : provision(input, this.config);
    let byKey: Map<string, Pod> | undefined; // built for the first placement on a node
    const { podsOn, slotByName, slots } = this.world;
    for (const pl of plan.placements) {
      if (pl.kind !== "node") continue;
      const slot = slotByName.get(pl.target);
      byKey ??= new Map(this.snap.pods.map((p) => [podKey(p), p]));
      const pod = byKey.get(pl.pod);
      if (slot === undefined || !pod) continue;
      const r = podRequests(pod);
      const s = slots[slot]!;
      s.freeCpu -= r.cpu;
      s.freeMemory -= r.memory;
      s.freePods -= 1;
      // Topology (anti-affinity, spread) sees the pod where it is about to run.
      podsOn[slot]!.push(pod);
      const n = this.nominated.get(slot) ?? { pending: 0, leaving: 0 };
      if (leaving.has(pod)) n.leaving += 1;
      else n.pending += 1;
      this.nominated.set(slot, n);
    }
    // Leaving pods no longer count where they are now; those without existing room will run on
    // a launching or new VM, which no candidate's pod can be moved onto.
    for (let i = 0; i < slots.length; i++) {
      if (slots[i]!.leaving) podsOn[i] = podsOn[i]!.filter((p) => !leaving.has(p));
    }
  }

  #nominatedBlock(c: Candidate): Reason | undefined {
    const n = this.nominated.get(c.slot);
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

  note(c: Candidate, r: Reason, w: Weight) {
    const had = this.why.get(c);
    if (!had || had.w <= w) this.why.set(c, { r, w });
  }

  run(): DisruptionPlan {
    this.#findUnneeded();
    this.#emptiness();
    this.#forced("Drift");
    this.#forced("Expiration");
    this.#multiNode();
    this.#singleNode();
    return this.#plan();
  }

  /** Graceful candidacy shared by emptiness and consolidation, before budgets. */
  #gracefulBlock(c: Candidate): Reason | undefined {
    if (c.pinned) return c.pinned;
    if (c.blocked) return c.blocked;
    const nominated = this.#nominatedBlock(c);
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
        this.note(c, block, Weight.Base);
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
            Weight.Base,
          );
          continue;
        }
        // A replacement must cost less than the node: the cap skips simulating one that cannot.
        const r = this.sim.simulate([c], 1, c.cost);
        this.simulations += 1;
        const cheaper = this.#cheaper(r, c.cost, [c]);
        if (cheaper) {
          this.note(c, cheaper, Weight.Base);
          continue;
        }
        this.firstSim.set(c, r);
      }
      const since = this.state.unneededSince[c.claim.name] ?? this.now;
      this.unneeded.set(c, Math.min(since, this.now));
    }
  }

  /**
   * Undefined when the outcome places every pod and, if it launches a replacement, saves at
   * least the pools' minSavingsFraction of `cost` (strictly less cost when the fraction is 0).
   */
  #cheaper(r: SimOutcome, cost: number, cands: readonly Candidate[]): Reason | undefined {
    if (!r.ok) return r.reason;
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

  /** Has the candidate been unneeded for the pool's whole stabilization window? */
  #windowBlock(c: Candidate): Reason | undefined {
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

  #commit(
    method: DisruptionMethod,
    r: Reason,
    cands: readonly Candidate[],
    outcome: SimOutcome & { ok: true },
    cost: number,
  ) {
    this.sim.commit(cands, outcome);
    const movers = cands.flatMap((c) => c.movers);
    this.ledger.commit(movers);
    const from = new Map<Pod, string>();
    for (const c of cands) {
      this.chosen.add(c);
      for (const p of c.movers) from.set(p, c.node.name);
    }
    this.guards.record(cands, outcome.replacements);
    this.version += 1;
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
    const savings = cost - outcome.replacementCost;
    const last = this.commands[this.commands.length - 1];
    if (method === "Emptiness" && last?.method === "Emptiness") {
      // Emptiness deletes all its nodes in one command, as Karpenter does.
      last.candidates.push(...nodes);
      last.savings += savings;
      last.reason = reason(
        "Empty",
        `${last.candidates.length} empty nodes (${
          last.candidates.map((n) => n.node).join(", ")
        }) save ${last.savings.toFixed(4)}/h`,
      );
    } else {
      this.commands.push({
        method,
        reason: r,
        candidates: nodes,
        replacements: outcome.replacements,
        evictions,
        savings,
      });
    }
  }

  #emptiness() {
    const list = this.world.candidates.filter((c) => this.unneeded.has(c) && c.movers.length === 0);
    list.sort((a, b) => b.cost - a.cost || cmp(a.claim.name, b.claim.name));
    for (const c of list) {
      const block = this.#windowBlock(c) ?? this.guards.budget([c], "Empty") ??
        this.guards.minNodes([c], []);
      if (block) {
        this.note(c, block, Weight.Consolidation);
        continue;
      }
      const r = reason(
        "Empty",
        `node ${c.node.name} runs no pods that need a home; removing it saves ${
          c.cost.toFixed(4)
        }/h`,
      );
      this.#commit("Emptiness", r, [c], NOTHING, c.cost);
    }
  }

  /** Drift and expiration: replace first (any number of new VMs), within their own budgets. */
  #forced(method: "Drift" | "Expiration") {
    const drift = method === "Drift";
    // A claim whose NodePool was removed is replaced like a drifted one, within budgets.
    const list = this.world.candidates.filter((c) =>
      !this.chosen.has(c) &&
      (drift
        ? c.driftedAt !== undefined || c.poolRemoved
        : c.expiresAt !== undefined && c.expiresAt <= this.now)
    );
    list.sort((a, b) =>
      (a.movers.length === 0 ? 0 : 1) - (b.movers.length === 0 ? 0 : 1) ||
      (drift ? (a.driftedAt ?? 0) - (b.driftedAt ?? 0) : a.expiresAt! - b.expiresAt!) ||
      cmp(a.claim.name, b.claim.name)
    );
    const budgetCode = drift ? "Drifted" : "Expired";
    for (const c of list) {
      const code = c.poolRemoved && drift ? "NodePoolRemoved" : budgetCode;
      // Past terminationGracePeriod since it expired or drifted, the method is forceful:
      // do-not-disrupt and PodDisruptionBudgets no longer hold it (a local volume still does).
      const since = drift ? c.driftedAt : c.expiresAt;
      const grace = c.pool.disruption.terminationGracePeriod;
      const forceful = since !== undefined && grace !== null && this.now >= since + grace;
      const block = c.pinned ?? (forceful ? undefined : c.blocked) ?? this.#nominatedBlock(c) ??
        (forceful ? undefined : this.ledger.check(c.movers)) ?? this.#received(c) ??
        this.guards.budget([c], budgetCode);
      if (block) {
        this.note(c, block, Weight.Forced);
        continue;
      }
      const r = this.sim.simulate([c], Infinity);
      this.simulations += 1;
      const after = r.ok ? this.guards.minNodes([c], r.replacements) : r.reason;
      if (!r.ok || after) {
        this.note(c, after!, Weight.Forced);
        continue;
      }
      const what = code === "NodePoolRemoved"
        ? `NodePool '${c.pool.name}' of NodeClaim ${c.claim.name} was removed`
        : drift
        ? `NodeClaim ${c.claim.name} drifted${
          forceful ? " past terminationGracePeriod (forceful)" : ""
        }`
        : `NodeClaim ${c.claim.name}${forceful ? " (forceful)" : ""} passed expireAfter ${
          formatDuration(c.pool.disruption.expireAfter)
        } (created ${formatDuration(this.now - c.claim.createdAt)} ago)`;
      this.#commit(
        method,
        reason(
          code,
          `${what}; ${c.movers.length} pods move, ${r.replacements.length} replacement VMs launch first`,
        ),
        [c],
        r,
        c.cost,
      );
    }
  }

  #received(c: Candidate): Reason | undefined {
    if (!this.sim.received(c.slot)) return undefined;
    return reason(
      "Unconsolidatable",
      `node ${c.node.name} receives pods of a node disrupted in this pass`,
    );
  }

  /** Candidates for consolidation, best savings first. */
  #consolidatable(): Candidate[] {
    const list = this.world.candidates.filter((c) =>
      this.unneeded.has(c) && c.movers.length > 0 && !this.chosen.has(c)
    );
    list.sort((a, b) => b.savingsRatio - a.savingsRatio || cmp(a.claim.name, b.claim.name));
    return list;
  }

  /** The longest prefix whose pods fit elsewhere plus at most one cheaper VM (binary search). */
  #multiNode() {
    const prefix: Candidate[] = [];
    for (const c of this.#consolidatable()) {
      if (prefix.length >= MULTI_NODE_CAP) break;
      if (this.#windowBlock(c) || this.#received(c)) continue;
      const next = [...prefix, c];
      if (this.guards.budget(next, "Underutilized") || this.guards.minNodes(next, [])) continue;
      prefix.push(c);
    }
    if (prefix.length < 2) return;
    let lo = 2;
    let hi = prefix.length;
    let best: { k: number; r: SimOutcome & { ok: true }; cost: number } | undefined;
    while (lo <= hi) {
      const k = (lo + hi) >> 1;
      const set = prefix.slice(0, k);
      const cost = set.reduce((s, c) => s + c.cost, 0);
      let ok = this.ledger.checkEach(set.map((c) => c.movers)) === undefined;
      let r: SimOutcome | undefined;
      if (ok) {
        r = this.sim.simulate(set, 1, cost);
        this.simulations += 1;
        ok = this.#cheaper(r, cost, set) === undefined && r.ok &&
          this.guards.minNodes(set, r.replacements) === undefined;
      }
      if (ok && r?.ok) {
        best = { k, r, cost };
        lo = k + 1;
      } else hi = k - 1;
    }
    if (!best) return;
    const set = prefix.slice(0, best.k);
    this.#commit(
      "MultiNodeConsolidation",
      reason(
        "Underutilized",
        `the pods of ${best.k} nodes (${set.map((c) => c.node.name).join(", ")}) fit on ${
          best.r.replacements.length === 0
            ? "the other nodes"
            : `the other nodes and one ${best.r.replacements[0]!.shape.name} VM`
        }; saves ${(best.cost - best.r.replacementCost).toFixed(4)}/h`,
      ),
      set,
      best.r,
      best.cost,
    );
  }

  #singleNode() {
    for (const c of this.#consolidatable()) {
      const block = this.#windowBlock(c) ?? this.ledger.check(c.movers) ?? this.#received(c) ??
        this.guards.budget([c], "Underutilized");
      if (block) {
        this.note(c, block, Weight.Consolidation);
        continue;
      }
      // The first simulation still holds if nothing has been committed since.
      let r = this.version === 0 ? this.firstSim.get(c) : undefined;
      if (!r) {
        r = this.sim.simulate([c], 1, c.cost);
        this.simulations += 1;
      }
      const bad = this.#cheaper(r, c.cost, [c]) ??
        (r.ok ? this.guards.minNodes([c], r.replacements) : undefined);
      if (bad || !r.ok) {
        this.note(c, bad!, Weight.Consolidation);
        continue;
      }
      this.#commit(
        "SingleNodeConsolidation",
        reason(
          "Underutilized",
          `the ${c.movers.length} pods of node ${c.node.name} fit on ${
            r.replacements.length === 0
              ? "the other nodes"
              : `the other nodes and one ${r.replacements[0]!.shape.name} VM`
          }; saves ${(c.cost - r.replacementCost).toFixed(4)}/h`,
        ),
        [c],
        r,
        c.cost,
      );
    }
  }

  #plan(): DisruptionPlan {
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
        reason: this.why.get(c)?.r ??
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
    for (const k of [...byClaim.keys()].sort(cmp)) verdicts.push(byClaim.get(k)!);

    const unneededSince: Record<string, number> = {};
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
      simulations: this.simulations,
    };
  }
}

/** A pod its drain will evict, as provisioning sees it once its controller has recreated it. */
function asPending(pod: Pod, now: number): Pod {
  const { nodeName: _n, ...rest } = pod;
  return { ...rest, phase: "Pending", unschedulable: true, pendingSince: now };
}

/**
 * The commands of earlier passes that still hold their nodes: not past launchTimeout plus
 * registrationTimeout, every replacement still a live NodeClaim (a lost one aborts the command,
 * as Karpenter does), and naming only nodes the snapshot does not yet show as disrupted.
 */
function stillInFlight(
  snap: Snapshot,
  config: Config,
  prior: readonly InFlightCommand[],
): InFlightCommand[] {
  if (prior.length === 0) return [];
  const claims = new Map(snap.nodeClaims.map((c) => [c.name, c]));
  const nodes = new Map(snap.nodes.map((n) => [n.name, n]));
  const byProviderId = new Map(
    snap.nodes.filter((n) => n.providerID !== undefined).map((n) => [n.providerID!, n]),
  );
  const ttl = config.settings.launchTimeout + config.settings.registrationTimeout;
  const out: InFlightCommand[] = [];
  for (const f of prior) {
    if (snap.now - f.since > ttl) continue;
    const lost = f.replacements.some((r) => {
      const c = claims.get(r);
      return c === undefined || c.deleting === true;
    });
    if (lost) continue;
    const nodeClaims = f.nodeClaims.filter((name) => {
      const c = claims.get(name);
      if (c === undefined) return false;
      const node = c.nodeName !== undefined
        ? nodes.get(c.nodeName)
        : c.providerID !== undefined
        ? byProviderId.get(c.providerID)
        : undefined;
      return !isDisrupting(c, node);
    });
    if (nodeClaims.length > 0) out.push({ ...f, nodeClaims });
  }
  return out;
}

const NOTHING: SimOutcome & { ok: true } = {
  ok: true,
  moves: [],
  replacements: [],
  replacementCost: 0,
};

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
