/**
 * Disaster recovery: NodeClaims rebuilt from what the VMs and Nodes still say about themselves.
 * When NodeClaims are lost (CRDs deleted and re-applied, etcd restored from an older snapshot),
 * every owned VM looks orphaned. Before anything is collected, each such VM is judged:
 *
 * - a running VM whose Node (found by providerID `proxmox://<provider>/<vmid>`, else by the
 *   nodeclaim label) is Ready, of a NodePool and MachineTemplate still configured, is adopted:
 *   its NodeClaim is rebuilt from the VM's description (claim name, template hash), the VM
 *   (vmid, host, size)
 *   and the Node (pool, labels, providerID), already Launched, Registered, Initialized, Ready;
 *   its creation time is the one the launch recorded on the VM, so expireAfter still counts from
 *   the first launch (a VM made before that was recorded: the VM's own creation time, else its
 *   last start, else the adoption time; the reason says which);
 * - a VM with a Node that cannot be adopted (NotReady, pool or template gone, VM stopped) is
 *   kept and reported until the operator decides (`settings.deleteUnadoptableVms`);
 * - a VM without any Node is a launch that never finished: the orphan sweep (core/drift.ts)
 *   collects it after the grace period, as before.
 *
 * While any adoption is pending, the pass holds back disruption and new launches: pool limits
 * and budgets count claims, and those claims are not back yet.
 *
 * May import: core/ only.
 */
import type { Condition, Config, Node, NodeClaim, VM } from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import { isOwnedVm } from "./drift.ts";
import {
  CAPACITY_TYPE_LABEL_KEY,
  HOST_LABEL_KEY,
  NODECLAIM_LABEL_KEY,
  NODEPOOL_LABEL_KEY,
} from "./labels.ts";
import { providerIdFor } from "./lifecycle_nodes.ts";
import { INSTANCE_TYPE_KEY } from "./provisioning_pools.ts";
import { ZONE_KEY } from "./topology.ts";

/** A NodeClaim to create again for a VM that runs a Ready Node. */
export type Adoption = { claim: NodeClaim; vm: VM; node: string; reason: Reason };

/** An owned VM with a Node whose claim cannot be rebuilt: kept until the operator decides. */
export type KeptVm = { vm: VM; reason: Reason };

/** What recovery decides this pass. */
export type AdoptionPlan = {
  adopt: Adoption[];
  kept: KeptVm[];
  /** `<provider>/<vmid>` of every adopted or kept VM: the orphan sweep leaves them alone. */
  held: Set<string>;
};

/** Node labels a rebuilt claim takes over (registration wrote them from the old claim). */
const CARRIED_LABELS = [INSTANCE_TYPE_KEY, ZONE_KEY, HOST_LABEL_KEY, CAPACITY_TYPE_LABEL_KEY];

const TYPES = ["Launched", "Registered", "Initialized", "Ready"] as const;

/** Judges every owned VM whose claim is missing (see the file comment). Pure. */
export function planAdoptions(
  vms: readonly VM[],
  nodes: readonly Node[],
  claims: readonly NodeClaim[],
  config: Config,
  now: number,
): AdoptionPlan {
  const plan: AdoptionPlan = { adopt: [], kept: [], held: new Set() };
  const claimed = new Set(claims.map((c) => c.name));
  const providers = new Map(config.providers.map((p) => [p.name, p]));
  const byId = new Map<string, Node>();
  const byLabel = new Map<string, Node>();
  for (const n of nodes) {
    if (n.providerID) byId.set(n.providerID, n);
    const l = n.labels[NODECLAIM_LABEL_KEY];
    if (l) byLabel.set(l, n);
  }
  const taken = new Set<string>();
  for (const vm of [...vms].sort((a, b) => a.vmid - b.vmid)) {
    if (!isOwnedVm(vm, providers.get(vm.provider)) || claimed.has(vm.claim!)) continue;
    const pid = vm.providerID ?? providerIdFor(vm.provider, vm.vmid);
    const labelled = byLabel.get(vm.claim!);
    const node = byId.get(pid) ??
      (labelled && labelled.providerID === undefined ? labelled : undefined);
    if (!node) continue; // never joined: a launch leftover for the orphan sweep
    const subject = `VM ${vm.vmid} on ${vm.host} (NodeClaim ${vm.claim})`;
    const key = `${vm.provider}/${vm.vmid}`;
    const poolName = node.labels[NODEPOOL_LABEL_KEY];
    const pool = config.nodePools.find((p) => p.name === poolName);
    const template = config.machineTemplates.find((t) => t.name === pool?.machineTemplate);
    const why = node.deleting
      ? `node ${node.name} is being deleted`
      : !node.ready
      ? `node ${node.name} is not Ready`
      : vm.status !== "running"
      ? `the VM is ${vm.status}`
      : !pool
      ? `node ${node.name} names NodePool ${poolName ?? "(none)"}, which is not configured`
      : !template
      ? `MachineTemplate ${pool.machineTemplate} of NodePool ${pool.name} is not configured`
      : taken.has(vm.claim!)
      ? `another VM already carries NodeClaim ${vm.claim}`
      : undefined;
    if (why !== undefined || !pool || !template) {
      if (config.settings.deleteUnadoptableVms) continue; // the orphan sweep may collect it
      plan.held.add(key);
      plan.kept.push({
        vm,
        reason: reason(
          "OrphanVMKept",
          `${subject} has no NodeClaim and cannot be adopted (${why}); it is kept until an ` +
            "operator deletes it or sets settings.deleteUnadoptableVms",
        ),
      });
      continue;
    }
    taken.add(vm.claim!);
    plan.held.add(key);
    const labels: Record<string, string> = {
      ...template.labels,
      ...pool.labels,
      [NODEPOOL_LABEL_KEY]: pool.name,
    };
    for (const k of CARRIED_LABELS) {
      const v = node.labels[k];
      if (v !== undefined) labels[k] = v;
    }
    const age = creationOf(vm, now);
    const message = `adopted after its NodeClaim was lost: VM ${vm.vmid} on ${vm.host}, ` +
      `node ${node.name} Ready`;
    const conditions: Condition[] = TYPES.map((type) => ({
      type,
      status: "True",
      reason: type,
      message,
      lastTransitionTime: now,
    }));
    plan.adopt.push({
      vm,
      node: node.name,
      claim: {
        name: vm.claim!,
        nodePool: pool.name,
        machineTemplate: template.name,
        provider: vm.provider,
        shape: {
          name: node.labels[INSTANCE_TYPE_KEY] ?? `adopted-${vm.size.cpu}m-${vm.size.memory}`,
          cpu: vm.size.cpu,
          memory: vm.size.memory,
        },
        host: vm.host,
        vmid: vm.vmid,
        providerID: pid,
        nodeName: node.name,
        createdAt: age.at,
        adoptedAt: now,
        labels,
        taints: [...template.taints, ...pool.taints],
        startupTaints: [...template.startupTaints, ...pool.startupTaints],
        // The hash the launch wrote on the VM; a VM without one never counts as drifted.
        ...(vm.templateHash ? { templateHash: vm.templateHash } : {}),
        conditions,
      },
      reason: reason(
        "ClaimAdopted",
        `NodeClaim ${vm.claim} rebuilt from ${subject}: node ${node.name} is Ready in ` +
          `NodePool ${pool.name}; ${age.says}`,
      ),
    });
  }
  return plan;
}

/** The creation time a rebuilt claim takes, and a phrase saying where it came from. */
function creationOf(vm: VM, now: number): { at: number; says: string } {
  const iso = (t: number) => new Date(t).toISOString();
  if (vm.claimCreatedAt !== undefined) {
    return { at: vm.claimCreatedAt, says: `created ${iso(vm.claimCreatedAt)} as the VM records` };
  }
  const none = "the VM records no claim creation time, so its age (expireAfter) counts from";
  if (vm.vmCreatedAt !== undefined) {
    return { at: vm.vmCreatedAt, says: `${none} the VM's creation ${iso(vm.vmCreatedAt)}` };
  }
  if (vm.startedAt !== undefined) {
    return { at: vm.startedAt, says: `${none} the VM's last start ${iso(vm.startedAt)}` };
  }
  return { at: now, says: `${none} this adoption` };
}
