/**
 * A Karpenter-like baseline (its provisioning batcher, disruption methods and budgets): pending
 * pods are batched (1 s idle, 10 s max) and packed first-fit decreasing onto existing, in-flight
 * and new claims of the cheapest fitting fixed instance type — the algorithm the proxscale core
 * implements, so the scale-up reuses core/provisioning with Karpenter's fixed settings (fixed
 * shapes only, no stabilization window, no concurrency cap). Disruption runs Karpenter's order with
 * consolidateAfter 0 s and a 10 % budget: emptiness first, then multi-node consolidation (the
 * longest prefix of candidates, cheapest to disrupt first, whose pods fit on the rest, capped at
 * 100), then single-node; a command executes only after it stayed valid for 15 s.
 *
 * May import: core/, sim/engine/policy.ts, sim/policies/.
 */
import type { Config, Snapshot } from "../../core/model.ts";
import { provision } from "../../core/provisioning.ts";
import { reason } from "../../core/reason.ts";
import type { Decision, Deletion, Policy } from "../engine/policy.ts";
import { budgetAllows, cloneUses, fitAll, nodeUsage, type NodeUse } from "./baseline_support.ts";

export const KARPENTER_DEFAULTS = {
  batchIdle: 1_000,
  batchMax: 10_000,
  validation: 15_000,
  loop: 10_000,
  budget: "10%",
  multiNodeCap: 100,
};

export type KarpenterState = {
  /** The command waiting out its 15 s validation: node names and when it was first proposed. */
  pending?: { nodes: string[]; since: number; kind: "Empty" | "Underutilized" };
};

/** Karpenter's provisioning settings applied to a proxscale config. */
export function karpenterConfig(config: Config): Config {
  return {
    ...config,
    machineTemplates: config.machineTemplates.map((t) => {
      const { flexible: _flexible, ...fixed } = t;
      return fixed;
    }),
    nodePools: config.nodePools.map((p) => ({
      ...p,
      scaleUp: { batchSize: 1000, stabilizationWindow: 0, maxConcurrent: 1000 },
      disruption: {
        ...p.disruption,
        consolidateAfter: 0,
        budgets: [{ nodes: KARPENTER_DEFAULTS.budget }],
      },
    })),
    settings: {
      ...config.settings,
      batchIdle: KARPENTER_DEFAULTS.batchIdle,
      batchMax: KARPENTER_DEFAULTS.batchMax,
    },
  };
}

function proposal(
  snap: Snapshot,
  config: Config,
): { nodes: NodeUse[]; kind: "Empty" | "Underutilized" } | undefined {
  const uses = nodeUsage(snap);
  const managed = uses.filter((u) => u.claim !== undefined);
  const claimsByPool = new Map<string, number>();
  for (const c of snap.nodeClaims) {
    if (!c.deleting) claimsByPool.set(c.nodePool, (claimsByPool.get(c.nodePool) ?? 0) + 1);
  }
  const deletingByPool = new Map<string, number>();
  for (const c of snap.nodeClaims) {
    if (c.deleting) deletingByPool.set(c.nodePool, (deletingByPool.get(c.nodePool) ?? 0) + 1);
  }
  const budget = new Map<string, number>();
  for (const p of config.nodePools) {
    budget.set(
      p.name,
      budgetAllows(p, claimsByPool.get(p.name) ?? 0, deletingByPool.get(p.name) ?? 0),
    );
  }
  const take = (u: NodeUse) => {
    const b = budget.get(u.pool!) ?? 0;
    if (b <= 0) return false;
    budget.set(u.pool!, b - 1);
    return true;
  };
  // Emptiness: every empty candidate within budget, in one command.
  const empty = managed.filter((u) => u.pods.length === 0).filter(take);
  if (empty.length > 0) return { nodes: empty, kind: "Empty" };
  // Consolidation candidates, cheapest to disrupt first (fewest pods, then least requested).
  const cands = managed.filter((u) => u.pods.length > 0).sort((a, b) =>
    a.pods.length - b.pods.length ||
    (a.used.cpu + a.used.memory / 4e6) - (b.used.cpu + b.used.memory / 4e6) ||
    (a.node.name < b.node.name ? -1 : 1)
  );
  // Multi-node: the longest prefix whose pods fit on the rest (binary search, at least 2).
  const fitsPrefix = (k: number) => {
    const gone = new Set(cands.slice(0, k).map((u) => u.node.name));
    const rest = cloneUses(uses.filter((u) => !gone.has(u.node.name)));
    return fitAll(cands.slice(0, k).flatMap((u) => u.pods), rest);
  };
  let lo = 1;
  let hi = Math.min(cands.length, KARPENTER_DEFAULTS.multiNodeCap);
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    if (fitsPrefix(mid)) lo = mid;
    else hi = mid - 1;
  }
  const chosen: NodeUse[] = [];
  const k = lo >= 2 ? lo : 0;
  for (const u of cands.slice(0, k)) if (take(u)) chosen.push(u);
  if (chosen.length >= 2) return { nodes: chosen, kind: "Underutilized" };
  // Single-node: the first candidate whose pods fit elsewhere (no cheaper replacement exists
  // with a fixed shape list where the candidate already has the cheapest fitting shape).
  for (const u of cands) {
    const rest = cloneUses(uses.filter((o) => o.node.name !== u.node.name));
    if (fitAll(u.pods, rest) && (budget.get(u.pool!) ?? 0) > 0) {
      return { nodes: [u], kind: "Underutilized" };
    }
  }
  return undefined;
}

/** The Karpenter-like decide. */
export function karpenterDecide(
  snap: Snapshot,
  config: Config,
  state: KarpenterState,
): Decision<KarpenterState> {
  const plan = provision(snap, config);
  const deletions: Deletion[] = [];
  let next: KarpenterState = {};
  let wakeAt: number | undefined;
  // Disruption waits while pods are pending for capacity being launched (cluster not settled).
  const settling = plan.claims.length > 0 ||
    snap.nodeClaims.some((c) => !c.deleting && !c.conditions.some((x) => x.type === "Ready"));
  if (!settling) {
    const prop = proposal(snap, config);
    if (prop) {
      const names = prop.nodes.map((u) => u.node.name).sort();
      const same = state.pending && state.pending.kind === prop.kind &&
        state.pending.nodes.length === names.length && state.pending.nodes.every((n, i) =>
          n === names[i]
        );
      if (same && snap.now - state.pending!.since >= KARPENTER_DEFAULTS.validation) {
        for (const u of prop.nodes) {
          deletions.push({
            claim: u.claim!,
            reason: reason(
              prop.kind,
              prop.kind === "Empty"
                ? `Karpenter-like emptiness: node ${u.node.name} has no pods`
                : `Karpenter-like consolidation: pods of ${names.length} node(s) fit on the rest`,
            ),
          });
        }
        wakeAt = snap.now + KARPENTER_DEFAULTS.loop;
      } else {
        const since = same ? state.pending!.since : snap.now;
        next = { pending: { nodes: names, since, kind: prop.kind } };
        wakeAt = since + KARPENTER_DEFAULTS.validation;
      }
    }
  } else {
    wakeAt = snap.now + KARPENTER_DEFAULTS.loop;
  }
  return {
    launches: plan.claims,
    deletions,
    state: next,
    ...(wakeAt !== undefined ? { wakeAt } : {}),
  };
}

/** The Karpenter-like baseline. */
export function karpenterPolicy(config: Config): Policy<KarpenterState> {
  const kc = karpenterConfig(config);
  return {
    name: "karpenter",
    description:
      "Karpenter-like: 1s/10s batching, fixed instance types, emptiness + multi/single-node consolidation, 10% budget, 15s validation",
    config: kc,
    trigger: {
      kind: "batch",
      idle: KARPENTER_DEFAULTS.batchIdle,
      max: KARPENTER_DEFAULTS.batchMax,
    },
    initialState: () => ({}),
    decide: karpenterDecide,
  };
}
