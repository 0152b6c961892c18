/**
 * A Cluster-Autoscaler-like baseline with CA's default flags: a 10 s
 * scan; scale-up packs unschedulable pods first-fit decreasing onto in-flight nodes and then
 * onto copies of one fixed shape per node group (the pool's largest shape), choosing the group
 * by the least-waste expander; scale-down marks a node unneeded when its CPU and memory requests
 * are both below 0.5 of allocatable and its pods fit elsewhere, removes it after 10 min unneeded,
 * never within 10 min of a scale-up, up to 10 empty nodes at once and one non-empty drain at a
 * time; nodes not Ready 15 min after their request are removed. GPUs: as CA's node group
 * templates carry the extended resources their nodes will advertise, each GPU shape is a node
 * group of its own (the pool's largest GPU-less shape stays the CPU group); a pod asking
 * nvidia.com/gpu is estimated only onto groups offering it, a pod asking none only onto the CPU
 * group, and a GPU node's utilisation for scale-down is its GPU utilisation, as CA computes it.
 *
 * May import: core/, sim/engine/policy.ts, sim/policies/baseline_support.ts.
 */
import type { Config, MachineTemplate, NodePool, Resources, Shape } from "../../core/model.ts";
import { podExtendedRequests, podRequests } from "../../core/pod_requests.ts";
import { DEFAULT_GPU_RESOURCE, offeredExtended } from "../../core/gpus.ts";
import { reason } from "../../core/reason.ts";
import type { Decision, Deletion, Launch, Policy } from "../engine/policy.ts";
import {
  cloneUses,
  extFits,
  fitAll,
  inFlightClaims,
  launchOn,
  nodeUsage,
  poolAccepts,
  poolsByWeight,
  shapeRoom,
  shapeServes,
  templateOf,
  unschedulablePods,
} from "./baseline_support.ts";

/** CA flags the baseline models, with their defaults. */
export const CA_DEFAULTS = {
  scanInterval: 10_000,
  utilizationThreshold: 0.5,
  unneededTime: 600_000,
  delayAfterAdd: 600_000,
  maxNodeProvisionTime: 900_000,
  maxEmptyBulkDelete: 10,
  maxDrainParallelism: 1,
};

export type CaState = {
  unneededSince: Readonly<Record<string, number>>;
  lastScaleUp: number;
  seq: number;
};

type Group = {
  pool: NodePool;
  template: MachineTemplate;
  shape: Shape;
  room: Resources;
  /** Extended resources (GPUs) a node of the group advertises, when any. */
  ext?: Record<string, number> | undefined;
};

function groups(config: Config): Group[] {
  const out: Group[] = [];
  for (const pool of poolsByWeight(config)) {
    const template = templateOf(config, pool);
    if (!template || template.shapes.length === 0) continue;
    const plain = template.shapes.filter((s) => s.gpus === undefined);
    if (plain.length > 0) {
      const shape = plain.reduce((
        a,
        b,
      ) => (b.cpu * 1e12 + b.memory > a.cpu * 1e12 + a.memory ? b : a));
      out.push({ pool, template, shape, room: shapeRoom(template, shape) });
    }
    for (const shape of template.shapes) {
      if (shape.gpus === undefined) continue;
      const room = shapeRoom(template, shape);
      out.push({ pool, template, shape, room, ext: offeredExtended(template, shape) });
    }
  }
  return out;
}

/** Bins of a group's estimate: a template node's free room. */
type Bin = { free: Resources; pods: number; ext?: Record<string, number> | undefined };

/** Does the pod (requests `r`, extended `e`) fit bin `b`? */
function binFits(b: Bin, r: Resources, e: Readonly<Record<string, number>>): boolean {
  return b.free.cpu >= r.cpu && b.free.memory >= r.memory && b.pods > 0 && extFits(b.ext, e);
}

/** Puts the pod into bin `b`. */
function binTake(b: Bin, r: Resources, e: Readonly<Record<string, number>>) {
  b.free.cpu -= r.cpu;
  b.free.memory -= r.memory;
  b.pods--;
  for (const k in e) (b.ext ??= {})[k] = (b.ext[k] ?? 0) - e[k]!;
}

/** The CA-like decide. */
export function caDecide(
  snap: import("../../core/model.ts").Snapshot,
  config: Config,
  state: CaState,
): Decision<CaState> {
  const launches: Launch[] = [];
  const deletions: Deletion[] = [];
  let { lastScaleUp, seq } = state;
  const flight = inFlightClaims(snap);
  // Nodes that never came up are given up on after max-node-provision-time.
  for (const c of flight) {
    if (snap.now - c.createdAt >= CA_DEFAULTS.maxNodeProvisionTime) {
      deletions.push({
        claim: c.name,
        reason: reason(
          "RegistrationTimeout",
          `node not ready after ${CA_DEFAULTS.maxNodeProvisionTime / 60000} min`,
        ),
      });
    }
  }
  // ---- scale-up: in-flight nodes count as template nodes (CA's upcoming nodes) ----
  const gs = groups(config);
  const pending = unschedulablePods(snap);
  if (pending.length > 0) {
    const upcoming = flight.map((c) => {
      const g = gs.find((x) => x.pool.name === c.nodePool);
      const t = g?.template ?? config.machineTemplates.find((m) => m.name === c.machineTemplate);
      const room = t ? shapeRoom(t, c.shape) : { cpu: 0, memory: 0 };
      const ext = t ? offeredExtended(t, c.shape) : undefined;
      const bin: Bin & { pool: string } = {
        pool: c.nodePool,
        free: { ...room },
        pods: t?.maxPods ?? 110,
        ...(ext ? { ext: { ...ext } } : {}),
      };
      return bin;
    });
    const sorted = pending.map((p) => ({ p, r: podRequests(p), e: podExtendedRequests(p) })).sort((
      a,
      b,
    ) => b.r.cpu - a.r.cpu || b.r.memory - a.r.memory || (a.p.uid < b.p.uid ? -1 : 1));
    const rest: typeof sorted = [];
    for (const x of sorted) {
      const u = upcoming.find((b) =>
        binFits(b, x.r, x.e) &&
        gs.some((g) => g.pool.name === b.pool && poolAccepts(g.pool, g.template, x.p))
      );
      if (u) binTake(u, x.r, x.e);
      else rest.push(x);
    }
    // Estimate per group (first-fit decreasing onto template copies), then least-waste.
    let best: { g: Group; bins: Bin[]; waste: number } | undefined;
    for (const g of gs) {
      const bins: Bin[] = [];
      let helped = 0;
      for (const x of rest) {
        if (!poolAccepts(g.pool, g.template, x.p)) continue;
        if (!shapeServes(g.template, g.shape, x.r, x.e)) continue;
        let b = bins.find((b) => binFits(b, x.r, x.e));
        if (!b) {
          const liveNodes = snap.nodeClaims.filter((c) =>
            c.nodePool === g.pool.name && !c.deleting
          ).length;
          if (
            g.pool.limits.nodes !== undefined && liveNodes + bins.length >= g.pool.limits.nodes
          ) continue;
          b = {
            free: { ...g.room },
            pods: g.template.maxPods,
            ...(g.ext ? { ext: { ...g.ext } } : {}),
          };
          bins.push(b);
        }
        binTake(b, x.r, x.e);
        helped++;
      }
      if (bins.length === 0 || helped === 0) continue;
      const wasteCpu = bins.reduce((s, b) => s + b.free.cpu, 0) / (bins.length * g.room.cpu);
      const wasteMem = bins.reduce((s, b) => s + b.free.memory, 0) / (bins.length * g.room.memory);
      const waste = wasteCpu + wasteMem;
      if (!best || waste < best.waste) best = { g, bins, waste };
    }
    if (best) {
      const planned = new Map<string, Resources>();
      for (let i = 0; i < best.bins.length; i++) {
        const name = `ca-${best.g.pool.name}-${(seq++).toString(36)}`;
        const l = launchOn(
          snap,
          config,
          best.g.pool,
          best.g.template,
          best.g.shape,
          name,
          planned,
          reason(
            "PodsPending",
            `CA scale-up: ${best.bins.length} node(s) of ${best.g.shape.name} for ${rest.length} unschedulable pod(s) (least-waste)`,
          ),
        );
        if (!l) break;
        launches.push(l);
      }
      if (launches.length > 0) lastScaleUp = snap.now;
    }
  }
  // ---- scale-down ----
  const uses = nodeUsage(snap).filter((u) => u.claim !== undefined);
  const unneededSince: Record<string, number> = {};
  let wakeAt: number | undefined;
  const draining = snap.nodeClaims.filter((c) => c.deleting).length;
  const candidates: { name: string; claim: string; empty: boolean; since: number }[] = [];
  const all = nodeUsage(snap);
  const blockedUntil = lastScaleUp + CA_DEFAULTS.delayAfterAdd;
  // The unneeded clock starts after the cooldown, which gives the anchor "an empty node added
  // by a scale-up survives at least 20 min" (10 min delay after add, then 10 min unneeded).
  const cooling = snap.now < blockedUntil;
  for (const u of cooling ? [] : uses) {
    const a = u.node.allocatable;
    // A GPU node's utilisation is its GPUs' (CA ignores CPU and memory there).
    const gpus = a.extended?.[DEFAULT_GPU_RESOURCE] ?? 0;
    const low = gpus > 0
      ? (gpus - (u.freeExt?.[DEFAULT_GPU_RESOURCE] ?? 0)) / gpus < CA_DEFAULTS.utilizationThreshold
      : u.used.cpu / a.cpu < CA_DEFAULTS.utilizationThreshold &&
        u.used.memory / a.memory < CA_DEFAULTS.utilizationThreshold;
    if (!low) continue;
    const others = cloneUses(all.filter((o) => o.node.name !== u.node.name));
    if (u.pods.length > 0 && !fitAll(u.pods, others)) continue;
    const since = state.unneededSince[u.node.name] ?? snap.now;
    unneededSince[u.node.name] = since;
    candidates.push({ name: u.node.name, claim: u.claim!, empty: u.pods.length === 0, since });
  }
  if (candidates.length > 0 && launches.length === 0) {
    let emptyBudget = CA_DEFAULTS.maxEmptyBulkDelete;
    let drainBudget = CA_DEFAULTS.maxDrainParallelism -
      Math.min(draining, CA_DEFAULTS.maxDrainParallelism);
    // Removals in one pass must stay jointly feasible: simulate them in turn.
    let pool = cloneUses(all);
    for (const c of candidates.sort((a, b) => a.since - b.since || (a.name < b.name ? -1 : 1))) {
      const due = Math.max(c.since + CA_DEFAULTS.unneededTime, blockedUntil);
      if (snap.now < due) {
        wakeAt = Math.min(wakeAt ?? Infinity, due);
        continue;
      }
      if (c.empty ? emptyBudget <= 0 : drainBudget <= 0) continue;
      const me = pool.find((u) => u.node.name === c.name);
      if (!me) continue;
      const rest = cloneUses(pool.filter((u) => u.node.name !== c.name));
      if (!c.empty && !fitAll(me.pods, rest)) continue;
      pool = rest;
      if (c.empty) emptyBudget--;
      else drainBudget--;
      deletions.push({
        claim: c.claim,
        reason: reason(
          c.empty ? "Empty" : "Underutilized",
          `CA: node ${c.name} unneeded for ${
            Math.round((snap.now - c.since) / 1000)
          }s (requests below ${CA_DEFAULTS.utilizationThreshold} of allocatable)`,
        ),
      });
    }
    if (deletions.length > 0 || (wakeAt === undefined && candidates.length > deletions.length)) {
      wakeAt = Math.min(wakeAt ?? Infinity, snap.now + CA_DEFAULTS.scanInterval);
    }
  } else if (candidates.length > 0) {
    wakeAt = Math.max(blockedUntil, snap.now + CA_DEFAULTS.scanInterval);
  } else if (cooling && uses.length > 0) {
    wakeAt = blockedUntil;
  }
  return {
    launches,
    deletions,
    state: { unneededSince, lastScaleUp, seq },
    ...(wakeAt !== undefined ? { wakeAt } : {}),
  };
}

/** The CA-like baseline over `config`'s pools and templates. */
export function clusterAutoscalerPolicy(config: Config): Policy<CaState> {
  return {
    name: "cluster-autoscaler",
    description:
      "CA-like: 10s scan, least-waste, 0.5 utilization, 10m unneeded, 10m delay after add",
    config,
    trigger: { kind: "interval", every: CA_DEFAULTS.scanInterval },
    initialState: () => ({ unneededSince: {}, lastScaleUp: -Infinity, seq: 0 }),
    decide: caDecide,
  };
}
