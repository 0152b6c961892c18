/**
 * The facts one disruption pass works from: every NodeClaim with its Node, pool, cost, the pods
 * that would need a new home, and what about the claim can never change within the pass
 * (annotations, pod protections, drift, expiry, quiet period). Nothing is decided here except
 * whether a claim can be a candidate at all; core/disruption.ts applies the guards in order.
 */
import type {
  Condition,
  Config,
  MachineTemplate,
  Node,
  NodeClaim,
  NodePool,
  Pod,
  Snapshot,
} from "./model.ts";
import { DEFAULT_SCALE_DOWN_RULES } from "./model.ts";
import { claimCostModel, shapeCost } from "./cost.ts";
import { podRequestsOf } from "./pod_requests.ts";
import { type Reason, reason } from "./reason.ts";
import { DISRUPTED_TAINT_KEY } from "./labels.ts";
import {
  isActive,
  needsNewHome,
  nodeDoNotDisrupt,
  podDoNotDisrupt,
  podEvictionRule,
} from "./disruption_pods.ts";
import type { PdbLedger } from "./disruption_pdb.ts";
import { SortMemo } from "./small_sort.ts";

/** A node as a place pods can go: its index in the name-sorted slot list and what is free. */
export type NodeSlot = {
  node: Node;
  /** Can receive pods in a simulation (ready, schedulable, not going away). */
  destination: boolean;
  /** Already being disrupted: its pods need room elsewhere before any candidate's do. */
  leaving: boolean;
  freeCpu: number;
  freeMemory: number;
  freePods: number;
};

/** A managed node that might be disrupted, with everything the guards need. */
export type Candidate = {
  claim: NodeClaim;
  node: Node;
  slot: number;
  pool: NodePool;
  template: MachineTemplate | undefined;
  /** Cost per hour of the VM (cost model, VM memory overhead included). */
  cost: number;
  /** Pods that need a new home if the node goes. */
  movers: Pod[];
  /** Node annotation or pod protection that rules out every voluntary method. */
  blocked: Reason | undefined;
  /**
   * A pod tied to this node by a local volume on storage that is not replicated: moving it would
   * leave it unschedulable with its data gone, so no method (forceful ones included) takes the node.
   */
  pinned: Reason | undefined;
  /** The claim's NodePool is no longer configured (`pool` is a stand-in with default budgets). */
  poolRemoved: boolean;
  /** Last pod event (bind) or initialization, for consolidateAfter (epoch ms). */
  lastActivity: number;
  /** When Drifted became True, if it is. */
  driftedAt: number | undefined;
  /** When expireAfter passes, if the pool sets it. */
  expiresAt: number | undefined;
  /**
   * price / (1 + eviction cost of the movers, plus the Job work they would lose): Karpenter's
   * ranking for consolidation, with lostWorkCost added.
   */
  savingsRatio: number;
  /**
   * 1 (the node itself) + the eviction cost of its movers and the Job work they would lose: the
   * disruption a Balanced pool weighs a move's savings against.
   */
  disruptionCost: number;
};

/** Per pool counts the budgets and guards start from. */
export type PoolCounts = {
  /** Managed, initialized, not terminating nodes (NotReady ones too): the base of percentages. */
  total: number;
  /** NotReady managed nodes plus nodes already being disrupted: spent budget. */
  inFlight: number;
  /** Nodes already being disrupted (claim or node deleting, or tainted disrupted). */
  disrupting: number;
  /** NodeClaims not being deleted or disrupted: what minNodes counts. */
  live: number;
};

export type World = {
  slots: NodeSlot[];
  slotByName: Map<string, number>;
  /**
   * Pods on each slot (active or not), by slot index: those bound to it, except that the pass
   * moves pending pods and the pods of nodes being disrupted to where provisioning places them.
   */
  podsOn: Pod[][];
  candidates: Candidate[];
  /** Claims that are not candidates, and why. */
  excluded: { claim: NodeClaim; node: Node | undefined; reason: Reason }[];
  pools: ReadonlyMap<string, NodePool>;
  templates: ReadonlyMap<string, MachineTemplate>;
  counts: Map<string, PoolCounts>;
  /** Pods that need a new home because their node is already being disrupted. */
  leavingPods: Pod[];
};

const DELETION_COST = "controller.kubernetes.io/pod-deletion-cost";

/** Karpenter's EvictionCost: 1 + deletion cost / 2^27 + priority / 2^25, clamped to [-10, 10]. */
export function evictionCost(pod: Pod): number {
  if (pod.annotations === undefined && pod.priority === undefined) return 1;
  const dc = Number(pod.annotations?.[DELETION_COST] ?? 0);
  const c = 1 + (Number.isFinite(dc) ? dc : 0) / 2 ** 27 + (pod.priority ?? 0) / 2 ** 25;
  return Math.min(10, Math.max(-10, c));
}

/** How long a Job's pod must have run to weigh one more eviction (ms). */
export const JOB_WORK_PER_EVICTION = 5 * 60_000;

/**
 * The work an eviction throws away, in evictions: a Job's pod starts over from the beginning
 * when it is evicted (its controller makes a new pod), so every JOB_WORK_PER_EVICTION it has
 * run counts as one more pod evicted. A Deployment's or StatefulSet's pod resumes serving at
 * once elsewhere and loses nothing. Not in Karpenter, which weighs a Job's pod that is about to
 * finish like a web server's; it only orders candidates and never blocks one.
 */
export function lostWorkCost(pod: Pod, now: number): number {
  if (pod.ownerKind !== "Job") return 0;
  return Math.max(0, now - (pod.boundAt ?? pod.createdAt)) / JOB_WORK_PER_EVICTION;
}

/** Slot index by providerID (of nodes sharing one, the last in name order wins, as before). */
function providerIdSlots(nodes: readonly Node[]): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) {
    const id = nodes[i]!.providerID;
    if (id) m.set(id, i);
  }
  return m;
}

function hasDisruptedTaint(node: Node): boolean {
  const taints = node.taints;
  if (taints === undefined) return false;
  for (const t of taints) if (t.key === DISRUPTED_TAINT_KEY) return true;
  return false;
}

/** The node is already on its way out: never pick it again. */
export function isDisrupting(claim: NodeClaim, node: Node | undefined): boolean {
  return claim.deleting === true || node?.deleting === true ||
    (node?.taints ?? []).some((t) => t.key === DISRUPTED_TAINT_KEY);
}

/**
 * The pool a claim whose NodePool was removed is disrupted under: no minimum, only empty nodes
 * consolidated, and Karpenter's default budget (10% of its nodes at a time).
 */
function removedPool(claim: NodeClaim): NodePool {
  return {
    name: claim.nodePool,
    machineTemplate: claim.machineTemplate,
    weight: 0,
    requirements: [],
    labels: {},
    annotations: {},
    taints: [],
    startupTaints: [],
    limits: {},
    minNodes: 0,
    scaleUp: { batchSize: 0, stabilizationWindow: 0, maxConcurrent: 0 },
    scaleDown: { maxConcurrent: Infinity, drainTimeout: 600_000, stabilizationWindow: 0 },
    disruption: {
      consolidationPolicy: "WhenEmpty",
      consolidateAfter: 0,
      expireAfter: null,
      terminationGracePeriod: null,
      budgets: [{ nodes: "10%" }],
      drainTimeoutAction: "uncordon",
    },
  };
}

/** The claim's conditions a pass reads, found in one walk over them. */
type ClaimConditions = {
  initialized: Condition | undefined;
  ready: Condition | undefined;
  drifted: Condition | undefined;
};

function claimConditions(claim: NodeClaim): ClaimConditions {
  let initialized: Condition | undefined;
  let ready: Condition | undefined;
  let drifted: Condition | undefined;
  // The first condition of each type, as `find` would return it.
  for (const x of claim.conditions) {
    if (x.type === "Initialized") initialized ??= x;
    else if (x.type === "Ready") ready ??= x;
    else if (x.type === "Drifted") drifted ??= x;
  }
  return { initialized, ready, drifted };
}

type ConfigMaps = {
  nodePools: readonly NodePool[];
  poolList: NodePool[];
  machineTemplates: readonly MachineTemplate[];
  templateList: MachineTemplate[];
  pools: ReadonlyMap<string, NodePool>;
  templates: ReadonlyMap<string, MachineTemplate>;
};
const mapsByConfig = new WeakMap<Config, ConfigMaps>();

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The pools and templates of `config` by name, kept per Config object while its lists hold the
 * same objects (checked on every call, so a config edited in place is seen). Read only.
 */
function configMaps(config: Config): ConfigMaps {
  const m = mapsByConfig.get(config);
  if (
    m && m.nodePools === config.nodePools && m.machineTemplates === config.machineTemplates &&
    sameItems(m.poolList, config.nodePools) && sameItems(m.templateList, config.machineTemplates)
  ) return m;
  const made: ConfigMaps = {
    nodePools: config.nodePools,
    poolList: [...config.nodePools],
    machineTemplates: config.machineTemplates,
    templateList: [...config.machineTemplates],
    pools: new Map(config.nodePools.map((p) => [p.name, p])),
    templates: new Map(config.machineTemplates.map((t) => [t.name, t])),
  };
  mapsByConfig.set(config, made);
  return made;
}

// The orders a pass needs, kept from the last pass while the same objects come in the same order.
const NODES = {};
const CLAIMS = {};
const NODE_ORDER = new SortMemo<object, Node>(byName);
const CLAIM_ORDER = new SortMemo<object, NodeClaim>(byName);
const POD_ORDER = new SortMemo<Node, Pod>(byPodName);

/**
 * Builds the pass's world from a snapshot; `ledger` tells which pods a PDB covers. `held` maps
 * NodeClaims of commands still waiting on replacements (DisruptionState.inFlight) to those
 * replacements' names: they count as being disrupted even if the snapshot does not show it yet.
 */
export function buildWorld(
  snapshot: Snapshot,
  config: Config,
  ledger: PdbLedger,
  held: ReadonlyMap<string, readonly string[]> = new Map(),
): World {
  const now = snapshot.now;
  const rules = config.settings.scaleDownRules ?? DEFAULT_SCALE_DOWN_RULES;
  const { pools, templates } = configMaps(config);
  const nodes = NODE_ORDER.sort(NODES, [...snapshot.nodes]);
  const slotByName = new Map<string, number>();
  // Only a claim without a node name looks its node up by providerID: built on first need.
  let byProviderId: Map<string, number> | undefined;
  const slots: NodeSlot[] = [];
  const podsOn: Pod[][] = [];
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    slotByName.set(node.name, i);
    const leaving = node.deleting === true || hasDisruptedTaint(node);
    const schedulable = node.ready && !node.unschedulable && !leaving;
    slots.push({
      node,
      destination: schedulable,
      leaving,
      freeCpu: node.allocatable.cpu,
      freeMemory: node.allocatable.memory,
      freePods: node.allocatable.pods ?? 110,
    });
    podsOn.push([]);
  }
  for (const pod of snapshot.pods) {
    if (pod.nodeName === undefined) continue;
    const i = slotByName.get(pod.nodeName);
    if (i === undefined) continue;
    podsOn[i]!.push(pod);
    // Capacity as kube-scheduler counts it: every bound pod that has not finished.
    if (pod.phase === "Succeeded" || pod.phase === "Failed") continue;
    const r = podRequestsOf(pod);
    const s = slots[i]!;
    s.freeCpu -= r.cpu;
    s.freeMemory -= r.memory;
    s.freePods -= 1;
  }

  // Input order must not change a verdict: the first blocking pod named is the first by name.
  for (let i = 0; i < podsOn.length; i++) POD_ORDER.sort(nodes[i]!, podsOn[i]!);
  const counts = new Map<string, PoolCounts>();
  const countsOf = (pool: string) => {
    let c = counts.get(pool);
    if (!c) counts.set(pool, c = { total: 0, inFlight: 0, disrupting: 0, live: 0 });
    return c;
  };
  const candidates: Candidate[] = [];
  const excluded: World["excluded"] = [];
  const claims = CLAIM_ORDER.sort(CLAIMS, [...snapshot.nodeClaims]);
  for (const claim of claims) {
    const slot = claim.nodeName !== undefined
      ? slotByName.get(claim.nodeName)
      : claim.providerID !== undefined
      ? (byProviderId ??= providerIdSlots(nodes)).get(claim.providerID)
      : undefined;
    const node = slot === undefined ? undefined : slots[slot]!.node;
    const c = countsOf(claim.nodePool);
    const waitsFor = held.get(claim.name);
    if (isDisrupting(claim, node) || waitsFor) {
      c.disrupting += 1;
      c.inFlight += 1;
      if (slot !== undefined) {
        slots[slot]!.leaving = true;
        slots[slot]!.destination = false;
      }
      excluded.push({
        claim,
        node,
        reason: isDisrupting(claim, node) || !waitsFor
          ? reason(
            "DisruptionInProgress",
            `NodeClaim ${claim.name} is already being disrupted or deleted`,
          )
          : reason(
            "DisruptionInProgress",
            `NodeClaim ${claim.name} is being replaced: it is drained once ${waitsFor.join(", ")} ${
              waitsFor.length === 1 ? "is" : "are"
            } Ready`,
          ),
      });
      continue;
    }
    c.live += 1;
    const conds = claimConditions(claim);
    const initialized = conds.initialized?.status === "True" || conds.ready?.status === "True";
    if (!node || slot === undefined || !initialized) {
      excluded.push({
        claim,
        node,
        reason: reason("NodeNotReady", `NodeClaim ${claim.name} has no initialized node yet`),
      });
      continue;
    }
    // Karpenter's base for percentages: managed, initialized, not terminating (NotReady too).
    c.total += 1;
    if (!node.ready) {
      c.inFlight += 1;
      excluded.push({
        claim,
        node,
        reason: reason(
          "NodeNotReady",
          `node ${node.name} is NotReady; repair, not disruption, handles it`,
        ),
      });
      continue;
    }
    const pool = pools.get(claim.nodePool) ?? removedPool(claim);
    const poolRemoved = !pools.has(claim.nodePool);
    const template = templates.get(claim.machineTemplate);
    const cost = shapeCost(
      claim.shape,
      template?.vmMemOverhead ?? 0,
      claimCostModel(config, claim),
    );
    const movers: Pod[] = [];
    let blocked = nodeDoNotDisrupt(node);
    let lastActivity = conds.initialized?.lastTransitionTime ??
      conds.ready?.lastTransitionTime ?? node.createdAt;
    let evict = 0;
    let pinned: Reason | undefined;
    for (const pod of podsOn[slot]!) {
      if (!isActive(pod)) continue;
      if (!needsNewHome(pod)) continue;
      movers.push(pod);
      lastActivity = Math.max(lastActivity, pod.boundAt ?? pod.createdAt);
      if (pod.volumePinned && !pool.storageReplicated) {
        pinned ??= reason(
          "VolumePinned",
          `pod ${pod.namespace}/${pod.name} is tied to node ${node.name} by a local volume; pool '${pool.name}' does not declare its storage replicated`,
        );
      }
      evict += Math.max(0, evictionCost(pod)) + lostWorkCost(pod, now);
      blocked ??= podDoNotDisrupt(pod, now) ??
        podEvictionRule(pod, rules, ledger.covering(pod).length > 0);
    }
    const drifted = conds.drifted;
    const expireAfter = pool.disruption.expireAfter;
    candidates.push({
      claim,
      node,
      slot,
      pool,
      template,
      cost,
      movers,
      blocked,
      pinned,
      poolRemoved,
      lastActivity,
      driftedAt: drifted?.status === "True" ? drifted.lastTransitionTime : undefined,
      expiresAt: expireAfter === null ? undefined : claim.createdAt + expireAfter,
      savingsRatio: cost / (1 + evict),
      disruptionCost: 1 + evict,
    });
  }
  const leavingPods: Pod[] = [];
  slots.forEach((s, i) => {
    if (s.leaving) { for (const p of podsOn[i]!) if (needsNewHome(p)) leavingPods.push(p); }
  });
  return {
    slots,
    slotByName,
    podsOn,
    candidates,
    excluded,
    pools,
    templates,
    counts,
    leavingPods,
  };
}

/** By name, UTF-16 code units. */
function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function cmpText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Namespace, then name, then uid (equal parts compared once). */
function byPodName(a: Pod, b: Pod): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return cmpText(a.uid, b.uid);
}

/** Counts of `pool`, zero when it has no claims. */
export function poolCounts(world: World, pool: string): PoolCounts {
  return world.counts.get(pool) ?? { total: 0, inFlight: 0, disrupting: 0, live: 0 };
}
