/**
 * The one entry point of the decision core: given a Snapshot of the cluster and the Proxmox
 * inventory, say everything that should happen now, each action with its Reason. It composes
 * provisioning (launches), the NodeClaim lifecycle (conditions, timeouts, node repair,
 * finalization), drift and orphan findings (a three-way comparison of owned VMs, Nodes and
 * NodeClaims) and disruption (scale-down commands). The daemon carries the plan out through its
 * executor; the simulator applies it to its world. Pure: time comes in as `snapshot.now`, and
 * the only memory between passes is the returned `state`.
 *
 * May import: core/ only.
 */
import type { Condition, Config, Node, NodeClaim, Snapshot, Taint, VM } from "./model.ts";
import { type PlannedClaim, provision, type ProvisionPlan } from "./provisioning.ts";
import {
  disrupt,
  type DisruptionCommand,
  type DisruptionPlan,
  type DisruptionState,
  initialDisruptionState,
} from "./disruption.ts";
import { condition, isTrue } from "./claim_state.ts";
import { type Reason, reason } from "./reason.ts";
import { shortHash, stableJson } from "./hash.ts";
import { NODECLAIM_LABEL_KEY, NODEPOOL_LABEL_KEY, UNREGISTERED_TAINT_KEY } from "./labels.ts";

/** The taint a node registers with; proxscale removes it once labels and taints are synced. */
export const UNREGISTERED_TAINT: Taint = { key: UNREGISTERED_TAINT_KEY, effect: "NoExecute" };

/** `proxmox://<provider>/<vmid>`: how a Node names the VM it runs on. */
export function providerIdOf(provider: string, vmid: number): string {
  return `proxmox://${provider}/${vmid}`;
}

/** The provider and vmid of a proxmox:// providerID, if it is one. */
export function parseProviderId(
  id: string | undefined,
): { provider: string; vmid: number } | undefined {
  const m = /^proxmox:\/\/([^/]+)\/(\d+)$/.exec(id ?? "");
  return m ? { provider: m[1]!, vmid: Number(m[2]) } : undefined;
}

/**
 * Hash of what a NodeClaim is made from (its pool's node-facing spec and its MachineTemplate):
 * a claim whose hash differs from the current one has drifted.
 */
export function templateHashOf(config: Config, nodePool: string): string | undefined {
  const pool = config.nodePools.find((p) => p.name === nodePool);
  const tmpl = config.machineTemplates.find((t) => t.name === pool?.machineTemplate);
  if (!pool || !tmpl) return undefined;
  return shortHash(stableJson({
    requirements: pool.requirements,
    labels: pool.labels,
    taints: pool.taints,
    startupTaints: pool.startupTaints,
    template: tmpl,
  }));
}

/** One thing to do, always with why. */
export type Action =
  /** Create the NodeClaim (when new) and launch its VM; resumes a claim not yet Launched. */
  | { kind: "LaunchClaim"; claim: NodeClaim; pods: string[]; isNew: boolean; reason: Reason }
  /** Sync the node's labels/taints, drop the unregistered taint, record Registered. */
  | {
    kind: "RegisterNode";
    claim: string;
    node: string;
    labels: Record<string, string>;
    taints: Taint[];
    reason: Reason;
  }
  /** Write status conditions (and fields) on a NodeClaim. */
  | {
    kind: "UpdateClaimStatus";
    claim: string;
    conditions: Condition[];
    vmid?: number;
    host?: string;
    providerID?: string;
    nodeName?: string;
    reason: Reason;
  }
  /** Delete the NodeClaim (its finalizer then removes VM and Node). */
  | { kind: "DeleteClaim"; claim: string; reason: Reason }
  /** A NodeClaim being deleted: remove its VM, then its Node, then the finalizer. */
  | {
    kind: "FinalizeClaim";
    claim: string;
    vm?: { provider: string; vmid: number; host: string };
    node?: string;
    reason: Reason;
  }
  /** An owned VM no NodeClaim claims: delete it. */
  | { kind: "GarbageCollectVM"; vm: VM; reason: Reason }
  /** A proxscale Node whose VM and NodeClaim are gone. */
  | { kind: "RemoveNode"; node: string; reason: Reason }
  /** The claim's template hash differs from its pool's: mark Drifted (disruption replaces it). */
  | { kind: "MarkDrifted"; claim: string; reason: Reason }
  /** Carry out a disruption command (replacements first, then drain and delete). */
  | { kind: "Disrupt"; command: DisruptionCommand; reason: Reason };

/** What one pass remembers for the next. */
export type ReconcileState = {
  disruption: DisruptionState;
  /** First time an owned VM without a NodeClaim was seen, by `<provider>/<vmid>`. */
  orphanSince: Record<string, number>;
  /** First time a Ready claim's node was seen NotReady, by claim name. */
  notReadySince: Record<string, number>;
};

/** The state before the first pass. */
export function initialReconcileState(): ReconcileState {
  return { disruption: initialDisruptionState(), orphanSince: {}, notReadySince: {} };
}

/** The plan of one pass, the sub-plans it was made from, and the state to pass next time. */
export type ReconcilePlan = {
  actions: Action[];
  provisioning: ProvisionPlan;
  disruption: DisruptionPlan;
  state: ReconcileState;
};

const cond = (type: string, status: "True" | "False", r: Reason, now: number): Condition => ({
  type,
  status,
  reason: r.code,
  message: r.message,
  lastTransitionTime: now,
});

/** The NodeClaim object a planned claim becomes. */
export function claimFromPlan(p: PlannedClaim, config: Config, now: number): NodeClaim {
  const hash = templateHashOf(config, p.nodePool);
  return {
    name: p.name,
    nodePool: p.nodePool,
    machineTemplate: p.machineTemplate,
    provider: p.provider,
    shape: p.shape,
    host: p.host,
    createdAt: now,
    labels: { ...p.labels, [NODEPOOL_LABEL_KEY]: p.nodePool },
    taints: p.taints,
    startupTaints: p.startupTaints,
    ...(hash ? { templateHash: hash } : {}),
    conditions: [],
  };
}

/** Decides one pass. Same snapshot, config and state: same plan. */
export function reconcile(
  snapshot: Snapshot,
  config: Config,
  state: ReconcileState = initialReconcileState(),
): ReconcilePlan {
  const now = snapshot.now;
  const s = config.settings;
  const actions: Action[] = [];
  const vmsByClaim = new Map<string, VM>();
  for (const vm of snapshot.vms) if (vm.claim) vmsByClaim.set(vm.claim, vm);
  const nodesById = new Map<string, Node>();
  for (const n of snapshot.nodes) if (n.providerID) nodesById.set(n.providerID, n);
  const claimNames = new Set(snapshot.nodeClaims.map((c) => c.name));
  const vmKeys = new Set(snapshot.vms.map((v) => `${v.provider}/${v.vmid}`));
  const next: ReconcileState = {
    disruption: state.disruption,
    orphanSince: {},
    notReadySince: {},
  };
  const gone = new Set<string>(); // claims this pass deletes: no launch, no disruption

  for (const c of [...snapshot.nodeClaims].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const vm = vmsByClaim.get(c.name);
    const pid = vm ? providerIdOf(vm.provider, vm.vmid) : c.providerID;
    const node = pid ? nodesById.get(pid) : undefined;
    if (c.deleting) {
      const why = reason(
        "Drained",
        `NodeClaim ${c.name} is being deleted: remove VM, Node, finalizer`,
      );
      actions.push({
        kind: "FinalizeClaim",
        claim: c.name,
        ...(vm ? { vm: { provider: vm.provider, vmid: vm.vmid, host: vm.host } } : {}),
        ...(node ? { node: node.name } : c.nodeName ? { node: c.nodeName } : {}),
        reason: why,
      });
      gone.add(c.name);
      continue;
    }
    const del = (r: Reason) => {
      actions.push({ kind: "DeleteClaim", claim: c.name, reason: r });
      gone.add(c.name);
    };
    const launched = isTrue(c, "Launched");
    if (!launched) {
      if (vm) {
        // The VM exists (a launch finished, or a crash hit before its status was written).
        const r = reason("Launched", `VM ${vm.vmid} on ${vm.host} carries NodeClaim ${c.name}`);
        actions.push({
          kind: "UpdateClaimStatus",
          claim: c.name,
          conditions: [cond("Launched", "True", r, now)],
          vmid: vm.vmid,
          host: vm.host,
          providerID: providerIdOf(vm.provider, vm.vmid),
          reason: r,
        });
      } else if (now - c.createdAt > s.launchTimeout) {
        del(reason(
          "LaunchTimeout",
          `NodeClaim ${c.name} has no VM ${Math.round((now - c.createdAt) / 1000)}s after ` +
            `creation (launchTimeout ${s.launchTimeout / 1000}s): delete and retry`,
        ));
      } else {
        actions.push({
          kind: "LaunchClaim",
          claim: c,
          pods: [],
          isNew: false,
          reason: reason(
            "PodsPending",
            `NodeClaim ${c.name} is not Launched yet: (re)start its launch`,
          ),
        });
      }
      continue;
    }
    if (!vm) {
      del(
        reason("VMVanished", `the VM of NodeClaim ${c.name} (${c.providerID ?? "no id"}) is gone`),
      );
      continue;
    }
    if (!isTrue(c, "Registered")) {
      if (node) {
        const labels = {
          ...c.labels,
          [NODEPOOL_LABEL_KEY]: c.nodePool,
          [NODECLAIM_LABEL_KEY]: c.name,
        };
        actions.push({
          kind: "RegisterNode",
          claim: c.name,
          node: node.name,
          labels,
          taints: [...c.taints, ...c.startupTaints],
          reason: reason("Registered", `Node ${node.name} joined for NodeClaim ${c.name}`),
        });
      } else {
        const since = condition(c, "Launched")?.lastTransitionTime ?? c.createdAt;
        if (now - since > s.registrationTimeout) {
          del(reason(
            "RegistrationTimeout",
            `no Node registered for VM ${vm.vmid} within registrationTimeout ` +
              `${s.registrationTimeout / 1000}s: delete and retry`,
          ));
        }
      }
      continue;
    }
    if (!node) {
      del(reason("VMVanished", `the Node of NodeClaim ${c.name} is gone`));
      continue;
    }
    if (!isTrue(c, "Ready")) {
      const startupLeft = (node.taints ?? []).some((t) =>
        t.key === UNREGISTERED_TAINT_KEY || c.startupTaints.some((st) => st.key === t.key)
      );
      if (node.ready && !startupLeft) {
        const r = reason("Ready", `Node ${node.name} is Ready and its startup taints are gone`);
        actions.push({
          kind: "UpdateClaimStatus",
          claim: c.name,
          conditions: [cond("Initialized", "True", r, now), cond("Ready", "True", r, now)],
          reason: r,
        });
      }
      continue;
    }
    if (!node.ready) {
      const since = state.notReadySince[c.name] ?? now;
      next.notReadySince[c.name] = since;
      if (now - since > s.nodeRepairAfter) {
        del(reason(
          "NodeNotReady",
          `Node ${node.name} NotReady for ${Math.round((now - since) / 1000)}s ` +
            `(nodeRepairAfter ${s.nodeRepairAfter / 1000}s): replace it`,
        ));
        continue;
      }
    }
    const want = templateHashOf(config, c.nodePool);
    if (want && c.templateHash && c.templateHash !== want && !isTrue(c, "Drifted")) {
      actions.push({
        kind: "MarkDrifted",
        claim: c.name,
        reason: reason(
          "Drifted",
          `NodeClaim ${c.name} was made from template hash ${c.templateHash}, ` +
            `its NodePool/MachineTemplate now hash to ${want}`,
        ),
      });
    }
  }

  // Owned VMs that no NodeClaim claims: deleted once the grace period has passed.
  for (const vm of snapshot.vms) {
    if (!vm.claim || claimNames.has(vm.claim)) continue;
    const key = `${vm.provider}/${vm.vmid}`;
    const since = state.orphanSince[key] ?? now;
    next.orphanSince[key] = since;
    if (now - since >= s.orphanGracePeriod) {
      actions.push({
        kind: "GarbageCollectVM",
        vm,
        reason: reason(
          "OrphanVM",
          `VM ${vm.vmid} on ${vm.host} names NodeClaim ${vm.claim}, which does not exist ` +
            `(seen for ${Math.round((now - since) / 1000)}s)`,
        ),
      });
    }
  }
  // proxscale Nodes whose VM and NodeClaim are both gone.
  const claimIds = new Set(snapshot.nodeClaims.map((c) => c.providerID).filter((x) => x));
  const providers = new Set(config.providers.map((p) => p.name));
  for (const n of snapshot.nodes) {
    const id = parseProviderId(n.providerID);
    if (!id || !providers.has(id.provider) || n.deleting) continue;
    if (vmKeys.has(`${id.provider}/${id.vmid}`) || claimIds.has(n.providerID)) continue;
    actions.push({
      kind: "RemoveNode",
      node: n.name,
      reason: reason("OrphanNode", `Node ${n.name} runs on VM ${id.vmid}, which is gone`),
    });
  }

  // Decisions about capacity see only the claims that stay.
  const live: Snapshot = gone.size === 0
    ? snapshot
    : { ...snapshot, nodeClaims: snapshot.nodeClaims.filter((c) => !gone.has(c.name)) };
  const plan = provision(live, config);
  for (const p of plan.claims) {
    actions.push({
      kind: "LaunchClaim",
      claim: claimFromPlan(p, config, now),
      pods: p.pods,
      isNew: true,
      reason: p.reason,
    });
  }
  const d = disrupt(live, config, state.disruption);
  next.disruption = d.state;
  const nominated = new Set(plan.placements.filter((p) => p.kind === "node").map((p) => p.target));
  for (const cmd of d.commands) {
    // A node provisioning just counted on for a pending pod waits for the next pass.
    if (cmd.candidates.some((c) => nominated.has(c.node) || gone.has(c.nodeClaim))) continue;
    actions.push({ kind: "Disrupt", command: cmd, reason: cmd.reason });
  }
  return { actions, provisioning: plan, disruption: d, state: next };
}
