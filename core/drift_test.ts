import assert from "node:assert/strict";
import fc from "fast-check";
import {
  claimCarriesTemplate,
  type DriftInput,
  type DriftReport,
  initialDriftState,
  isOwnedVm,
  NODE_GONE_GRACE,
  reconcileDrift,
  templateHash,
} from "./drift.ts";
import type { Condition, ConditionType, Node, NodeClaim, Provider, VM } from "./model.ts";
import { NODECLAIM_LABEL_KEY, NODEPOOL_LABEL_KEY } from "./labels.ts";
import { providerIdFor } from "./lifecycle_nodes.ts";
import { GiB } from "./quantity.ts";
import { T0, testConfig, testPool, testTemplate } from "./testing/arbitraries.ts";

const PROVIDER: Provider = testConfig().providers[0]!; // managedTag "proxscale", vmids 1000..9999
const GRACE = 300_000;
const pool = testPool("general");
const template = testTemplate();
const HASH = templateHash(pool, template);

const cond = (type: ConditionType, status: Condition["status"] = "True"): Condition => ({
  type,
  status,
  reason: type,
  message: "",
  lastTransitionTime: T0 - 60_000,
});

function claim(name: string, over: Partial<NodeClaim> = {}): NodeClaim {
  return {
    name,
    nodePool: "general",
    machineTemplate: "tpl",
    provider: "pve",
    shape: { name: "2c", cpu: 2000, memory: 4 * GiB },
    createdAt: T0 - 600_000,
    labels: {},
    taints: [],
    startupTaints: [],
    templateHash: HASH,
    conditions: [cond("Launched"), cond("Registered"), cond("Initialized"), cond("Ready")],
    ...over,
  };
}

function vm(vmid: number, claimName: string | undefined, over: Partial<VM> = {}): VM {
  return {
    vmid,
    host: "pve1",
    provider: "pve",
    name: claimName ?? `vm-${vmid}`,
    tags: ["proxscale", "k8s"],
    status: "running",
    size: { cpu: 2000, memory: 4 * GiB },
    ...(claimName !== undefined ? { claim: claimName } : {}),
    ...over,
  };
}

function node(name: string, vmid: number, claimName: string): Node {
  return {
    name,
    providerID: providerIdFor("pve", vmid),
    labels: { [NODEPOOL_LABEL_KEY]: "general", [NODECLAIM_LABEL_KEY]: claimName },
    allocatable: { cpu: 1900, memory: 3 * GiB },
    ready: true,
    createdAt: T0 - 500_000,
  };
}

function run(over: Partial<DriftInput>): DriftReport {
  return reconcileDrift({
    vms: [],
    nodes: [],
    claims: [],
    pools: [pool],
    templates: [template],
    providers: [PROVIDER],
    inventoryFresh: ["pve"],
    orphanGracePeriod: GRACE,
    now: T0,
    state: initialDriftState(),
    ...over,
  });
}

const summary = (r: DriftReport) =>
  r.actions.map((a) =>
    `${a.kind}:${a.reason.code}:${"vm" in a ? a.vm.vmid : "claim" in a ? a.claim : a.node}`
  );

Deno.test("template hash: key order, set order and zero values do not matter", () => {
  const reordered = testPool("general", {
    taints: [{ key: "b", effect: "NoSchedule" }, { key: "a", effect: "NoSchedule" }],
  });
  const sorted = testPool("general", {
    taints: [{ key: "a", effect: "NoSchedule" }, { key: "b", effect: "NoSchedule" }],
  });
  assert.equal(templateHash(reordered, template), templateHash(sorted, template));
  const disk = { slot: "scsi0", storage: "local-lvm", size: 20 * GiB };
  assert.equal(
    templateHash(pool, testTemplate({ disks: [disk] })),
    templateHash(pool, testTemplate({ disks: [{ ...disk, discard: false }] })),
  );
  assert.match(HASH, /^v1-[0-9a-f]{8}$/);
});

Deno.test("template hash: requirements, limits, weight and shapes are left out; VM parts count", () => {
  const same = [
    testPool("general", { requirements: [{ key: "arch", operator: "In", values: ["amd64"] }] }),
    testPool("general", { limits: { cpu: 64_000 }, weight: 90 }),
  ];
  for (const p of same) assert.equal(templateHash(p, template), HASH);
  assert.equal(templateHash(pool, testTemplate({ shapes: [] })), HASH);
  const differ = [
    templateHash(testPool("general", { labels: { tier: "b" } }), template),
    templateHash(testPool("general", { taints: [{ key: "x", effect: "NoSchedule" }] }), template),
    templateHash(pool, testTemplate({ source: { kind: "clone", templateVmid: 9001, full: true } })),
    templateHash(pool, testTemplate({ tags: ["gpu"] })),
    templateHash(pool, testTemplate({ bootstrap: { mode: "nocloudIso", template: "kubeadm" } })),
    templateHash(pool, testTemplate({ vm: { cpu: { type: "host" } } })),
    templateHash(pool, testTemplate({ vm: { startup: { order: 2 } } })),
  ];
  for (const h of differ) assert.notEqual(h, HASH);
  // An empty vm block is no change, so templates without one keep their hash.
  assert.equal(templateHash(pool, testTemplate({ vm: {} })), HASH);
});

Deno.test("an owned VM without a claim is deleted exactly after the grace period", () => {
  const orphan = vm(1200, "gone-claim");
  const first = run({ vms: [orphan], now: T0 });
  assert.deepEqual(first.actions, []);
  assert.deepEqual(first.watching, [
    { code: "OrphanVM", subject: "VM 1200 on pve1", since: T0, dueAt: T0 + GRACE },
  ]);
  assert.deepEqual(first.state.orphanVmSince, { "pve/1200": T0 });
  const early = run({ vms: [orphan], now: T0 + GRACE - 1, state: first.state });
  assert.deepEqual(early.actions, []);
  const due = run({ vms: [orphan], now: T0 + GRACE, state: first.state });
  assert.deepEqual(summary(due), ["GarbageCollectVM:OrphanVM:1200"]);
  assert.match(due.actions[0]!.reason.message, /no NodeClaim gone-claim exists, for 5m/);
  const claimedNow = run({
    vms: [orphan],
    claims: [claim("gone-claim", { vmid: 1200 })],
    now: T0 + GRACE,
    state: first.state,
  });
  assert.deepEqual(claimedNow.actions, []);
  assert.deepEqual(claimedNow.state.orphanVmSince, {}, "a claimed VM leaves the state");
});

Deno.test("a second VM for a claim that records another vmid is an orphan (duplicate launch)", () => {
  const c = claim("general-a", { vmid: 1200 });
  const state = { ...initialDriftState(), orphanVmSince: { "pve/1201": T0 - GRACE } };
  const r = run({ vms: [vm(1200, "general-a"), vm(1201, "general-a")], claims: [c], state });
  assert.deepEqual(summary(r), ["GarbageCollectVM:OrphanVM:1201"]);
  assert.match(r.actions[0]!.reason.message, /records VM 1200, not this one/);
  const pending = claim("general-a");
  const both = run({
    vms: [vm(1200, "general-a"), vm(1201, "general-a")],
    claims: [pending],
    state,
  });
  assert.deepEqual(both.actions, [], "no vmid recorded yet: neither VM is judged");
});

Deno.test("never deletes a VM that is not proven ours", () => {
  const state = {
    ...initialDriftState(),
    orphanVmSince: Object.fromEntries(
      [1301, 1302, 50, 1304, 1305].map((id) => [`pve/${id}`, 0]),
    ),
  };
  const unproven = [
    vm(1301, undefined), // no claim identity
    vm(1302, "x", { template: true }),
    vm(50, "x"), // outside the VMID range
    vm(1304, "x", { provider: "other" }), // unknown provider
    vm(1305, "", {}), // empty identity
  ];
  const r = run({ vms: unproven, now: T0 + 10 * GRACE, state });
  assert.deepEqual(r.actions, []);
  assert.deepEqual(r.watching, []);
});

Deno.test("an untagged VM in the managed range naming a missing claim is collected as an orphan", () => {
  // A clone whose launch died before its config step: identity in the description, no tag yet.
  const leftover = vm(1300, "general-gone", { tags: [] });
  const first = run({ vms: [leftover], now: T0 });
  assert.deepEqual(first.actions, []);
  const due = run({ vms: [leftover], now: T0 + GRACE, state: first.state });
  assert.deepEqual(due.actions.map((a) => a.kind), ["GarbageCollectVM"]);
});

Deno.test("property: a VM is only ever garbage-collected when it is proven ours and unclaimed", () => {
  const arbVm = fc.record({
    vmid: fc.integer({ min: 1, max: 12_000 }),
    tagged: fc.boolean(),
    claimName: fc.option(fc.constantFrom("a", "b", "c", ""), { nil: undefined }),
    template: fc.boolean(),
    provider: fc.constantFrom("pve", "pve", "other"),
  });
  fc.assert(
    fc.property(
      fc.uniqueArray(arbVm, { selector: (v) => v.vmid, maxLength: 12 }),
      fc.subarray(["a", "b"]),
      fc.boolean(),
      (specs, claimNames, fresh) => {
        const vms = specs.map((s) =>
          vm(s.vmid, s.claimName, {
            tags: s.tagged ? ["proxscale"] : ["other"],
            template: s.template,
            provider: s.provider,
          })
        );
        const claims = claimNames.map((n) => claim(n));
        const state = {
          ...initialDriftState(),
          orphanVmSince: Object.fromEntries(vms.map((v) => [`${v.provider}/${v.vmid}`, 0])),
        };
        const r = run({ vms, claims, state, now: T0, inventoryFresh: fresh ? ["pve"] : [] });
        for (const a of r.actions) {
          if (a.kind !== "GarbageCollectVM") continue;
          assert.ok(isOwnedVm(a.vm, PROVIDER), `VM ${a.vm.vmid} deleted without proof`);
          assert.ok(!claimNames.includes(a.vm.claim!), `VM ${a.vm.vmid} had a claim`);
        }
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("a bare-metal node whose machine is gone is removed after the grace period; one whose machine is listed stays", () => {
  const n = { ...node("metal-old", 100, "metal-old"), providerID: "redfish://pve/6f1c0e52-0001" };
  const first = run({ nodes: [n], now: T0 });
  const due = run({ nodes: [n], now: T0 + GRACE, state: first.state });
  assert.deepEqual(summary(due), ["RemoveNode:OrphanNode:metal-old"]);
  assert.match(
    due.actions[0]!.reason.message,
    /machine redfish:\/\/pve\/6f1c0e52-0001 of provider pve/,
  );
  const listed = vm(100, "other", { providerID: "redfish://pve/6f1c0e52-0001" });
  assert.deepEqual(
    run({ nodes: [n], vms: [listed], now: T0 + GRACE, state: first.state }).actions.filter((a) =>
      a.kind === "RemoveNode"
    ),
    [],
  );
});

Deno.test("a node whose VM vanished and that no claim owns is removed after the grace period", () => {
  const n = node("general-old", 1400, "general-old");
  const first = run({ nodes: [n], now: T0 });
  assert.deepEqual(first.actions, []);
  assert.equal(first.watching[0]?.code, "OrphanNode");
  const due = run({ nodes: [n], now: T0 + GRACE, state: first.state });
  assert.deepEqual(summary(due), ["RemoveNode:OrphanNode:general-old"]);
  assert.deepEqual(
    run({ nodes: [n], now: T0 + GRACE, state: first.state, inventoryFresh: [] }).actions,
    [],
  );
  const owned = run({
    nodes: [n],
    claims: [claim("general-old", { vmid: 1400, deleting: true })],
    now: T0 + GRACE,
    state: first.state,
  });
  assert.ok(
    !owned.actions.some((a) => a.kind === "RemoveNode"),
    "the claim's finalizer handles it",
  );
  const foreign = { ...n, labels: {} };
  assert.deepEqual(run({ nodes: [foreign], now: T0 + GRACE, state: first.state }).actions, []);
  const alive = run({
    nodes: [n],
    vms: [vm(1400, "general-old")],
    now: T0 + GRACE,
    state: first.state,
  });
  assert.ok(!alive.actions.some((a) => a.kind === "RemoveNode"));
});

Deno.test("a launched claim whose VM vanished is relaunched or deleted after the grace period", () => {
  const registered = claim("general-r", { vmid: 1500 });
  const launchedOnly = claim("general-l", {
    vmid: 1501,
    conditions: [cond("Launched"), cond("Registered", "Unknown")],
  });
  const notLaunched = claim("general-n", { vmid: 1502, conditions: [cond("Launched", "Unknown")] });
  const claims = [registered, launchedOnly, notLaunched];
  const first = run({ claims, now: T0 });
  assert.deepEqual(first.actions, []);
  assert.deepEqual(first.watching.map((w) => w.subject), [
    "NodeClaim general-l",
    "NodeClaim general-r",
  ]);
  const due = run({ claims, now: T0 + GRACE, state: first.state });
  assert.deepEqual(summary(due), [
    "RelaunchClaim:VMVanished:general-l",
    "DeleteClaim:VMVanished:general-r",
  ]);
  assert.match(due.actions[1]!.reason.message, /VM 1500 of NodeClaim general-r is gone/);
  const blind = run({ claims, now: T0 + GRACE, state: first.state, inventoryFresh: [] });
  assert.deepEqual(blind.actions, [], "nothing concluded without a full inventory");
  const back = run({
    claims: [registered],
    vms: [vm(1500, "general-r")],
    now: T0 + GRACE,
    state: first.state,
  });
  assert.deepEqual(back.actions, []);
  assert.deepEqual(back.state.vanishedSince, {});
});

Deno.test("a claim whose template hash differs is marked Drifted; reverting clears it", () => {
  const old = claim("general-d", { vmid: 1600, templateHash: "v1-00000000" });
  const vms = [vm(1600, "general-d")];
  const r = run({ claims: [old], vms, now: T0 });
  assert.deepEqual(summary(r), ["MarkDrifted:Drifted:general-d"]);
  const a = r.actions[0]!;
  assert.ok(a.kind === "MarkDrifted");
  assert.deepEqual([a.condition.status, a.condition.reason], ["True", "NodePoolDrifted"]);
  assert.match(a.reason.message, new RegExp(`now ${HASH}`));
  const marked = { ...old, conditions: [...old.conditions, a.condition] };
  assert.deepEqual(run({ claims: [marked], vms, now: T0 + 1 }).actions, [], "marked once");
  const reverted = { ...marked, templateHash: HASH };
  assert.deepEqual(summary(run({ claims: [reverted], vms, now: T0 + 2 })), [
    "ClearDrifted:Drifted:general-d",
  ]);
  const otherVersion = claim("general-v", { vmid: 1601, templateHash: "v0-12345678" });
  assert.deepEqual(run({ claims: [otherVersion], vms: [vm(1601, "general-v")] }).actions, []);
  const orphanedPool = claim("general-p", { vmid: 1602, nodePool: "deleted-pool" });
  const p = run({ claims: [orphanedPool], vms: [vm(1602, "general-p")] });
  assert.ok(
    p.actions[0]?.kind === "MarkDrifted" && p.actions[0].condition.reason === "NodePoolNotFound",
  );
  const unlaunched = claim("general-u", { templateHash: "v1-00000000", conditions: [] });
  assert.deepEqual(run({ claims: [unlaunched] }).actions, [], "only launched claims drift");
});

Deno.test("a claim carries today's template only when its labels and taints are today's", () => {
  const p = testPool("general", {
    labels: { team: "a" },
    taints: [{ key: "gpu", effect: "NoSchedule" }],
  });
  const t = testTemplate({ labels: { tier: "x" } });
  const claim = {
    labels: { team: "a", tier: "x", [NODEPOOL_LABEL_KEY]: "general" },
    taints: [{ key: "gpu", effect: "NoSchedule" }],
    startupTaints: [],
  } as unknown as NodeClaim;
  assert.equal(claimCarriesTemplate(claim, p, t), true);
  assert.equal(
    claimCarriesTemplate(claim, { ...p, labels: { team: "b" } }, t),
    false,
    "the pool's labels changed after the claim was made",
  );
  assert.equal(claimCarriesTemplate(claim, { ...p, taints: [] }, t), false, "a taint removed");
});

Deno.test("a registered claim whose Node was deleted is deleted once the Node stays gone for NODE_GONE_GRACE", () => {
  const c = claim("general-a", {
    vmid: 1001,
    providerID: providerIdFor("pve", 1001),
    nodeName: "general-a",
  });
  const vms = [vm(1001, "general-a")];
  // With its Node: nothing to do.
  assert.deepEqual(
    run({ claims: [c], vms, nodes: [node("general-a", 1001, "general-a")] }).actions,
    [],
  );
  // Node deleted: watched first, not acted on (a watch that restarts gets to see it again).
  const first = run({ claims: [c], vms, nodes: [] });
  assert.deepEqual(first.actions, []);
  assert.deepEqual(first.watching, [{
    code: "NodeDeleted",
    subject: "node general-a",
    since: T0,
    dueAt: T0 + NODE_GONE_GRACE,
  }]);
  // The Node came back: forgotten.
  const back = run({
    claims: [c],
    vms,
    nodes: [node("general-a", 1001, "general-a")],
    state: first.state,
    now: T0 + 5_000,
  });
  assert.deepEqual(back.actions, []);
  assert.deepEqual(back.state.nodeGoneSince, {});
  // Still gone after the grace: the claim goes, and with it the VM.
  const later = run({ claims: [c], vms, nodes: [], state: first.state, now: T0 + NODE_GONE_GRACE });
  assert.equal(later.actions.length, 1);
  const a = later.actions[0]!;
  assert.equal(a.kind, "DeleteClaim");
  assert.ok(a.kind === "DeleteClaim" && a.claim === "general-a");
  assert.equal(a.reason.code, "NodeDeleted");
  assert.match(a.reason.message, /node general-a of NodeClaim general-a was deleted 15s ago/);
  // A claim that has not registered yet has no Node to lose; one being deleted is finalizing.
  const launching = {
    ...c,
    conditions: [cond("Launched"), cond("Registered", "Unknown")],
  };
  const deleting = { ...c, deleting: true };
  for (const x of [launching, deleting]) {
    const r = run({ claims: [x], vms, nodes: [], state: first.state, now: T0 + NODE_GONE_GRACE });
    assert.deepEqual(r.actions.filter((y) => y.kind === "DeleteClaim"), [], x.name);
  }
});
