import assert from "node:assert/strict";
import { decideLifecycle, type LifecycleDecision, type LifecycleInput } from "./lifecycle.ts";
import { NodeIndex, providerIdFor, REGISTERED_LABEL_KEY } from "./lifecycle_nodes.ts";
import type { Node, NodeClaim, VM } from "./model.ts";
import { NODECLAIM_LABEL_KEY, NODEPOOL_LABEL_KEY } from "./labels.ts";
import { GiB } from "./quantity.ts";
import { T0, testPool, testTemplate } from "./testing/arbitraries.ts";

const SETTINGS = { launchTimeout: 600_000, registrationTimeout: 900_000, nodeRepairAfter: 300_000 };
const UNREG = { key: "proxscale.io/unregistered", effect: "NoExecute" as const };
const CILIUM = { key: "node.cilium.io/agent-not-ready", effect: "NoSchedule" as const };
const GPU = { key: "gpu", value: "true", effect: "NoSchedule" as const };

function claim(over: Partial<NodeClaim> = {}): NodeClaim {
  return {
    name: "general-x7k2p",
    nodePool: "general",
    machineTemplate: "tpl",
    provider: "pve",
    shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * GiB },
    createdAt: T0,
    labels: { "team": "web" },
    taints: [GPU],
    startupTaints: [CILIUM],
    conditions: [],
    ...over,
  };
}

function vm(over: Partial<VM> = {}): VM {
  return {
    vmid: 130,
    host: "pve1",
    provider: "pve",
    name: "general-x7k2p",
    tags: ["proxscale"],
    status: "running",
    size: { cpu: 4000, memory: 8 * GiB },
    claim: "general-x7k2p",
    ...over,
  };
}

function node(over: Partial<Node> = {}): Node {
  return {
    name: "general-x7k2p",
    providerID: providerIdFor("pve", 130),
    labels: {},
    taints: [UNREG],
    allocatable: { cpu: 3900, memory: 7 * GiB },
    ready: false,
    createdAt: T0 + 60_000,
    ...over,
  };
}

function run(over: Partial<LifecycleInput>): LifecycleDecision {
  return decideLifecycle({
    claim: claim(),
    nodes: [],
    vm: undefined,
    pool: testPool("general", { labels: { tier: "a" } }),
    template: testTemplate(),
    settings: SETTINGS,
    now: T0,
    ...over,
  });
}

const status = (d: LifecycleDecision, type: string) =>
  d.conditions.find((c) => c.type === type)?.status;
const kinds = (d: LifecycleDecision) => d.actions.map((a) => `${a.kind}:${a.reason.code}`);

/** Applies a decision's conditions to the claim, as the daemon's status write would. */
const applied = (c: NodeClaim, d: LifecycleDecision): NodeClaim => ({
  ...c,
  conditions: d.conditions,
});

Deno.test("a claim walks Launched -> Registered -> Initialized -> Ready", () => {
  let c = claim();
  const d0 = run({ claim: c, now: T0 + 1000 });
  assert.deepEqual(d0.conditions.map((x) => [x.type, x.status]), [
    ["Launched", "Unknown"],
    ["Registered", "Unknown"],
    ["Initialized", "Unknown"],
    ["Ready", "Unknown"],
  ]);
  assert.deepEqual(d0.actions, []);
  c = applied(c, d0);

  const d1 = run({ claim: c, vm: vm(), now: T0 + 60_000 });
  assert.equal(status(d1, "Launched"), "True");
  assert.equal(d1.conditions[0]!.lastTransitionTime, T0 + 60_000);
  assert.deepEqual(d1.status, { vmid: 130, host: "pve1", providerID: "proxmox://pve/130" });
  c = applied(c, d1);

  const joined = node();
  const d2 = run({ claim: c, vm: vm(), nodes: [joined], now: T0 + 120_000 });
  assert.equal(status(d2, "Registered"), "Unknown");
  const reg = d2.actions[0];
  assert.ok(reg?.kind === "RegisterNode");
  assert.equal(reg.reason.code, "Registered");
  assert.deepEqual(reg.labels, {
    tier: "a",
    team: "web",
    [NODEPOOL_LABEL_KEY]: "general",
    [NODECLAIM_LABEL_KEY]: "general-x7k2p",
    [REGISTERED_LABEL_KEY]: "true",
  });
  assert.deepEqual(reg.taints, [GPU]);
  assert.deepEqual(reg.startupTaints, [CILIUM]);
  assert.deepEqual(reg.removeTaintKeys, ["proxscale.io/unregistered"]);
  c = applied(c, d2);

  // The daemon's patch landed: labels and taints on, unregistered gone, startup taint on.
  const synced = node({ labels: reg.labels, taints: [GPU, CILIUM] });
  const d3 = run({ claim: c, vm: vm(), nodes: [synced], now: T0 + 130_000 });
  assert.equal(status(d3, "Registered"), "True");
  assert.equal(status(d3, "Initialized"), "Unknown");
  assert.match(d3.conditions[2]!.message, /not Ready/);
  assert.deepEqual(d3.actions, [], "no second sync once the write is seen");
  c = applied(c, d3);

  const readyWithStartup = { ...synced, ready: true };
  const d4 = run({ claim: c, vm: vm(), nodes: [readyWithStartup], now: T0 + 140_000 });
  assert.equal(status(d4, "Initialized"), "Unknown");
  assert.match(d4.conditions[2]!.message, /startup taints still present: node\.cilium/);
  c = applied(c, d4);

  const clean = { ...synced, ready: true, taints: [GPU] };
  const d5 = run({ claim: c, vm: vm(), nodes: [clean], now: T0 + 150_000 });
  assert.equal(status(d5, "Initialized"), "True");
  assert.equal(status(d5, "Ready"), "True");
  assert.deepEqual(kinds(d5), ["MarkInitialized:Initialized"]);
  c = applied(c, d5);

  const d6 = run({ claim: c, vm: vm(), nodes: [clean], now: T0 + 999_000 });
  assert.equal(d6.changed, false, "nothing changes: timestamps stay");
  assert.deepEqual(d6.conditions, c.conditions);
});

Deno.test("a registered node whose startup taint a DaemonSet removed is not re-tainted", () => {
  const c = claim({
    conditions: (["Launched", "Registered"] as const).map((type) => ({
      type,
      status: "True" as const,
      reason: type,
      message: "",
      lastTransitionTime: T0,
    })),
  });
  // Missing labels would normally trigger a sync; Registered=True means it already happened.
  const d = run({ claim: c, vm: vm(), nodes: [node({ taints: [], ready: true })], now: T0 + 10 });
  assert.ok(!d.actions.some((a) => a.kind === "RegisterNode"));
  assert.equal(status(d, "Registered"), "True");
});

Deno.test("two nodes with one providerID: Registered=False MultipleNodesFound, no sync", () => {
  const c = applied(claim(), run({ vm: vm(), now: T0 }));
  const d = run({ claim: c, vm: vm(), nodes: [node(), node({ name: "dup" })], now: T0 + 1 });
  const reg = d.conditions.find((x) => x.type === "Registered")!;
  assert.equal(reg.status, "False");
  assert.equal(reg.reason, "MultipleNodesFound");
  assert.equal(status(d, "Ready"), "False");
  assert.deepEqual(d.actions, []);
});

Deno.test("launch timeout fires at launchTimeout and names the slow phase", () => {
  const c = claim({ vmid: 130 });
  const before = run({ claim: c, vm: vm({ status: "stopped" }), now: T0 + 599_999 });
  assert.deepEqual(before.actions, []);
  const at = run({ claim: c, vm: vm({ status: "stopped" }), now: T0 + 600_000 });
  assert.deepEqual(kinds(at), ["DeleteClaim:LaunchTimeout"]);
  assert.match(at.actions[0]!.reason.message, /after 10m .*VM 130 on pve1 is stopped/);
  const noVm = run({ claim: c, now: T0 + 600_000 });
  assert.match(noVm.actions[0]!.reason.message, /VM 130 not in the inventory yet \(clone\)/);
});

Deno.test("a launch job that failed for good surfaces its message and replaces the claim", () => {
  const msg =
    "500 VM 130 is locked (clone) - can't lock file '/var/lock/qemu-server/lock-130.conf'";
  const d = run({ launchError: msg, now: T0 + 5_000 });
  const l = d.conditions.find((x) => x.type === "Launched")!;
  assert.deepEqual([l.status, l.reason, l.message], ["False", "LaunchFailed", msg]);
  assert.deepEqual(kinds(d), ["DeleteClaim:LaunchFailed"]);
});

Deno.test("registration timeout counts from the launch, not from the claim's creation", () => {
  let c = claim({ createdAt: T0 - 500_000 });
  c = applied(c, run({ claim: c, vm: vm(), now: T0 }));
  assert.deepEqual(run({ claim: c, vm: vm(), now: T0 + 899_999 }).actions, []);
  const at = run({ claim: c, vm: vm(), now: T0 + 900_000 });
  assert.deepEqual(kinds(at), ["DeleteClaim:RegistrationTimeout"]);
  assert.match(at.actions[0]!.reason.message, /no Node with providerID proxmox:\/\/pve\/130/);
});

Deno.test("a Ready node NotReady longer than nodeRepairAfter is replaced", () => {
  const sync = run({ vm: vm(), nodes: [node()], now: T0 }).actions[0];
  assert.ok(sync?.kind === "RegisterNode");
  const good = node({ labels: sync.labels, taints: [GPU], ready: true });
  let c = claim();
  for (const t of [T0, T0 + 1, T0 + 2]) {
    c = applied(c, run({ claim: c, vm: vm(), nodes: [good], now: t }));
  }
  assert.equal(c.conditions.find((x) => x.type === "Ready")?.status, "True");
  const down = { ...good, ready: false };
  const first = run({ claim: c, vm: vm(), nodes: [down], now: T0 + 10_000 });
  assert.equal(first.notReadySince, T0 + 10_000);
  assert.deepEqual(first.actions, []);
  assert.equal(status(first, "Ready"), "True", "Ready never goes back; repair replaces");
  const almost = run({
    claim: c,
    vm: vm(),
    nodes: [down],
    now: T0 + 309_999,
    notReadySince: first.notReadySince,
  });
  assert.deepEqual(almost.actions, []);
  const at = run({
    claim: c,
    vm: vm(),
    nodes: [down],
    now: T0 + 310_000,
    notReadySince: T0 + 10_000,
  });
  assert.deepEqual(kinds(at), ["DeleteClaim:NodeNotReady"]);
  const back = run({ claim: c, vm: vm(), nodes: [good], now: T0 + 310_000, notReadySince: T0 });
  assert.equal(back.notReadySince, undefined, "a Ready node resets the clock");
});

Deno.test("finalization deletes the VM first and releases the finalizer only once it is gone", () => {
  const ready = (["Launched", "Registered", "Initialized", "Ready"] as const).map((type) => ({
    type,
    status: "True" as const,
    reason: type,
    message: "",
    lastTransitionTime: T0,
  }));
  const c = claim({ deleting: true, conditions: ready });
  const live = node({ ready: true, taints: [] });
  const d1 = run({ claim: c, vm: vm(), nodes: [live], now: T0 + 5 });
  assert.equal(d1.actions.length, 1);
  const a = d1.actions[0]!;
  assert.ok(a.kind === "DeleteVM");
  assert.equal(a.drainFirst, true);
  assert.deepEqual(a.vm, { provider: "pve", vmid: 130, host: "pve1" });
  assert.equal(d1.conditions.find((x) => x.type === "InstanceTerminating")?.status, "True");
  const d2 = run({ claim: c, vm: undefined, nodes: [live], now: T0 + 6 });
  assert.deepEqual(kinds(d2), ["DeleteNode:Finalizing"]);
  const d3 = run({ claim: c, vm: undefined, nodes: [], now: T0 + 7 });
  assert.deepEqual(kinds(d3), ["ReleaseFinalizer:Finalizing"]);
  const blind = run({ claim: c, vm: undefined, nodes: [], vmInventoryKnown: false, now: T0 + 8 });
  assert.deepEqual(blind.actions, [], "no release while the inventory is unknown");
  const neverUp = run({ claim: claim({ deleting: true }), vm: vm(), nodes: [], now: T0 });
  assert.ok(neverUp.actions[0]?.kind === "DeleteVM" && !neverUp.actions[0].drainFirst);
});

Deno.test("nodes are found by providerID, else by name or label while they have none", () => {
  const a = node({ name: "a" });
  const { providerID: _drop, ...bare } = node({
    name: "b",
    labels: { [NODECLAIM_LABEL_KEY]: "c2" },
  });
  const b: Node = bare;
  const other = node({ name: "c3node", providerID: providerIdFor("pve", 999) });
  const idx = new NodeIndex([a, b, other]);
  assert.deepEqual(idx.forClaim(claim(), vm()).map((n) => n.name), ["a"]);
  assert.deepEqual(idx.forClaim(claim({ name: "c2" }), vm({ vmid: 131 })).map((n) => n.name), [
    "b",
  ]);
  assert.deepEqual(
    idx.forClaim(claim({ name: "c3", nodeName: "c3node" }), vm({ vmid: 132 })).map((n) => n.name),
    [],
    "a node with another VM's providerID is not this claim's",
  );
});
