/**
 * Drift and orphans: the template hash a NodeClaim is made from, and the
 * three-way comparison of owned VMs, Nodes and NodeClaims run every pass:
 *
 * - an owned VM no NodeClaim claims is deleted once it has been seen so for the grace period;
 * - a proxscale Node whose VM is gone (and that no NodeClaim still accounts for) is removed;
 * - a launched NodeClaim whose VM vanished is relaunched (never registered) or deleted;
 * - a NodeClaim whose template hash differs from its NodePool/MachineTemplate is marked Drifted
 *   (replacing it is the disruption's business).
 *
 * Safety first: a VM is only ever deleted when it is proven ours (the Provider's managed tag,
 * a NodeClaim identity, inside the Provider's VMID range, not a template), and nothing is
 * concluded from a VM's absence unless that Provider's inventory was read in full this pass.
 * Pure: first-seen times travel in `DriftState` (state in, state out).
 *
 * May import: core/ only.
 */
import type {
  Condition,
  MachineTemplate,
  Node,
  NodeClaim,
  NodePool,
  Provider,
  Taint,
  VM,
} from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import { fnv1a, stableJson } from "./hash.ts";
import { formatDuration } from "./duration.ts";
import { NODECLAIM_LABEL_KEY, NODEPOOL_LABEL_KEY } from "./labels.ts";
import { parseProviderId, providerIdFor, providerOfId } from "./lifecycle_nodes.ts";
import { taintText } from "./taints.ts";

/** Bumped when the hashed fields change, so an upgrade does not drift the whole fleet. */
export const TEMPLATE_HASH_VERSION = "v1";

/** Drops zero values (Karpenter's hash ignores them): adding `discard: false` is no change. */
function withoutZeroes(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(withoutZeroes).filter((v) => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const n = withoutZeroes(v);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  if (value === null || value === false || value === 0 || value === "") return undefined;
  return value;
}

/** A list hashed as a set: order does not matter. */
const asSet = <T>(list: readonly T[], key: (t: T) => string) =>
  [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

/**
 * The hash of what a NodeClaim is made from: the NodePool's node-facing template (labels,
 * annotations, taints, startup taints, expireAfter, terminationGracePeriod, the template it
 * names) and the MachineTemplate's VM (source, VM options, disks, network, bootstrap, labels,
 * taints, tags, kubelet reservations and max pods). Left out as in Karpenter: requirements, limits,
 * weight, scaling and disruption settings, and the VM shapes (a shape is chosen per claim, like
 * an instance type). Slices count as sets and zero values are ignored. Format `v1-<hex>`.
 */
export function templateHash(pool: NodePool, template: MachineTemplate): string {
  const parts = {
    pool: {
      machineTemplate: pool.machineTemplate,
      labels: pool.labels,
      annotations: pool.annotations,
      taints: asSet(pool.taints, taintText),
      startupTaints: asSet(pool.startupTaints, taintText),
      expireAfter: pool.disruption.expireAfter,
      terminationGracePeriod: pool.disruption.terminationGracePeriod,
    },
    template: {
      provider: template.provider,
      source: template.source,
      vm: template.vm,
      disks: asSet(template.disks, (d) => d.slot),
      network: asSet(template.network, (n) => n.slot),
      bootstrap: template.bootstrap,
      labels: template.labels,
      annotations: template.annotations,
      taints: asSet(template.taints, taintText),
      startupTaints: asSet(template.startupTaints, taintText),
      tags: asSet(template.tags, (t) => t),
      reserved: template.reserved,
      maxPods: template.maxPods,
      vmMemOverhead: template.vmMemOverhead,
      resourcePool: template.resourcePool,
    },
  };
  const hex = fnv1a(stableJson(withoutZeroes(parts) ?? {})).toString(16).padStart(8, "0");
  return `${TEMPLATE_HASH_VERSION}-${hex}`;
}

/**
 * Does the claim carry the node-facing parts (labels, taints, start-up taints) that `pool` and
 * `template` give a node now? The VM is built from today's template, but the node registers
 * with the claim's labels and taints: only when both agree is today's hash the node's own.
 */
export function claimCarriesTemplate(
  c: NodeClaim,
  pool: NodePool,
  template: MachineTemplate,
): boolean {
  for (const [k, v] of Object.entries({ ...template.labels, ...pool.labels })) {
    if (c.labels[k] !== v) return false;
  }
  const same = (a: readonly Taint[], b: readonly Taint[]) => {
    const x = new Set(a.map(taintText));
    const y = new Set(b.map(taintText));
    return x.size === y.size && [...x].every((t) => y.has(t));
  };
  return same(c.taints, [...template.taints, ...pool.taints]) &&
    same(c.startupTaints, [...template.startupTaints, ...pool.startupTaints]);
}

/** The version part of a template hash (`v1` of `v1-0a1b2c3d`). */
export function hashVersion(hash: string): string | undefined {
  const dash = hash.indexOf("-");
  return dash > 0 ? hash.slice(0, dash) : undefined;
}

/**
 * Is this VM proven ours? It carries a NodeClaim identity, sits inside the Provider's VMID range
 * and is not a template. Anything else is never deleted.
 */
export function isOwnedVm(vm: VM, provider: Provider | undefined): boolean {
  if (!provider || provider.name !== vm.provider) return false;
  if (vm.template || vm.claim === undefined || vm.claim === "") return false;
  // The claim identity in the description is the proof; the managed tag may be missing on a
  // clone whose launch died before its config step, so the VMID range is what bounds us.
  return vm.vmid >= provider.vmidRange.lower && vm.vmid <= provider.vmidRange.upper;
}

/** Owned VMs by the NodeClaim they carry, lowest vmid first. */
export function ownedVmsByClaim(
  vms: readonly VM[],
  providers: readonly Provider[],
): Map<string, VM[]> {
  const byName = new Map(providers.map((p) => [p.name, p]));
  const out = new Map<string, VM[]>();
  for (const vm of [...vms].sort((a, b) => a.vmid - b.vmid)) {
    if (!isOwnedVm(vm, byName.get(vm.provider))) continue;
    const list = out.get(vm.claim!);
    if (list) list.push(vm);
    else out.set(vm.claim!, [vm]);
  }
  return out;
}

/**
 * The VM of a claim: an owned VM carrying its name on its provider, at its recorded vmid when
 * one is recorded (lowest vmid otherwise). This is the `vm` core/lifecycle.ts takes.
 */
export function vmOfClaim(claim: NodeClaim, owned: Map<string, VM[]>): VM | undefined {
  return (owned.get(claim.name) ?? []).find((vm) =>
    vm.provider === claim.provider && (claim.vmid === undefined || claim.vmid === vm.vmid)
  );
}

/** First-seen times, epoch ms: VMs by `<provider>/<vmid>`, nodes and claims by name. */
export type DriftState = {
  orphanVmSince: Record<string, number>;
  orphanNodeSince: Record<string, number>;
  vanishedSince: Record<string, number>;
  /** Registered claims whose Node is gone, since when (absent in states of older versions). */
  nodeGoneSince?: Record<string, number>;
};

/**
 * How long a registered claim's Node may be missing before the claim follows it: long enough
 * for a watch that restarts to see the Node again, short enough that `kubectl delete node`
 * ends the VM (and re-plans its pods) within a pass or two, as Karpenter's termination does.
 */
export const NODE_GONE_GRACE = 15_000;

/** The state before the first pass. */
export function initialDriftState(): DriftState {
  return { orphanVmSince: {}, orphanNodeSince: {}, vanishedSince: {}, nodeGoneSince: {} };
}

export type DriftInput = {
  vms: readonly VM[];
  nodes: readonly Node[];
  /** Every NodeClaim, from a synced cache: a missing claim makes its VM look orphaned. */
  claims: readonly NodeClaim[];
  pools: readonly NodePool[];
  templates: readonly MachineTemplate[];
  providers: readonly Provider[];
  /** Providers whose VM inventory was read in full this pass; about others nothing is concluded. */
  inventoryFresh: readonly string[];
  /** Claims whose VM's host cannot be read this pass: their VM is unknown, not vanished. */
  claimsWithUnknownVm?: readonly string[];
  /** ms a finding must persist before anything is deleted (Settings.orphanGracePeriod). */
  orphanGracePeriod: number;
  /** `<provider>/<vmid>` of VMs being adopted or kept (core/adoption.ts): never collected. */
  heldVms?: ReadonlySet<string>;
  now: number;
  state: DriftState;
};

/** What the comparison asks for, each with its Reason (OrphanVM, OrphanNode, VMVanished, Drifted). */
export type DriftAction =
  | { kind: "GarbageCollectVM"; vm: VM; reason: Reason }
  | { kind: "RemoveNode"; node: string; reason: Reason }
  /** The claim's VM vanished after its node registered: delete the claim (pods get re-planned). */
  | { kind: "DeleteClaim"; claim: string; reason: Reason }
  /** The claim's VM vanished before any node registered: launch it again. */
  | { kind: "RelaunchClaim"; claim: string; reason: Reason }
  | { kind: "MarkDrifted"; claim: string; condition: Condition; reason: Reason }
  /** The claim matches its pool again (configuration reverted): Drifted=False. */
  | { kind: "ClearDrifted"; claim: string; condition: Condition; reason: Reason };

/** A finding still inside its grace period, for status and logs. */
export type DriftWatch = {
  code: "OrphanVM" | "OrphanNode" | "VMVanished" | "NodeDeleted";
  subject: string;
  since: number;
  /** When the action comes due. */
  dueAt: number;
};

export type DriftReport = { actions: DriftAction[]; watching: DriftWatch[]; state: DriftState };

const isTrueCond = (c: NodeClaim, type: string) =>
  c.conditions.some((x) => x.type === type && x.status === "True");

/** One pass of the three-way comparison and the drift check. Same input, same report. */
export function reconcileDrift(input: DriftInput): DriftReport {
  const { now, orphanGracePeriod: grace } = input;
  const fresh = new Set(input.inventoryFresh);
  const unknownVm = new Set(input.claimsWithUnknownVm ?? []);
  const providers = new Map(input.providers.map((p) => [p.name, p]));
  const owned = ownedVmsByClaim(input.vms, input.providers);
  const claims = [...input.claims].sort((a, b) => (a.name < b.name ? -1 : 1));
  const claimByName = new Map(claims.map((c) => [c.name, c]));
  const actions: DriftAction[] = [];
  const watching: DriftWatch[] = [];
  const state = initialDriftState();
  const age = (ms: number) => formatDuration(ms);

  /** Records a finding; true when it has persisted for the grace period. */
  const due = (
    map: keyof DriftState,
    key: string,
    code: DriftWatch["code"],
    subject: string,
    wait = grace,
  ): { since: number; due: boolean } => {
    const since = input.state[map]?.[key] ?? now;
    (state[map] ??= {})[key] = since;
    const isDue = now - since >= wait;
    if (!isDue) watching.push({ code, subject, since, dueAt: since + wait });
    return { since, due: isDue };
  };

  // 1. Owned VMs without a claim.
  for (const vm of [...input.vms].sort((a, b) => a.vmid - b.vmid)) {
    if (!isOwnedVm(vm, providers.get(vm.provider))) continue;
    const claim = claimByName.get(vm.claim!);
    const claimed = claim !== undefined && claim.provider === vm.provider &&
      (claim.vmid === undefined || claim.vmid === vm.vmid);
    if (claimed) continue;
    const key = `${vm.provider}/${vm.vmid}`;
    if (input.heldVms?.has(key)) continue;
    const subject = `VM ${vm.vmid} on ${vm.host}`;
    const f = due("orphanVmSince", key, "OrphanVM", subject);
    if (!f.due) continue;
    const why = claim
      ? `NodeClaim ${claim.name} records VM ${claim.vmid}, not this one (duplicate launch)`
      : `no NodeClaim ${vm.claim} exists`;
    actions.push({
      kind: "GarbageCollectVM",
      vm,
      reason: reason(
        "OrphanVM",
        `${subject} (${vm.name}) is ours but ${why}, for ${age(now - f.since)}`,
      ),
    });
  }

  // 2. Launched claims whose VM vanished.
  const accounted = new Set<string>(); // nodes a live claim still answers for
  for (const c of claims) {
    if (c.providerID) accounted.add(`id:${c.providerID}`);
    if (c.nodeName) accounted.add(`name:${c.nodeName}`);
    accounted.add(`claim:${c.name}`);
    if (c.deleting || !isTrueCond(c, "Launched") || !fresh.has(c.provider)) continue;
    if (unknownVm.has(c.name)) continue;
    if (vmOfClaim(c, owned)) continue;
    const subject = `NodeClaim ${c.name}`;
    const f = due("vanishedSince", c.name, "VMVanished", subject);
    if (!f.due) continue;
    const vmText = c.vmid !== undefined ? `VM ${c.vmid}` : "its VM";
    const registered = isTrueCond(c, "Registered");
    actions.push({
      kind: registered ? "DeleteClaim" : "RelaunchClaim",
      claim: c.name,
      reason: reason(
        "VMVanished",
        `${vmText} of ${subject} is gone from provider ${c.provider} for ${age(now - f.since)}: ${
          registered ? "delete the claim, its pods are planned again" : "launch it again"
        }`,
      ),
    });
  }

  // 3. proxscale Nodes whose VM is gone and that no claim answers for.
  // A machine may name its own providerID (bare metal: redfish://<provider>/<uuid>).
  const vmIds = new Set(input.vms.map((v) => v.providerID ?? providerIdFor(v.provider, v.vmid)));
  for (const n of [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (n.deleting || n.labels[NODEPOOL_LABEL_KEY] === undefined) continue;
    const provider = providerOfId(n.providerID);
    if (!provider || !providers.has(provider) || !fresh.has(provider)) continue;
    if (vmIds.has(n.providerID!)) continue;
    const pid = parseProviderId(n.providerID);
    const claimLabel = n.labels[NODECLAIM_LABEL_KEY];
    if (
      accounted.has(`id:${n.providerID}`) || accounted.has(`name:${n.name}`) ||
      (claimLabel !== undefined && accounted.has(`claim:${claimLabel}`))
    ) continue;
    const f = due("orphanNodeSince", n.name, "OrphanNode", `node ${n.name}`);
    if (!f.due) continue;
    actions.push({
      kind: "RemoveNode",
      node: n.name,
      reason: reason(
        "OrphanNode",
        `node ${n.name}: ${
          pid ? `VM ${pid.vmid}` : `machine ${n.providerID}`
        } of provider ${provider} is gone and no NodeClaim owns the node, for ${
          age(now - f.since)
        }`,
      ),
    });
  }

  // 4. Registered claims whose Node is gone: someone deleted it (`kubectl delete node`). The
  // claim, so its VM, follows, as a Karpenter NodeClaim does when its Node is deleted; left
  // alone it would stay Ready with no Node, its VM running and counted, its pods re-planned
  // onto it forever.
  const nodeIds = new Set<string>();
  const nodeNames = new Set<string>();
  for (const n of input.nodes) {
    if (n.providerID) nodeIds.add(n.providerID);
    nodeNames.add(n.name);
  }
  for (const c of claims) {
    if (c.deleting || !isTrueCond(c, "Registered")) continue;
    if (c.providerID === undefined && c.nodeName === undefined) continue;
    if (c.providerID !== undefined && nodeIds.has(c.providerID)) continue;
    if (c.nodeName !== undefined && nodeNames.has(c.nodeName)) continue;
    const node = c.nodeName ?? c.providerID!;
    const f = due("nodeGoneSince", c.name, "NodeDeleted", `node ${node}`, NODE_GONE_GRACE);
    if (!f.due) continue;
    actions.push({
      kind: "DeleteClaim",
      claim: c.name,
      reason: reason(
        "NodeDeleted",
        `node ${node} of NodeClaim ${c.name} was deleted ${
          age(now - f.since)
        } ago and has not come back: the NodeClaim and its VM go too, its pods are planned again`,
      ),
    });
  }

  // 5. Template drift of launched claims.
  const pools = new Map(input.pools.map((p) => [p.name, p]));
  const templates = new Map(input.templates.map((t) => [t.name, t]));
  for (const c of claims) {
    if (c.deleting || !isTrueCond(c, "Launched")) continue;
    const d = driftOf(c, pools.get(c.nodePool), templates);
    const drifted = c.conditions.find((x) => x.type === "Drifted");
    if (d && drifted?.status !== "True") {
      const r = reason("Drifted", d.message);
      actions.push({
        kind: "MarkDrifted",
        claim: c.name,
        condition: {
          type: "Drifted",
          status: "True",
          reason: d.conditionReason,
          message: d.message,
          lastTransitionTime: now,
        },
        reason: r,
      });
    } else if (!d && drifted?.status === "True" && c.templateHash !== undefined) {
      const message = `NodeClaim ${c.name} matches NodePool ${c.nodePool} again`;
      actions.push({
        kind: "ClearDrifted",
        claim: c.name,
        condition: {
          type: "Drifted",
          status: "False",
          reason: "NotDrifted",
          message,
          lastTransitionTime: now,
        },
        reason: reason("Drifted", message),
      });
    }
  }
  return { actions, watching, state };
}

/** Why a claim has drifted, or undefined. Unknown hashes and other hash versions never drift. */
function driftOf(
  c: NodeClaim,
  pool: NodePool | undefined,
  templates: Map<string, MachineTemplate>,
): { conditionReason: string; message: string } | undefined {
  if (!pool) {
    return {
      conditionReason: "NodePoolNotFound",
      message: `NodePool ${c.nodePool} of NodeClaim ${c.name} no longer exists`,
    };
  }
  const template = templates.get(pool.machineTemplate);
  if (!template) {
    return {
      conditionReason: "MachineTemplateNotFound",
      message: `MachineTemplate ${pool.machineTemplate} of NodePool ${pool.name} does not exist`,
    };
  }
  if (c.templateHash === undefined) return undefined;
  const current = templateHash(pool, template);
  if (hashVersion(current) !== hashVersion(c.templateHash)) return undefined;
  if (current === c.templateHash) return undefined;
  return {
    conditionReason: "NodePoolDrifted",
    message: `NodeClaim ${c.name} was made from ${c.templateHash}; NodePool ${pool.name} ` +
      `with MachineTemplate ${template.name} is now ${current}`,
  };
}
