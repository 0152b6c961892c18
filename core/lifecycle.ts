/**
 * The NodeClaim state machine (Karpenter's lifecycle), one claim at a time: from the claim, its
 * Node(s), its VM, its NodePool/MachineTemplate, the timeouts and `now`, decide the
 * conditions to write (Launched -> Registered -> Initialized -> Ready, forward only) and what
 * the daemon must do: sync a registered node, mark it initialized, delete a claim that timed
 * out or whose node stayed NotReady (provisioning then plans a new one), and finalize a claim
 * being deleted: its VM goes first, the finalizer is released only once the VM is gone.
 *
 * Pure: the only memory between passes is `notReadySince` (state in, state out).
 *
 * May import: core/ only.
 */
import type {
  Condition,
  ConditionType,
  MachineTemplate,
  Node,
  NodeClaim,
  NodePool,
  Settings,
  Taint,
  VM,
} from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import { allocatableShortfall } from "./allocatable_shortfall.ts";
import { formatDuration } from "./duration.ts";
import {
  type ConditionWish,
  LIFECYCLE_CONDITIONS,
  mergeConditions,
  nextCondition,
  sameConditions,
} from "./lifecycle_conditions.ts";
import {
  expectedProviderId,
  INITIALIZED_LABEL_KEY,
  isSynced,
  notInitializedBecause,
  providerIdFor,
  registrationSync,
} from "./lifecycle_nodes.ts";

/** The three durations the lifecycle enforces (ms); Settings carries the configured ones. */
export type LifecycleTimeouts = Pick<
  Settings,
  "launchTimeout" | "registrationTimeout" | "nodeRepairAfter"
>;

/** Everything one claim's decision looks at. */
export type LifecycleInput = {
  claim: NodeClaim;
  /** The claim's Node candidates (NodeIndex.forClaim); two or more is a conflict. */
  nodes: readonly Node[];
  /** The VM that carries this claim's identity (proven ours), if the inventory has it. */
  vm: VM | undefined;
  pool?: NodePool | undefined;
  template?: MachineTemplate | undefined;
  settings: LifecycleTimeouts;
  now: number;
  /** Since when the claim's Ready node has been NotReady (from the last pass). */
  notReadySince?: number | undefined;
  /** The message of the claim's launch job when it failed for good (the PVE message). */
  launchError?: string | undefined;
  /**
   * False when the VM's provider or host could not be read this pass: nothing is decided from
   * a VM's absence, and a launched claim stays launched.
   */
  vmInventoryKnown?: boolean;
};

/** One step for the daemon, always with its Reason. */
export type LifecycleAction =
  /** One patch: add labels, taints and startup taints, remove `removeTaintKeys`. */
  | {
    kind: "RegisterNode";
    claim: string;
    node: string;
    labels: Record<string, string>;
    taints: Taint[];
    startupTaints: Taint[];
    removeTaintKeys: string[];
    reason: Reason;
  }
  /** Label the node initialized. */
  | {
    kind: "MarkInitialized";
    claim: string;
    node: string;
    labels: Record<string, string>;
    reason: Reason;
  }
  /** Delete the NodeClaim; finalization then removes VM and Node, provisioning plans anew. */
  | { kind: "DeleteClaim"; claim: string; reason: Reason }
  /** Finalization, step 1: delete the VM (drain first when the node may run pods). */
  | {
    kind: "DeleteVM";
    claim: string;
    vm: { provider: string; vmid: number; host: string };
    node?: string;
    drainFirst: boolean;
    reason: Reason;
  }
  /** Finalization, step 2: the VM is gone; delete the Node object. */
  | { kind: "DeleteNode"; claim: string; node: string; reason: Reason }
  /** Finalization, step 3: VM and Node are gone; release the finalizer. */
  | { kind: "ReleaseFinalizer"; claim: string; reason: Reason };

/** Status fields to write next to the conditions (only the ones now known). */
export type ClaimStatusFields = {
  vmid?: number;
  host?: string;
  providerID?: string;
  nodeName?: string;
};

/** The decision for one claim. */
export type LifecycleDecision = {
  claim: string;
  /** The full condition list to write; lifecycle conditions first. */
  conditions: Condition[];
  /** The conditions differ from the claim's (a status write is needed). */
  changed: boolean;
  status: ClaimStatusFields;
  actions: LifecycleAction[];
  /** State out: since when the Ready node is NotReady, undefined when it is not. */
  notReadySince: number | undefined;
};

const findCond = (c: NodeClaim, type: ConditionType) => c.conditions.find((x) => x.type === type);
const wish = (status: ConditionWish["status"], r: string, message: string): ConditionWish => ({
  status,
  reason: r,
  message,
});
const fmt = (ms: number) => formatDuration(ms);

/** Decides one claim's conditions and actions. Same input, same decision. */
export function decideLifecycle(input: LifecycleInput): LifecycleDecision {
  if (input.claim.deleting) return finalize(input);
  const { claim, vm, now, settings } = input;
  const actions: LifecycleAction[] = [];
  const status: ClaimStatusFields = {};
  const wanted = new Map<ConditionType, Condition>();
  const put = (type: ConditionType, w: ConditionWish) =>
    wanted.set(type, nextCondition(findCond(claim, type), type, w, now));

  // Launched: the VM carrying the claim's identity is running. A launched claim whose VM cannot
  // be seen because its host or provider cannot be read stays Launched: unknown is not gone.
  const unseen = vm === undefined && input.vmInventoryKnown === false &&
    findCond(claim, "Launched")?.status === "True";
  const running = (vm !== undefined && vm.status === "running") || unseen;
  if (vm) {
    status.vmid = vm.vmid;
    status.host = vm.host;
    status.providerID = vm.providerID ?? providerIdFor(vm.provider, vm.vmid);
  }
  if (unseen) {
    put("Launched", wish("True", "Launched", findCond(claim, "Launched")!.message));
  } else if (running) {
    put("Launched", wish("True", "Launched", `VM ${vm!.vmid} on ${vm!.host} is running`));
  } else if (input.launchError !== undefined) {
    put("Launched", wish("False", "LaunchFailed", input.launchError));
  } else {
    put("Launched", wish("Unknown", "Launching", launchPhase(claim, vm)));
  }
  const launched = wanted.get("Launched")!;
  if (launched.status !== "True") {
    const age = now - claim.createdAt;
    if (input.launchError !== undefined && launched.status === "False") {
      actions.push({
        kind: "DeleteClaim",
        claim: claim.name,
        reason: reason(
          "LaunchFailed",
          `NodeClaim ${claim.name} launch failed: ${input.launchError}`,
        ),
      });
    } else if (age >= settings.launchTimeout) {
      actions.push({
        kind: "DeleteClaim",
        claim: claim.name,
        reason: reason(
          "LaunchTimeout",
          `NodeClaim ${claim.name} not launched after ${fmt(age)} (launchTimeout ${
            fmt(settings.launchTimeout)
          }); slow phase: ${launchPhase(claim, vm)}`,
        ),
      });
    }
    put("Registered", wish("Unknown", "AwaitingLaunch", "the VM is not launched yet"));
    put("Initialized", wish("Unknown", "AwaitingRegistration", "the node has not registered"));
    put("Ready", wish("Unknown", "AwaitingLaunch", "the VM is not launched yet"));
    return done(input, wanted, status, actions, undefined);
  }

  // Registered: exactly one Node, synced by registration.
  const sync = registrationSync(claim, input.pool, input.template);
  const nodes = input.nodes;
  const node = nodes.length === 1 ? nodes[0] : undefined;
  if (node) status.nodeName = node.name;
  const pid = expectedProviderId(claim, vm);
  if (nodes.length > 1) {
    put(
      "Registered",
      wish(
        "False",
        "MultipleNodesFound",
        `nodes ${nodes.map((n) => n.name).join(", ")} match ${pid}`,
      ),
    );
  } else if (!node) {
    put("Registered", wish("Unknown", "NodeNotFound", `no Node with providerID ${pid} yet`));
  } else {
    const missing = isSynced(node, sync);
    // A node that offers less than its shape was planned for is named where the user looks.
    const short = input.template
      ? allocatableShortfall(input.template, claim.shape, node)
      : undefined;
    const joined = `node ${node.name} joined and was synced${short ? `; ${short}` : ""}`;
    if (missing === undefined) {
      put("Registered", wish("True", "Registered", joined));
    } else if (findCond(claim, "Registered")?.status !== "True") {
      put("Registered", wish("Unknown", "Registering", `node ${node.name}: ${missing}`));
      actions.push({
        kind: "RegisterNode",
        claim: claim.name,
        node: node.name,
        labels: sync.labels,
        taints: sync.taints,
        startupTaints: sync.startupTaints,
        removeTaintKeys: sync.removeTaintKeys,
        reason: reason(
          "Registered",
          `node ${node.name} joined for NodeClaim ${claim.name}: sync ${
            Object.keys(sync.labels).length
          } labels, ${sync.taints.length} taints, ${sync.startupTaints.length} startup taints; ${missing}${
            short ? `; ${short}` : ""
          }`,
        ),
      });
    } else {
      put("Registered", wish("True", "Registered", joined));
    }
  }
  const registered = wanted.get("Registered")!;

  // Initialized: Ready node, startup and start-up-only taints gone.
  if (registered.status === "True" && node) {
    const why = notInitializedBecause(node, sync.startupTaints);
    if (why === undefined) {
      put("Initialized", wish("True", "Initialized", `node ${node.name} is Ready`));
      if (node.labels[INITIALIZED_LABEL_KEY] !== "true") {
        actions.push({
          kind: "MarkInitialized",
          claim: claim.name,
          node: node.name,
          labels: { [INITIALIZED_LABEL_KEY]: "true" },
          reason: reason("Initialized", `node ${node.name} is Ready with its startup taints gone`),
        });
      }
    } else {
      put("Initialized", wish("Unknown", "NotInitialized", why));
    }
  } else {
    put("Initialized", wish("Unknown", "AwaitingRegistration", "the node has not registered"));
  }
  const initialized = wanted.get("Initialized")!;

  // Registration timeout: counted from the launch; covers a node that joins but never gets Ready.
  const sinceLaunch = now - launched.lastTransitionTime;
  if (initialized.status !== "True" && sinceLaunch >= settings.registrationTimeout) {
    const phase = registered.status === "True"
      ? `node ${node?.name} registered but is not initialized (${initialized.message})`
      : `VM running, ${registered.message} (boot or kubelet join)`;
    actions.push({
      kind: "DeleteClaim",
      claim: claim.name,
      reason: reason(
        "RegistrationTimeout",
        `NodeClaim ${claim.name} not initialized ${fmt(sinceLaunch)} after launch ` +
          `(registrationTimeout ${fmt(settings.registrationTimeout)}); slow phase: ${phase}`,
      ),
    });
  }

  // Ready, then node repair: a node that was Ready and stays NotReady is replaced.
  const allTrue = launched.status === "True" && registered.status === "True" &&
    initialized.status === "True";
  const anyFalse = [launched, registered, initialized].find((c) => c.status === "False");
  put(
    "Ready",
    allTrue
      ? wish("True", "Ready", "launched, registered and initialized")
      : anyFalse
      ? wish("False", anyFalse.reason, anyFalse.message)
      : wish("Unknown", "NotReady", "launch, registration or initialization in progress"),
  );
  let notReadySince: number | undefined;
  if (wanted.get("Ready")!.status === "True" && node && !node.ready && !node.deleting) {
    notReadySince = input.notReadySince ?? now;
    const down = now - notReadySince;
    if (down >= settings.nodeRepairAfter) {
      actions.push({
        kind: "DeleteClaim",
        claim: claim.name,
        reason: reason(
          "NodeNotReady",
          `node ${node.name} NotReady for ${fmt(down)} (nodeRepairAfter ${
            fmt(settings.nodeRepairAfter)
          }): replace it`,
        ),
      });
    }
  }
  return done(input, wanted, status, actions, notReadySince);
}

/** Finalization of a claim being deleted: VM, then Node, then finalizer. */
function finalize(input: LifecycleInput): LifecycleDecision {
  const { claim, vm } = input;
  // With several matching nodes, each is deleted in turn before the finalizer goes.
  const node = input.nodes[0];
  const actions: LifecycleAction[] = [];
  let conditions = claim.conditions;
  if (vm) {
    const drainFirst = node !== undefined && node.ready && !node.deleting &&
      findCond(claim, "Initialized")?.status === "True";
    actions.push({
      kind: "DeleteVM",
      claim: claim.name,
      vm: { provider: vm.provider, vmid: vm.vmid, host: vm.host },
      ...(node ? { node: node.name } : {}),
      drainFirst,
      reason: reason(
        "Finalizing",
        `NodeClaim ${claim.name} is being deleted: delete VM ${vm.vmid} on ${vm.host}${
          drainFirst ? ` after draining node ${node!.name}` : ""
        }`,
      ),
    });
    const prev = findCond(claim, "InstanceTerminating");
    if (prev?.status !== "True") {
      conditions = [
        ...claim.conditions.filter((c) => c !== prev),
        {
          type: "InstanceTerminating",
          status: "True",
          reason: "Finalizing",
          message: `deleting VM ${vm.vmid}`,
          lastTransitionTime: input.now,
        },
      ];
    }
  } else if (input.vmInventoryKnown === false) {
    // The VM's absence is not proven: wait rather than release the finalizer over a live VM.
  } else if (node) {
    actions.push({
      kind: "DeleteNode",
      claim: claim.name,
      node: node.name,
      reason: reason("Finalizing", `NodeClaim ${claim.name}: VM gone, delete node ${node.name}`),
    });
  } else {
    actions.push({
      kind: "ReleaseFinalizer",
      claim: claim.name,
      reason: reason("Finalizing", `NodeClaim ${claim.name}: VM and node gone, release finalizer`),
    });
  }
  return {
    claim: claim.name,
    conditions,
    changed: !sameConditions(conditions, claim.conditions),
    status: {},
    actions,
    notReadySince: undefined,
  };
}

function done(
  input: LifecycleInput,
  wanted: Map<string, Condition>,
  status: ClaimStatusFields,
  actions: LifecycleAction[],
  notReadySince: number | undefined,
): LifecycleDecision {
  const own = LIFECYCLE_CONDITIONS.map((t) => wanted.get(t)!);
  const conditions = mergeConditions(input.claim.conditions, own);
  return {
    claim: input.claim.name,
    conditions,
    changed: !sameConditions(conditions, input.claim.conditions),
    status,
    actions,
    notReadySince,
  };
}

/** Which launch step a claim is in, in words, for conditions and timeout messages. */
export function launchPhase(claim: NodeClaim, vm: VM | undefined): string {
  if (vm) return `VM ${vm.vmid} on ${vm.host} is ${vm.status} (configure or start)`;
  if (claim.vmid !== undefined) return `VM ${claim.vmid} not in the inventory yet (clone)`;
  return "no VM yet (VMID reservation or clone not started)";
}
