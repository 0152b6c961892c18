/**
 * The capacity provisioning starts from: existing nodes (their allocatable minus what their
 * pods request, every resource name and host port counted) and NodeClaims still launching
 * (their shape minus kubelet reservations and the pool's DaemonSet overhead). A node that is
 * not Ready, or unreachable, offers nothing, unless it is the node of a claim still starting up.
 *
 * May import: nothing outside core/.
 */
import { offeredExtended } from "./gpus.ts";
import { kubeletKeeps } from "./shapes.ts";
import type {
  Config,
  Host,
  NodeClaim,
  Pod,
  Requirement,
  Resources,
  Shape,
  Snapshot,
  Taint,
} from "./model.ts";
import type { PlannedClaim } from "./provisioning.ts";
import type { PoolCtx } from "./provisioning_pools.ts";
import { addExtended, hostPortKeys, podRequests } from "./pod_requests.ts";
import { NODEPOOL_LABEL_KEY } from "./labels.ts";
import { isClaimReady } from "./claim_state.ts";
import { HOSTNAME_KEY, ZONE_KEY } from "./topology.ts";
import { matchesNodeConstraints } from "./requirements.ts";
import { untoleratedTaint } from "./taints.ts";
import { nodeRefusesNamespace, type TenancyView } from "./tenancy.ts";
import { TENANT_LABEL_KEY, TENANT_SHARED_LABEL_KEY } from "./labels.ts";

const UNREACHABLE_TAINT = "node.kubernetes.io/unreachable";

/**
 * A place pods can go in one decision: a node, a launching claim, or a claim opened now. Every
 * bin has every field (made by `makeBin`), so the hot loops see one object shape.
 */
export type Bin = {
  kind: "node" | "claim" | "new";
  name: string;
  labels: Record<string, string>;
  taints: readonly Taint[];
  free: Resources;
  freePods: number;
  /** Free extended resources (nvidia.com/gpu, hugepages-*, ...); undefined = none offered. */
  ext: Record<string, number> | undefined;
  /** Host ports already taken on the node. */
  ports: Set<string> | undefined;
  // For bins opened in this decision:
  /** Instance-type requirements of the pool and of every pod on the bin: its shape stays inside. */
  types: Requirement[] | undefined;
  /** Pods on the bin whose node constraints name an instance type (checked when it grows). */
  typePods: Pod[] | undefined;
  ctx: PoolCtx | undefined;
  host: Host | undefined;
  used: Resources | undefined;
  shape: Shape | undefined;
  podCount: number | undefined;
  claim: PlannedClaim | undefined;
  /** The configuration's tenants, when the bin's labels name a tenant (its pods only). */
  tenants: TenancyView | undefined;
};

/** A bin with the room given and nothing else yet. */
export function makeBin(
  kind: Bin["kind"],
  name: string,
  labels: Record<string, string>,
  taints: readonly Taint[],
  free: Resources,
  freePods: number,
): Bin {
  return {
    kind,
    name,
    labels,
    taints,
    free,
    freePods,
    ext: undefined,
    ports: undefined,
    types: undefined,
    typePods: undefined,
    ctx: undefined,
    host: undefined,
    used: undefined,
    shape: undefined,
    podCount: undefined,
    claim: undefined,
    tenants: undefined,
  };
}

/** What the pods bound to one node take from it. */
export type Used = {
  cpu: number;
  memory: number;
  pods: number;
  ext?: Record<string, number>;
  ports?: string[];
};

/** Bins for the snapshot's nodes and launching claims, in name order, and the claims' zones. */
export function existingBins(
  snap: Snapshot,
  config: Config,
  pools: readonly PoolCtx[],
  usedOn: ReadonlyMap<string, Used>,
): { bins: Bin[]; claimZones: [pool: string, zone: string][] } {
  const bins: Bin[] = [];
  const claimZones: [string, string][] = [];
  const nodesByName = new Map(snap.nodes.map((n) => [n.name, n]));
  const nodeByProviderId = new Map(
    snap.nodes.filter((n) => n.providerID).map((n) => [n.providerID!, n]),
  );
  // A node of a claim still starting up is NotReady on its way in: its room is capacity. Any
  // other NotReady or unreachable node's room is not: pods would wait there forever.
  const starting = new Set<string>();
  // Such a node may not carry its claim's labels and taints yet (registration syncs them on a
  // later pass): until it does, it is offered as its claim describes it, or pods that select
  // those labels (a tenant's, a pool's) would see no room there and open a second claim.
  const claimOf = new Map<string, NodeClaim>();
  for (const c of snap.nodeClaims) {
    if (c.deleting || isClaimReady(c)) continue;
    if (c.nodeName) {
      starting.add(c.nodeName);
      claimOf.set(c.nodeName, c);
    }
    const byId = c.providerID ? nodeByProviderId.get(c.providerID) : undefined;
    if (byId) {
      starting.add(byId.name);
      claimOf.set(byId.name, c);
    }
  }
  const nodes = [...snap.nodes].sort((a, b) => (a.name < b.name ? -1 : 1));
  // DaemonSet pods each node runs ("namespace/daemonset"): one its pool's DaemonSets should run
  // there but does not yet (a node just up) still takes its room, as Karpenter counts it.
  const daemonsOn = new Map<string, Set<string>>();
  for (let i = 0; i < snap.pods.length; i++) {
    const p = snap.pods[i]!;
    if (p.ownerKind !== "DaemonSet" || !p.nodeName || !p.ownerName) continue;
    let set = daemonsOn.get(p.nodeName);
    if (!set) daemonsOn.set(p.nodeName, set = new Set());
    set.add(`${p.namespace}/${p.ownerName}`);
  }
  for (const n of nodes) {
    if (n.deleting || n.unschedulable) continue;
    if (!n.ready && !starting.has(n.name)) continue;
    if ((n.taints ?? []).some((t) => t.key === UNREACHABLE_TAINT)) continue;
    const u = usedOn.get(n.name) ?? { cpu: 0, memory: 0, pods: 0 };
    const missing = { cpu: 0, memory: 0, pods: 0 };
    const pool = pools.find((p) => p.pool.name === n.labels[NODEPOOL_LABEL_KEY]);
    for (const ds of pool?.daemonSets ?? []) {
      if (daemonsOn.get(n.name)?.has(`${ds.namespace}/${ds.ownerName}`)) continue;
      const r = podRequests(ds);
      missing.cpu += r.cpu;
      missing.memory += r.memory;
      missing.pods += 1;
    }
    const claim = claimOf.get(n.name);
    const labels = claim ? { ...claim.labels, ...n.labels } : n.labels;
    const taints = claim ? withClaimTaints(n.taints ?? [], claim.taints) : n.taints ?? [];
    const bin = makeBin(
      "node",
      n.name,
      labels,
      taints,
      {
        cpu: n.allocatable.cpu - u.cpu - missing.cpu,
        memory: n.allocatable.memory - u.memory - missing.memory,
      },
      (n.allocatable.pods ?? 110) - u.pods - missing.pods,
    );
    if (n.allocatable.extended || u.ext) {
      bin.ext = addExtended({ ...n.allocatable.extended }, u.ext ?? {}, -1);
    }
    if (u.ports) bin.ports = new Set(u.ports);
    bin.tenants = tenantsFor(config, snap, labels);
    bins.push(bin);
  }
  const templates = new Map(config.machineTemplates.map((t) => [t.name, t]));
  const claims = [...snap.nodeClaims].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const c of claims) {
    if (c.deleting) continue;
    const hasNode = (c.nodeName && nodesByName.has(c.nodeName)) ||
      (c.providerID && nodeByProviderId.has(c.providerID));
    if (hasNode) continue;
    const t = templates.get(c.machineTemplate);
    const reserved = t ? kubeletKeeps(t) : { cpu: 0, memory: 0 };
    const labels = { ...c.labels };
    labels[HOSTNAME_KEY] ??= c.nodeName ?? c.name;
    const ctx = pools.find((p) => p.pool.name === c.nodePool);
    const ds = ctx?.dsOverhead ?? { cpu: 0, memory: 0 };
    const bin = makeBin("claim", c.name, labels, c.taints, {
      cpu: c.shape.cpu - reserved.cpu - ds.cpu,
      memory: c.shape.memory - reserved.memory - ds.memory,
    }, (t?.maxPods ?? 110) - (ctx?.dsPods ?? 0));
    const offered = t ? offeredExtended(t, c.shape) : undefined;
    if (offered) bin.ext = addExtended({ ...offered }, ctx?.dsExtended ?? {}, -1);
    if (ctx?.dsPorts.length) bin.ports = new Set(hostPortKeys(ctx.dsPorts));
    bin.tenants = tenantsFor(config, snap, labels);
    bins.push(bin);
    if (labels[ZONE_KEY]) claimZones.push([c.nodePool, labels[ZONE_KEY]]);
  }
  return { bins, claimZones };
}

/** The node's taints plus those of its claim it does not carry yet (same key and effect). */
function withClaimTaints(node: readonly Taint[], claim: readonly Taint[]): Taint[] {
  const out = [...node];
  for (const t of claim) {
    if (!out.some((o) => o.key === t.key && o.effect === t.effect)) out.push(t);
  }
  return out;
}

/** The tenants a bin must check, when there are some and its labels name a tenant. */
function tenantsFor(
  config: Config,
  snap: Snapshot,
  labels: Record<string, string>,
): TenancyView | undefined {
  if (!config.tenants?.length) return undefined;
  return labels[TENANT_LABEL_KEY] !== undefined || labels[TENANT_SHARED_LABEL_KEY] !== undefined
    ? { tenants: config.tenants, namespaceLabels: snap.namespaceLabels }
    : undefined;
}

/** Can a pod with `pod`'s tolerations and node constraints go onto bin `b` at all? */
export function binTakes(b: Bin, pod: Pod): boolean {
  if (untoleratedTaint(b.taints, pod.tolerations)) return false;
  const tenants = b.tenants ?? b.ctx?.tenants;
  if (tenants && nodeRefusesNamespace(b.labels, tenants, pod.namespace)) return false;
  return matchesNodeConstraints(b.labels, pod.nodeSelector, pod.requiredNodeAffinity, b.name);
}
