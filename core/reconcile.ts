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
import { withHostMaintenance } from "./host_maintenance.ts";
import { hostMaintenanceConditions } from "./host_maintenance_conditions.ts";
import { withLeavingPodsPending } from "./provisioning_leaving.ts";
import type { Condition, Config, NodeClaim, Snapshot, Taint, VM } from "./model.ts";
import { type PlannedClaim, provision, type ProvisionPlan } from "./provisioning.ts";
import {
  disrupt,
  type DisruptionCommand,
  type DisruptionPlan,
  type DisruptionState,
  initialDisruptionState,
} from "./disruption.ts";
import { type Reason, reason } from "./reason.ts";
import {
  forecastConfigured,
  type ForecastNote,
  holdForecastCapacity,
  withForecast,
} from "./forecast.ts";
import { NODEPOOL_LABEL_KEY, UNREGISTERED_TAINT_KEY } from "./labels.ts";
import { type ClaimStatusFields, decideLifecycle } from "./lifecycle.ts";
import { guardNodeRepair, MAX_UNHEALTHY_FRACTION } from "./lifecycle_repair.ts";
import { NodeIndex } from "./lifecycle_nodes.ts";
import { planAdoptions } from "./adoption.ts";
import {
  type DriftState,
  initialDriftState,
  ownedVmsByClaim,
  reconcileDrift,
  templateHash,
  vmOfClaim,
} from "./drift.ts";

/** The taint a node registers with; proxscale removes it once labels and taints are synced. */
export const UNREGISTERED_TAINT: Taint = { key: UNREGISTERED_TAINT_KEY, effect: "NoExecute" };

/** The current template hash of a pool (core/drift.ts), undefined for an unknown pool. */
export function templateHashOf(config: Config, nodePool: string): string | undefined {
  const pool = config.nodePools.find((p) => p.name === nodePool);
  const tmpl = config.machineTemplates.find((t) => t.name === pool?.machineTemplate);
  return pool && tmpl ? templateHash(pool, tmpl) : undefined;
}

/** One thing to do, always with why. */
export type Action =
  /**
   * Create the NodeClaim (when new) and launch its VM; resumes a claim not yet Launched;
   * `relaunch` when its VM vanished before registering (a finished launch job may run again).
   */
  | {
    kind: "LaunchClaim";
    claim: NodeClaim;
    pods: string[];
    isNew: boolean;
    relaunch?: boolean;
    reason: Reason;
  }
  /** One node patch: labels, taints and startup taints on, `removeTaintKeys` off. */
  | {
    kind: "RegisterNode";
    claim: string;
    node: string;
    labels: Record<string, string>;
    taints: Taint[];
    removeTaintKeys: string[];
    reason: Reason;
  }
  /** Label the node initialized (core/lifecycle.ts). */
  | {
    kind: "MarkInitialized";
    claim: string;
    node: string;
    labels: Record<string, string>;
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
  /** Create again the lost NodeClaim of a running VM with a Ready Node (core/adoption.ts). */
  | { kind: "AdoptClaim"; claim: NodeClaim; reason: Reason }
  /** An owned VM with a Node whose claim cannot be rebuilt: kept, and reported once. */
  | { kind: "KeepOrphanVM"; vm: VM; reason: Reason }
  /** A proxscale Node whose VM and NodeClaim are gone. */
  | { kind: "RemoveNode"; node: string; reason: Reason }
  /** Drifted=True (template hash differs; disruption replaces it) or back to False. */
  | { kind: "MarkDrifted"; claim: string; condition: Condition; reason: Reason }
  /** Carry out a disruption command (replacements first, then drain and delete). */
  | { kind: "Disrupt"; command: DisruptionCommand; reason: Reason }
  /** Node repair is held back in this pool (too many NotReady nodes at once): report why. */
  | { kind: "RepairPaused"; nodePool: string; reason: Reason };

/** What one pass remembers for the next. */
export type ReconcileState = {
  disruption: DisruptionState;
  /** First-seen times of orphan VMs, orphan nodes and vanished VMs (core/drift.ts). */
  drift: DriftState;
  /** Since when a Ready claim's node has been NotReady, by claim name (core/lifecycle.ts). */
  notReadySince: Record<string, number>;
};

/** The state before the first pass. */
export function initialReconcileState(): ReconcileState {
  return { disruption: initialDisruptionState(), drift: initialDriftState(), notReadySince: {} };
}

/** The plan of one pass, the sub-plans it was made from, and the state to pass next time. */
export type ReconcilePlan = {
  actions: Action[];
  provisioning: ProvisionPlan;
  disruption: DisruptionPlan;
  state: ReconcileState;
};

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

/** What the job queue knows that the cluster does not show: launches that failed for good. */
export type JobFacts = {
  /** NodeClaim name -> the last error of its failed launch job (the PVE/Kubernetes message). */
  launchErrors?: Record<string, string>;
};

/** The two capacity deciders; the simulator injects spies to prove it calls nothing else. */
export type CapacityDeciders = { provision: typeof provision; disrupt: typeof disrupt };

/** The production deciders. */
export const CAPACITY_DECIDERS: CapacityDeciders = { provision, disrupt };

/** Scale-up and scale-down of one pass, composed the one way daemon and simulator share. */
export type CapacityPlan = {
  provisioning: ProvisionPlan;
  disruption: DisruptionPlan;
  /** The disruption commands to carry out now. */
  commands: DisruptionCommand[];
  /** Each forecasting pool's note (core/forecast.ts); present only when a pool opts in. */
  forecast?: ForecastNote[];
};

/**
 * Provisioning then disruption on the same snapshot. A command touching a node provisioning
 * just counted on for a pending pod waits for the next pass (it would strand that pod).
 */
export function planCapacity(
  snapshot: Snapshot,
  config: Config,
  state: DisruptionState,
  core: CapacityDeciders = CAPACITY_DECIDERS,
): CapacityPlan {
  // Pods of nodes already on their way out get room before their eviction.
  const input = withLeavingPodsPending(snapshot);
  const plain = core.provision(input, config);
  // Pools with scaleUp.forecast add claims ahead of predicted demand and hold their nodes
  // while a forecast window is open; with none, these return their inputs themselves.
  const ahead = withForecast(input, config, plain, core.provision);
  const provisioning = ahead.plan;
  const held = holdForecastCapacity(snapshot, config, ahead.placeholders);
  // Disrupt reuses this plan, with or without nodes leaving (not with placeholders: disruption
  // then places them itself).
  const disruption = core.disrupt(
    held,
    config,
    state,
    held === snapshot
      ? {
        snapshot: input,
        config,
        plan: provisioning,
        // With nodes leaving, the plan already places their pods: the pass reuses it.
        ...(input !== snapshot ? { leavingPendingOf: snapshot } : {}),
      }
      : undefined,
  );
  // Most passes plan no command: the nominated set is built only for a pass that does.
  let commands: DisruptionCommand[] = [];
  if (disruption.commands.length > 0) {
    const nominated = new Set(
      provisioning.placements.filter((p) => p.kind === "node").map((p) => p.target),
    );
    commands = disruption.commands.filter((cmd) =>
      !cmd.candidates.some((c) => nominated.has(c.node))
    );
  }
  return {
    provisioning,
    disruption,
    commands,
    ...(forecastConfigured(config) ? { forecast: ahead.notes } : {}),
  };
}

/** Decides one pass. Same snapshot, config and state: same plan. */
export function reconcile(
  observed: Snapshot,
  config: Config,
  state: ReconcileState = initialReconcileState(),
  jobs: JobFacts = {},
): ReconcilePlan {
  // Hosts the operator cordoned or drains by configuration join what the provider saw.
  const snapshot = withHostMaintenance(observed, config.providers);
  const now = snapshot.now;
  const s = config.settings;
  const actions: Action[] = [];
  const next: ReconcileState = {
    disruption: state.disruption,
    drift: state.drift,
    notReadySince: {},
  };
  const gone = new Set<string>(); // claims this pass deletes: no launch, no disruption
  const owned = ownedVmsByClaim(snapshot.vms, config.providers);
  const nodeIndex = new NodeIndex(snapshot.nodes);
  const pools = new Map(config.nodePools.map((p) => [p.name, p]));
  const templates = new Map(config.machineTemplates.map((t) => [t.name, t]));
  const deleteClaim = (claim: string, r: Reason) => {
    if (gone.has(claim)) return;
    actions.push({ kind: "DeleteClaim", claim, reason: r });
    gone.add(claim);
  };

  // Where VMs cannot be seen this pass: a provider that could not be listed, a host offline or
  // unreachable. A claim there has an unknown VM, not a vanished one.
  const unavailable = new Set(snapshot.unavailableProviders ?? []);
  const hostsDown = new Set(
    snapshot.hosts.filter((h) => !h.online).map((h) => `${h.provider}/${h.name}`),
  );
  const vmUnknown = (c: NodeClaim) =>
    unavailable.has(c.provider) ||
    (c.host !== undefined && hostsDown.has(`${c.provider}/${c.host}`));
  const claims = [...snapshot.nodeClaims].sort((a, b) => (a.name < b.name ? -1 : 1));
  const lifecycle = claims.map((c) => {
    const vm = vmOfClaim(c, owned);
    const nodes = nodeIndex.forClaim(c, vm);
    const pool = pools.get(c.nodePool);
    const decision = decideLifecycle({
      claim: c,
      nodes,
      vm,
      pool,
      template: templates.get(pool?.machineTemplate ?? c.machineTemplate),
      settings: s,
      now,
      notReadySince: state.notReadySince[c.name],
      vmInventoryKnown: vm !== undefined || !vmUnknown(c),
      launchError: jobs.launchErrors?.[c.name],
    });
    return { c, vm, nodes, decision };
  });
  // Repair is judged per pool, not per node: when many nodes of a pool are NotReady at once,
  // the cause is an outage, and replacing them all would only add churn.
  const guarded = guardNodeRepair(
    claims,
    lifecycle.map((l) => l.decision),
    s.nodeRepairMaxUnhealthy ?? MAX_UNHEALTHY_FRACTION,
  );
  for (const b of guarded.blocked) {
    actions.push({ kind: "RepairPaused", nodePool: b.nodePool, reason: b.reason });
  }
  for (const [i, { c, vm, nodes }] of lifecycle.entries()) {
    const d = guarded.decisions[i]!;
    if (d.notReadySince !== undefined) next.notReadySince[c.name] = d.notReadySince;
    const st = d.status;
    const fieldsChanged = (st.vmid !== undefined && st.vmid !== c.vmid) ||
      (st.host !== undefined && st.host !== c.host) ||
      (st.providerID !== undefined && st.providerID !== c.providerID) ||
      (st.nodeName !== undefined && st.nodeName !== c.nodeName);
    if (d.changed || fieldsChanged) {
      actions.push({
        kind: "UpdateClaimStatus",
        claim: c.name,
        conditions: d.conditions,
        ...st,
        reason: statusUpdated(c.name, d.conditions, st),
      });
    }
    let finalizing = false;
    for (const a of d.actions) {
      switch (a.kind) {
        case "RegisterNode":
          actions.push({
            kind: "RegisterNode",
            claim: a.claim,
            node: a.node,
            labels: a.labels,
            taints: [...a.taints, ...a.startupTaints],
            removeTaintKeys: a.removeTaintKeys,
            reason: a.reason,
          });
          break;
        case "MarkInitialized":
          actions.push(a);
          break;
        case "DeleteClaim":
          deleteClaim(a.claim, a.reason);
          break;
        default:
          // DeleteVM, DeleteNode, ReleaseFinalizer: one finalize job does them in that order.
          if (!finalizing) {
            finalizing = true;
            actions.push({
              kind: "FinalizeClaim",
              claim: c.name,
              ...(vm ? { vm: { provider: vm.provider, vmid: vm.vmid, host: vm.host } } : {}),
              ...(nodes[0] ? { node: nodes[0].name } : {}),
              reason: a.reason,
            });
          }
      }
    }
    if (c.deleting) {
      gone.add(c.name);
      continue;
    }
    const launched = d.conditions.find((x) => x.type === "Launched")?.status === "True";
    if (!vm && !gone.has(c.name) && !launched) {
      actions.push({
        kind: "LaunchClaim",
        claim: c,
        pods: [],
        isNew: false,
        reason: reason("PodsPending", `NodeClaim ${c.name} has no VM yet: (re)start its launch`),
      });
    } else if (
      vm && !gone.has(c.name) && !launched && c.nodeName === undefined &&
      c.conditions.find((x) => x.type === "Registered")?.status !== "True"
    ) {
      // A VM made for the claim but never started: the launch that made it may have died with
      // its process (a leader killed mid-launch, an in-memory queue). Its job id dedupes a
      // launch still under way; a new one adopts the VM and finishes it (configure, start).
      actions.push({
        kind: "LaunchClaim",
        claim: c,
        pods: [],
        isNew: false,
        reason: reason(
          "PodsPending",
          `NodeClaim ${c.name}: VM ${vm.vmid} is not running yet: carry on with its launch`,
        ),
      });
    }
  }

  // Disaster recovery: lost claims of running VMs with Ready Nodes come back before anything
  // else may touch those VMs (core/adoption.ts).
  const recovery = planAdoptions(snapshot.vms, snapshot.nodes, snapshot.nodeClaims, config, now);
  for (const a of recovery.adopt) {
    actions.push({ kind: "AdoptClaim", claim: a.claim, reason: a.reason });
  }
  for (const k of recovery.kept) actions.push({ kind: "KeepOrphanVM", vm: k.vm, reason: k.reason });

  const drift = reconcileDrift({
    vms: snapshot.vms,
    nodes: snapshot.nodes,
    claims: snapshot.nodeClaims,
    pools: config.nodePools,
    templates: config.machineTemplates,
    providers: config.providers,
    inventoryFresh: config.providers.map((p) => p.name).filter((p) => !unavailable.has(p)),
    claimsWithUnknownVm: snapshot.nodeClaims.filter(vmUnknown).map((c) => c.name),
    orphanGracePeriod: s.orphanGracePeriod,
    heldVms: recovery.held,
    now,
    state: state.drift,
  });
  next.drift = drift.state;
  const claimsByName = new Map(snapshot.nodeClaims.map((c) => [c.name, c]));
  for (const a of drift.actions) {
    switch (a.kind) {
      case "GarbageCollectVM":
      case "RemoveNode":
        actions.push(a);
        break;
      case "DeleteClaim":
        deleteClaim(a.claim, a.reason);
        break;
      case "RelaunchClaim": {
        const c = claimsByName.get(a.claim);
        if (c && !gone.has(c.name)) {
          actions.push({
            kind: "LaunchClaim",
            claim: c,
            pods: [],
            isNew: false,
            relaunch: true,
            reason: a.reason,
          });
        }
        break;
      }
      case "MarkDrifted":
      case "ClearDrifted":
        if (!gone.has(a.claim)) {
          actions.push({
            kind: "MarkDrifted",
            claim: a.claim,
            condition: a.condition,
            reason: a.reason,
          });
        }
        break;
    }
  }

  // Decisions about capacity see the claims this pass deletes as deleting, not as absent: their
  // VMs exist until finalized, so they still count against the pool's limits and disruption
  // budgets (as in Karpenter), and their nodes are leaving, so they offer no room. Dropping them
  // let a launch go over the node limit while a deleted claim's VM was still being destroyed.
  const live: Snapshot = gone.size === 0 ? snapshot : {
    ...snapshot,
    nodeClaims: snapshot.nodeClaims.map((c) =>
      gone.has(c.name) && !c.deleting ? { ...c, deleting: true } : c
    ),
  };
  const cap = planCapacity(live, config, state.disruption);
  const plan = cap.provisioning;
  const d = cap.disruption;
  // While claims are being rebuilt, limits and budgets would count too few: no new launch and
  // no disruption until they are back.
  const recovering = recovery.adopt.length > 0;
  for (const p of recovering ? [] : plan.claims) {
    actions.push({
      kind: "LaunchClaim",
      claim: claimFromPlan(p, config, now),
      pods: p.pods,
      isNew: true,
      reason: p.reason,
    });
  }
  next.disruption = d.state;
  for (const w of hostMaintenanceConditions(snapshot)) {
    if (gone.has(w.claim)) continue;
    actions.push({
      kind: "UpdateClaimStatus",
      claim: w.claim,
      conditions: [w.condition],
      reason: w.reason,
    });
  }
  for (const cmd of recovering ? [] : cap.commands) {
    actions.push({ kind: "Disrupt", command: cmd, reason: cmd.reason });
  }
  return { actions, provisioning: plan, disruption: d, state: next };
}

/** A status write's reason: the conditions it writes and the fields it records, in words. */
function statusUpdated(
  claim: string,
  conditions: readonly Condition[],
  fields: ClaimStatusFields,
): Reason {
  const said = [
    conditions.map((x) => `${x.type}=${x.status}`).join(", "),
    fields.vmid !== undefined ? `vmid ${fields.vmid}` : "",
    fields.host !== undefined ? `host ${fields.host}` : "",
    fields.providerID !== undefined ? `providerID ${fields.providerID}` : "",
    fields.nodeName !== undefined ? `node ${fields.nodeName}` : "",
  ].filter((x) => x !== "");
  return reason("StatusUpdated", `NodeClaim ${claim} status: ${said.join("; ") || "unchanged"}`);
}
