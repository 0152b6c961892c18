import assert from "node:assert/strict";
import type { ConditionType, NodeClaim, VM } from "./model.ts";
import { GiB } from "./quantity.ts";
import { type Action, initialReconcileState, reconcile, templateHashOf } from "./reconcile.ts";
import { snapshotOf, T0, testConfig, testPod } from "./testing/arbitraries.ts";

const config = testConfig();
const pending = (name: string) =>
  testPod(name, undefined, { unschedulable: true, pendingSince: T0 });
const kinds = (actions: Action[]) => actions.map((a) => a.kind);

function claim(over: Partial<NodeClaim> = {}): NodeClaim {
  return {
    name: "general-abcde",
    nodePool: "general",
    machineTemplate: "tpl",
    provider: "pve",
    shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * GiB },
    host: "pve1",
    createdAt: T0 - 1_000,
    labels: {},
    taints: [],
    startupTaints: [],
    conditions: [],
    ...over,
  };
}

function vm(over: Partial<VM> = {}): VM {
  return {
    vmid: 1234,
    host: "pve1",
    provider: "pve",
    name: "general-abcde",
    tags: ["proxscale"],
    status: "running",
    size: { cpu: 4000, memory: 8 * GiB },
    claim: "general-abcde",
    ...over,
  };
}

Deno.test("pending pods without room become a new NodeClaim with the pool's template hash", () => {
  const plan = reconcile(snapshotOf({ pods: [pending("web-1"), pending("web-2")] }), config);
  const launch = plan.actions.find((a) => a.kind === "LaunchClaim");
  assert.ok(launch && launch.kind === "LaunchClaim");
  assert.equal(launch.isNew, true);
  assert.equal(launch.reason.code, "PodsPending");
  assert.deepEqual(launch.pods.sort(), ["default/web-1", "default/web-2"]);
  assert.equal(launch.claim.templateHash, templateHashOf(config, "general"));
  assert.equal(launch.claim.labels["proxscale.io/nodepool"], "general");
});

Deno.test("a claim without a VM yet is resumed, not launched twice", () => {
  const c = claim();
  const plan = reconcile(snapshotOf({ pods: [pending("web-1")], nodeClaims: [c] }), config);
  const launches = plan.actions.filter((a) => a.kind === "LaunchClaim");
  // The claim in flight holds the pending pod: one resume, no new claim.
  assert.equal(launches.length, 1);
  assert.ok(launches[0]!.kind === "LaunchClaim" && !launches[0]!.isNew);
  assert.equal(launches[0]!.kind === "LaunchClaim" && launches[0]!.claim.name, c.name);
});

Deno.test("a claim whose VM exists but never started carries on with its launch; a registered one does not", () => {
  // The leader that cloned the VM died before starting it: a new leader resumes the launch job
  // (its id dedupes a launch still under way), instead of waiting for launchTimeout.
  const c = claim({ vmid: 1234 });
  const plan = reconcile(snapshotOf({ nodeClaims: [c], vms: [vm({ status: "stopped" })] }), config);
  const launches = plan.actions.filter((a) => a.kind === "LaunchClaim");
  assert.equal(launches.length, 1);
  assert.ok(launches[0]!.kind === "LaunchClaim" && !launches[0]!.isNew && !launches[0]!.relaunch);
  assert.match(launches[0]!.reason.message, /VM 1234 is not running yet/);
  // A claim whose node registered keeps its stopped VM as it is: no launch is resumed.
  const registered = claim({
    vmid: 1234,
    nodeName: "general-abcde",
    conditions: [{
      type: "Registered",
      status: "True",
      reason: "Registered",
      message: "",
      lastTransitionTime: T0 - 500,
    }],
  });
  const after = reconcile(
    snapshotOf({ nodeClaims: [registered], vms: [vm({ status: "stopped" })] }),
    config,
  );
  assert.equal(after.actions.filter((a) => a.kind === "LaunchClaim").length, 0);
  // A running VM is launched: nothing to resume.
  const running = reconcile(
    snapshotOf({ nodeClaims: [claim({ vmid: 1234 })], vms: [vm()] }),
    config,
  );
  assert.equal(running.actions.filter((a) => a.kind === "LaunchClaim").length, 0);
});

Deno.test("launch timeout deletes the claim and plans a new one for its pods", () => {
  const c = claim({ createdAt: T0 - config.settings.launchTimeout - 1 });
  const plan = reconcile(snapshotOf({ pods: [pending("web-1")], nodeClaims: [c] }), config);
  const del = plan.actions.find((a) => a.kind === "DeleteClaim");
  assert.ok(del && del.kind === "DeleteClaim");
  assert.equal(del.claim, c.name);
  assert.equal(del.reason.code, "LaunchTimeout");
  const fresh = plan.actions.filter((a) => a.kind === "LaunchClaim" && a.isNew);
  assert.equal(fresh.length, 1, "the pod is planned again on a new claim");
});

Deno.test("an owned VM without a claim is collected only after the grace period", () => {
  const orphan = vm({ claim: "gone-claim", vmid: 1500 });
  const first = reconcile(snapshotOf({ vms: [orphan] }), config);
  assert.ok(!kinds(first.actions).includes("GarbageCollectVM"));
  const later = reconcile(
    snapshotOf({ now: T0 + config.settings.orphanGracePeriod, vms: [orphan] }),
    config,
    first.state,
  );
  const gc = later.actions.find((a) => a.kind === "GarbageCollectVM");
  assert.ok(gc && gc.kind === "GarbageCollectVM");
  assert.equal(gc.vm.vmid, 1500);
  assert.equal(gc.reason.code, "OrphanVM");
});

Deno.test("a claim being deleted is finalized: its VM first", () => {
  const c = claim({ deleting: true, vmid: 1234 });
  const plan = reconcile(snapshotOf({ nodeClaims: [c], vms: [vm()] }), config);
  const fin = plan.actions.find((a) => a.kind === "FinalizeClaim");
  assert.ok(fin && fin.kind === "FinalizeClaim");
  assert.equal(fin.vm?.vmid, 1234);
  assert.ok(!kinds(plan.actions).includes("LaunchClaim"));
});

Deno.test("a joined node is registered: labels synced, the unregistered taint removed", () => {
  const launched = claim({
    vmid: 1234,
    providerID: "proxmox://pve/1234",
    conditions: [{
      type: "Launched",
      status: "True",
      reason: "Launched",
      message: "",
      lastTransitionTime: T0 - 500,
    }],
  });
  const node = {
    name: "general-abcde",
    providerID: "proxmox://pve/1234",
    labels: {},
    taints: [{ key: "proxscale.io/unregistered", effect: "NoExecute" as const }],
    allocatable: { cpu: 3900, memory: 7 * GiB },
    ready: true,
    createdAt: T0 - 100,
  };
  const plan = reconcile(
    snapshotOf({ nodeClaims: [launched], vms: [vm()], nodes: [node] }),
    config,
  );
  const reg = plan.actions.find((a) => a.kind === "RegisterNode");
  assert.ok(reg && reg.kind === "RegisterNode");
  assert.equal(reg.node, "general-abcde");
  assert.ok(reg.removeTaintKeys.includes("proxscale.io/unregistered"));
  assert.equal(reg.labels["proxscale.io/nodeclaim"], "general-abcde");
});

Deno.test("same snapshot, config and state: same plan", () => {
  const snap = snapshotOf({
    pods: [pending("a-1"), pending("b-1")],
    nodeClaims: [claim({ createdAt: T0 - config.settings.launchTimeout - 1 })],
    vms: [vm({ claim: "someone", vmid: 1999 })],
  });
  const a = reconcile(snap, config, initialReconcileState());
  const b = reconcile(structuredClone(snap), config, initialReconcileState());
  assert.deepEqual(a.actions, b.actions);
  assert.deepEqual(a.state, b.state);
});

/** `n` Ready claims of pool general with their VMs and Nodes; `down` of the nodes NotReady. */
function pool(n: number, down: number) {
  const cond = (type: ConditionType) => ({
    type,
    status: "True" as const,
    reason: type,
    message: "",
    lastTransitionTime: T0 - 3_600_000,
  });
  const claims: NodeClaim[] = [];
  const vms: VM[] = [];
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const name = `general-${i}`;
    claims.push(claim({
      name,
      vmid: 1000 + i,
      providerID: `proxmox://pve/${1000 + i}`,
      nodeName: name,
      labels: { "proxscale.io/nodeclaim": name, "proxscale.io/nodepool": "general" },
      conditions: (["Launched", "Registered", "Initialized", "Ready"] as const).map(cond),
    }));
    vms.push(vm({ vmid: 1000 + i, name, claim: name }));
    nodes.push({
      name,
      providerID: `proxmox://pve/${1000 + i}`,
      labels: {
        "proxscale.io/nodeclaim": name,
        "proxscale.io/nodepool": "general",
        "proxscale.io/initialized": "true",
      },
      taints: [],
      allocatable: { cpu: 3900, memory: 7 * GiB },
      ready: i >= down,
      createdAt: T0 - 3_600_000,
    });
  }
  const state = initialReconcileState();
  // NotReady for longer than nodeRepairAfter (10 min in the test config).
  for (let i = 0; i < down; i++) state.notReadySince[`general-${i}`] = T0 - 700_000;
  return { snapshot: snapshotOf({ nodeClaims: claims, vms, nodes }), state };
}

const repairs = (actions: Action[]) =>
  actions.filter((a) => a.kind === "DeleteClaim" && a.reason.code === "NodeNotReady").length;

Deno.test("node repair replaces a lone NotReady node of a pool", () => {
  const { snapshot, state } = pool(5, 1);
  const plan = reconcile(snapshot, config, state);
  assert.equal(repairs(plan.actions), 1);
  assert.equal(plan.actions.some((a) => a.kind === "RepairPaused"), false);
});

Deno.test("node repair pauses when more than 20% of a pool is NotReady, and says why", () => {
  // An outage (CNI, network) makes every node NotReady: replacing them all would empty the pool.
  for (const down of [2, 5]) {
    const { snapshot, state } = pool(5, down);
    const plan = reconcile(snapshot, config, state);
    assert.equal(repairs(plan.actions), 0, `${down} of 5 NotReady: nothing deleted`);
    const paused = plan.actions.filter((a) => a.kind === "RepairPaused");
    assert.equal(paused.length, 1);
    assert.ok(paused[0]!.kind === "RepairPaused");
    assert.equal(paused[0]!.nodePool, "general");
    assert.equal(paused[0]!.reason.code, "RepairPaused");
    assert.match(paused[0]!.reason.message, new RegExp(`${down} of 5 nodes NotReady`));
  }
});

Deno.test("node repair's pause fraction is a setting", () => {
  const { snapshot, state } = pool(5, 2);
  const lenient = { ...config, settings: { ...config.settings, nodeRepairMaxUnhealthy: 0.5 } };
  assert.equal(repairs(reconcile(snapshot, lenient, state).actions), 2);
});

Deno.test("a status write is reported as StatusUpdated with what it writes, not as Launched", () => {
  // The claim's VM runs now: Launched goes True and the vmid is recorded.
  const plan = reconcile(snapshotOf({ vms: [vm()], nodeClaims: [claim()] }), config);
  const update = plan.actions.find((a) => a.kind === "UpdateClaimStatus");
  assert.ok(update && update.kind === "UpdateClaimStatus", JSON.stringify(kinds(plan.actions)));
  assert.equal(update.reason.code, "StatusUpdated");
  assert.match(update.reason.message, /^NodeClaim general-abcde status: .*Launched=True/);
  assert.match(update.reason.message, /vmid 1234/);
});

Deno.test("a claim being deleted counts against its pool's node limit until it is gone", () => {
  const limited = {
    ...config,
    nodePools: config.nodePools.map((p) => ({ ...p, limits: { nodes: 1 } })),
  };
  // Deleting before this pass (its VM still there), or deleted by this pass (a launch past its
  // timeout, whose clone may still be under way): either may have a VM until it is finalized.
  for (
    const [c, vms] of [
      [claim({ deleting: true, vmid: 1234 }), [vm()]],
      [claim({ createdAt: T0 - config.settings.launchTimeout - 1, vmid: 1234 }), []],
    ] as const
  ) {
    const plan = reconcile(
      snapshotOf({ pods: [pending("web-1")], nodeClaims: [c], vms: [...vms] }),
      limited,
    );
    assert.equal(
      plan.actions.filter((a) => a.kind === "LaunchClaim" && a.isNew).length,
      0,
      "no new claim while the pool is at its limit",
    );
    const unhelped = plan.provisioning.unhelped.find((u) => u.pod === "default/web-1");
    assert.equal(unhelped?.reason.code, "PoolLimitReached");
  }
});
