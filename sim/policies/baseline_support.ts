/**
 * What the baseline policies share: reading a Snapshot the way an autoscaler does (pending
 * pods, per-node usage), whether a pool could ever host a pod, host choice for a new VM
 * (Proxmox placement is not what the baselines differ in, so they use the core's placement),
 * and the "do these pods fit on the rest of the cluster" simulation scale-down needs. Extended
 * resources (GPUs) count everywhere, as the kube-scheduler's NodeResourcesFit counts them and as
 * Cluster Autoscaler and Karpenter do for nodes and node templates / instance types: a pod
 * asking nvidia.com/gpu fits only where that much is free, and only a GPU shape is opened for
 * it; a pod asking none is given a shape without GPUs.
 *
 * May import: core/, sim/engine/policy.ts.
 */
import type {
  Config,
  Host,
  MachineTemplate,
  Node,
  NodePool,
  Pod,
  Resources,
  Shape,
  ShapeGpus,
  Snapshot,
} from "../../core/model.ts";
import { podExtendedRequests, podRequests } from "../../core/pod_requests.ts";
import { deviceKey, gpuUnitsFromShape, offeredExtended, takeDevices } from "../../core/gpus.ts";
import { gpuFits } from "../../core/shapes.ts";
import { matchesNodeConstraints } from "../../core/requirements.ts";
import { untoleratedTaint } from "../../core/taints.ts";
import { chooseHost } from "../../core/placement.ts";
import { footprint } from "../../core/limits.ts";
import { allocatable } from "../../core/shapes.ts";
import { isClaimReady } from "../../core/claim_state.ts";
import { HOST_LABEL_KEY, NODEPOOL_LABEL_KEY } from "../../core/labels.ts";
import type { Reason } from "../../core/reason.ts";
import type { Launch } from "../engine/policy.ts";

/** A node as scale-down simulations see it. */
export type NodeUse = {
  node: Node;
  pool?: string;
  claim?: string;
  free: Resources;
  freePods: number;
  used: Resources;
  pods: Pod[];
  /** Extended resources (GPUs) still free, when the node advertises any. */
  freeExt?: Record<string, number>;
};

/** Unbound pods the scheduler marked Unschedulable, in a stable order. */
export function unschedulablePods(snap: Snapshot): Pod[] {
  return snap.pods.filter((p) =>
    !p.nodeName && p.phase === "Pending" && p.unschedulable && !p.deleting &&
    p.ownerKind !== "DaemonSet"
  ).sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}

/** Ready, schedulable, not-deleting nodes with what their bound pods use. */
export function nodeUsage(snap: Snapshot): NodeUse[] {
  const claimByNode = new Map(snap.nodeClaims.map((c) => [c.nodeName ?? c.name, c]));
  const out = new Map<string, NodeUse>();
  for (const n of [...snap.nodes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (n.deleting || n.unschedulable || !n.ready) continue;
    const c = claimByNode.get(n.name);
    out.set(n.name, {
      node: n,
      ...(c ? { pool: c.nodePool, claim: c.name } : {}),
      free: { cpu: n.allocatable.cpu, memory: n.allocatable.memory },
      freePods: n.allocatable.pods ?? 110,
      used: { cpu: 0, memory: 0 },
      pods: [],
      ...(n.allocatable.extended ? { freeExt: { ...n.allocatable.extended } } : {}),
    });
  }
  for (const p of snap.pods) {
    if (!p.nodeName || p.phase === "Succeeded" || p.phase === "Failed") continue;
    const u = out.get(p.nodeName);
    if (!u) continue;
    const r = podRequests(p);
    u.free.cpu -= r.cpu;
    u.free.memory -= r.memory;
    u.freePods -= 1;
    u.used.cpu += r.cpu;
    u.used.memory += r.memory;
    u.pods.push(p);
    const e = podExtendedRequests(p);
    for (const k in e) (u.freeExt ??= {})[k] = (u.freeExt[k] ?? 0) - e[k]!;
  }
  return [...out.values()];
}

/** The labels every node of `pool` would carry (before zone and hostname). */
export function poolLabels(pool: NodePool, template: MachineTemplate): Record<string, string> {
  return {
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/os": "linux",
    ...template.labels,
    ...pool.labels,
    [NODEPOOL_LABEL_KEY]: pool.name,
  };
}

/** Could a node of `pool` ever run `pod` (taints, selector, affinity)? */
export function poolAccepts(pool: NodePool, template: MachineTemplate, pod: Pod): boolean {
  if (untoleratedTaint([...template.taints, ...pool.taints], pod.tolerations)) return false;
  return matchesNodeConstraints(
    poolLabels(pool, template),
    pod.nodeSelector,
    pod.requiredNodeAffinity,
  );
}

/** Is `ext` (extended requests) within `free`? */
export function extFits(
  free: Readonly<Record<string, number>> | undefined,
  ext: Readonly<Record<string, number>>,
): boolean {
  for (const k in ext) if ((free?.[k] ?? 0) < ext[k]!) return false;
  return true;
}

/** Takes `ext` from `free` (a copy's room), creating it when the node had none. */
function takeExt(u: { freeExt?: Record<string, number> }, ext: Readonly<Record<string, number>>) {
  for (const k in ext) (u.freeExt ??= {})[k] = (u.freeExt[k] ?? 0) - ext[k]!;
}

/**
 * May a VM of `shape` be opened for a pod with `req` and extended `ext` requests: its
 * allocatable holds them, its extended resources (GPUs) cover `ext`, and a pod asking no GPU
 * gets a shape without GPUs (no passthrough device spent on it).
 */
export function shapeServes(
  template: MachineTemplate,
  shape: Shape,
  req: Resources,
  ext: Readonly<Record<string, number>>,
): boolean {
  const room = shapeRoom(template, shape);
  if (room.cpu < req.cpu || room.memory < req.memory) return false;
  if (!gpuFits(template, shape, gpuUnitsFromShape(template, ext))) return false;
  return extFits(offeredExtended(template, shape), ext);
}

/** Can `pod` go on node `u` (room, extended resources, taints, selector)? */
export function nodeAccepts(u: NodeUse, pod: Pod, req: Resources): boolean {
  if (u.free.cpu < req.cpu || u.free.memory < req.memory || u.freePods < 1) return false;
  const ext = podExtendedRequests(pod);
  if (!extFits(u.freeExt, ext)) return false;
  if (untoleratedTaint(u.node.taints, pod.tolerations)) return false;
  return matchesNodeConstraints(
    u.node.labels,
    pod.nodeSelector,
    pod.requiredNodeAffinity,
    u.node.name,
  );
}

/**
 * Would all `pods` fit on `targets` (first-fit decreasing)? Mutates the targets' free room, so
 * a caller can chain several removals in one simulation.
 */
export function fitAll(pods: readonly Pod[], targets: readonly NodeUse[]): boolean {
  const sorted = pods.map((p) => ({ p, r: podRequests(p) })).sort((a, b) =>
    b.r.cpu - a.r.cpu || b.r.memory - a.r.memory || (a.p.uid < b.p.uid ? -1 : 1)
  );
  for (const { p, r } of sorted) {
    const t = targets.find((u) => nodeAccepts(u, p, r));
    if (!t) return false;
    t.free.cpu -= r.cpu;
    t.free.memory -= r.memory;
    t.freePods -= 1;
    takeExt(t, podExtendedRequests(p));
  }
  return true;
}

/** A copy of node uses, so a failed simulation leaves the originals untouched. */
export function cloneUses(us: readonly NodeUse[]): NodeUse[] {
  return us.map((u) =>
    u.freeExt
      ? { ...u, free: { ...u.free }, freeExt: { ...u.freeExt } }
      : { ...u, free: { ...u.free } }
  );
}

/** Launch claims in flight (not Ready, not deleting). */
export function inFlightClaims(snap: Snapshot) {
  return snap.nodeClaims.filter((c) => !c.deleting && !isClaimReady(c));
}

/** Resolves a pool's template, or undefined. */
export function templateOf(config: Config, pool: NodePool): MachineTemplate | undefined {
  return config.machineTemplates.find((t) => t.name === pool.machineTemplate);
}

/** Allocatable of `shape` on `template` as a bin. */
export function shapeRoom(template: MachineTemplate, shape: Shape): Resources {
  return allocatable(template, shape);
}

/**
 * Passthrough devices planned per host alongside a `planned` map of one decision (host name,
 * then device key), so that launchOn's callers keep their signature.
 */
const plannedDevicesOf = new WeakMap<Map<string, Resources>, Map<string, Map<string, number>>>();

function planDevices(devices: Map<string, Map<string, number>>, h: Host, ask: ShapeGpus) {
  let byKey = devices.get(h.name);
  if (!byKey) devices.set(h.name, byKey = new Map());
  const d = takeDevices(h.devices, ask, byKey);
  if (d) byKey.set(deviceKey(d, ask), (byKey.get(deviceKey(d, ask)) ?? 0) + ask.count);
}

/** Builds the Launch for a new VM, choosing the host with the core's placement; undefined if none fits. */
export function launchOn(
  snap: Snapshot,
  config: Config,
  pool: NodePool,
  template: MachineTemplate,
  shape: Shape,
  name: string,
  planned: Map<string, Resources>,
  why: Reason,
): Launch | undefined {
  const provider = config.providers.find((p) => p.name === template.provider);
  if (!provider) return undefined;
  const hosts: Host[] = snap.hosts.filter((h) => h.provider === provider.name);
  const fp = footprint(shape, template);
  let devices = plannedDevicesOf.get(planned);
  if (shape.gpus && !devices) plannedDevicesOf.set(planned, devices = new Map());
  const h = chooseHost({
    hosts,
    footprint: fp,
    strategy: provider.placement,
    planned,
    ...(shape.gpus ? { gpus: shape.gpus, plannedDevices: devices! } : {}),
  });
  if (!h.ok) return undefined;
  const prev = planned.get(h.value.name) ?? { cpu: 0, memory: 0 };
  planned.set(h.value.name, { cpu: prev.cpu + fp.cpu, memory: prev.memory + fp.memory });
  if (shape.gpus) planDevices(devices!, h.value, shape.gpus);
  return {
    name,
    nodePool: pool.name,
    machineTemplate: template.name,
    provider: provider.name,
    shape,
    host: h.value.name,
    labels: {
      ...poolLabels(pool, template),
      "topology.kubernetes.io/zone": h.value.zone,
      [HOST_LABEL_KEY]: h.value.name,
      "kubernetes.io/hostname": name,
      "node.kubernetes.io/instance-type": shape.name,
    },
    taints: [...template.taints, ...pool.taints],
    startupTaints: [...template.startupTaints, ...pool.startupTaints],
    reason: why,
  };
}

/** Pools in Karpenter's order: weight descending, then name. */
export function poolsByWeight(config: Config): NodePool[] {
  return [...config.nodePools].sort((a, b) => b.weight - a.weight || (a.name < b.name ? -1 : 1));
}

/** Nodes a pool's budgets allow to disrupt now (percentages round up), Karpenter-style. */
export function budgetAllows(pool: NodePool, total: number, deleting: number): number {
  let allowed = Infinity;
  for (const b of pool.disruption.budgets) {
    if (b.reasons && !b.reasons.includes("Empty")) continue;
    const n = b.nodes.endsWith("%")
      ? Math.ceil((Number(b.nodes.slice(0, -1)) / 100) * total)
      : Number(b.nodes);
    allowed = Math.min(allowed, n);
  }
  if (allowed === Infinity) allowed = Math.ceil(0.1 * total);
  return Math.max(0, allowed - deleting);
}
