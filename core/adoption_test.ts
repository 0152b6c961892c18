import assert from "node:assert/strict";
import { planAdoptions } from "./adoption.ts";
import { reconcile } from "./reconcile.ts";
import type { Node, NodeClaim, VM } from "./model.ts";
import { NODECLAIM_LABEL_KEY, NODEPOOL_LABEL_KEY } from "./labels.ts";
import { providerIdFor } from "./lifecycle_nodes.ts";
import { GiB } from "./quantity.ts";
import {
  managedNode,
  T0,
  testConfig,
  testPod,
  testPool,
  testTemplate,
} from "./testing/arbitraries.ts";
import { EXPIRATION } from "./disruption_method_expiration.ts";
import { generalPool, passOver, summary } from "./testing/disruption_fixture.ts";

const config = testConfig({
  nodePools: [testPool("general", { labels: { team: "a" } })],
  machineTemplates: [testTemplate()],
});

function vm(vmid: number, claim: string, over: Partial<VM> = {}): VM {
  return {
    vmid,
    host: "pve1",
    provider: "pve",
    name: claim,
    tags: ["proxscale"],
    status: "running",
    size: { cpu: 2000, memory: 4 * GiB },
    claim,
    ...over,
  };
}

function node(name: string, vmid: number, over: Partial<Node> = {}): Node {
  return {
    name,
    providerID: providerIdFor("pve", vmid),
    labels: {
      [NODEPOOL_LABEL_KEY]: "general",
      [NODECLAIM_LABEL_KEY]: name,
      "node.kubernetes.io/instance-type": "2c-4Gi",
    },
    allocatable: { cpu: 2000, memory: 4 * GiB },
    ready: true,
    createdAt: T0 - 3_600_000,
    ...over,
  };
}

Deno.test("a running VM with a Ready Node and no NodeClaim is adopted with its claim rebuilt", () => {
  const p = planAdoptions([vm(1001, "general-a")], [node("general-a", 1001)], [], config, T0);
  assert.equal(p.adopt.length, 1);
  const c = p.adopt[0]!.claim;
  assert.equal(c.name, "general-a");
  assert.equal(c.nodePool, "general");
  assert.equal(c.machineTemplate, "tpl");
  assert.equal(c.vmid, 1001);
  assert.equal(c.host, "pve1");
  assert.equal(c.providerID, "proxmox://pve/1001");
  assert.equal(c.nodeName, "general-a");
  assert.equal(c.shape.name, "2c-4Gi");
  assert.equal(c.labels.team, "a");
  assert.equal(c.templateHash, undefined, "an unknown hash never drifts");
  assert.deepEqual(
    c.conditions.map((x) => `${x.type}=${x.status}`),
    ["Launched=True", "Registered=True", "Initialized=True", "Ready=True"],
  );
  assert.ok(p.held.has("pve/1001"));
  assert.equal(p.adopt[0]!.reason.code, "ClaimAdopted");
});

Deno.test("an adopted claim carries the template hash its launch wrote on the VM, so drift still works", () => {
  const p = planAdoptions(
    [vm(1001, "general-a", { templateHash: "v1-0badc0de" })],
    [node("general-a", 1001)],
    [],
    config,
    T0,
  );
  assert.equal(p.adopt[0]!.claim.templateHash, "v1-0badc0de");
  const plan = reconcile(
    {
      now: T0,
      pods: [],
      daemonSets: [],
      nodes: [node("general-a", 1001)],
      nodeClaims: [p.adopt[0]!.claim],
      pdbs: [],
      hosts: [],
      vms: [vm(1001, "general-a", { templateHash: "v1-0badc0de" })],
    },
    config,
  );
  assert.ok(plan.actions.some((a) => a.kind === "MarkDrifted" && a.claim === "general-a"));
});

Deno.test("a VM whose Node is NotReady or whose pool is gone is kept and reported, not adopted", () => {
  const notReady = planAdoptions(
    [vm(1001, "general-a")],
    [node("general-a", 1001, { ready: false })],
    [],
    config,
    T0,
  );
  assert.equal(notReady.adopt.length, 0);
  assert.equal(notReady.kept.length, 1);
  assert.equal(notReady.kept[0]!.reason.code, "OrphanVMKept");
  assert.match(notReady.kept[0]!.reason.message, /not Ready/);
  assert.ok(notReady.held.has("pve/1001"));
  const gone = planAdoptions(
    [vm(1002, "old-b")],
    [node("old-b", 1002, { labels: { [NODEPOOL_LABEL_KEY]: "old" } })],
    [],
    config,
    T0,
  );
  assert.match(gone.kept[0]!.reason.message, /NodePool old, which is not configured/);
});

Deno.test("with deleteUnadoptableVms a VM that cannot be adopted is left to the orphan sweep", () => {
  const allow = { ...config, settings: { ...config.settings, deleteUnadoptableVms: true } };
  const p = planAdoptions(
    [vm(1001, "general-a")],
    [node("general-a", 1001, { ready: false })],
    [],
    allow,
    T0,
  );
  assert.equal(p.kept.length, 0);
  assert.equal(p.held.size, 0);
});

Deno.test("a VM that never got a Node, or whose claim exists, is not recovery's business", () => {
  const claim = { name: "general-a", provider: "pve" } as NodeClaim;
  assert.equal(planAdoptions([vm(1001, "general-a")], [], [], config, T0).held.size, 0);
  assert.equal(
    planAdoptions([vm(1001, "general-a")], [node("general-a", 1001)], [claim], config, T0)
      .held.size,
    0,
  );
});

Deno.test("reconcile adopts lost claims and neither collects their VMs nor disrupts meanwhile", () => {
  const settled = { ...config, settings: { ...config.settings, orphanGracePeriod: 0 } };
  const vms = [vm(1001, "general-a"), vm(1002, "general-b", { status: "stopped" })];
  const nodes = [node("general-a", 1001), node("general-b", 1002, { ready: false })];
  const plan = reconcile(
    {
      now: T0,
      pods: [],
      daemonSets: [],
      nodes,
      nodeClaims: [],
      pdbs: [],
      hosts: [],
      vms,
    },
    settled,
  );
  const kinds = plan.actions.map((a) => a.kind);
  assert.ok(kinds.includes("AdoptClaim"), kinds.join(","));
  assert.ok(kinds.includes("KeepOrphanVM"), kinds.join(","));
  assert.ok(!kinds.includes("GarbageCollectVM"), kinds.join(","));
  assert.ok(!kinds.includes("Disrupt"), kinds.join(","));
  assert.ok(!kinds.includes("RemoveNode"), kinds.join(","));
});

const HOUR = 3_600_000;

/** The Expiration method's choice over an adopted claim in a pool with expireAfter 720h. */
function expiredAfterAdoption(claim: NodeClaim, n: Node): string[] {
  const pass = passOver(
    [{ node: n, claim }, managedNode("b", "general")],
    [testPod("web-1", n.name), testPod("web-2", "b")],
    generalPool({}, { expireAfter: 720 * HOUR, consolidationPolicy: "WhenEmpty" }),
  );
  return summary(EXPIRATION.decide(pass)).flatMap(([, , nodes]) => nodes);
}

Deno.test("an adopted claim keeps the creation time its launch recorded, so it expires on time", () => {
  const recorded = T0 - 800 * HOUR;
  const n = node("general-a", 1001, { createdAt: T0 - 60_000 });
  const p = planAdoptions(
    [vm(1001, "general-a", { claimCreatedAt: recorded, startedAt: T0 - 60_000 })],
    [n],
    [],
    config,
    T0,
  );
  const c = p.adopt[0]!.claim;
  assert.equal(c.createdAt, recorded, "the recorded time, not the adoption, the start or the Node");
  assert.equal(c.adoptedAt, T0);
  assert.match(p.adopt[0]!.reason.message, /created 2026-.*as the VM records/);
  assert.deepEqual(expiredAfterAdoption(c, n), ["general-a"], "800h old in a 720h pool");
});

Deno.test("a VM without a recorded creation time falls back to its own creation, its start, then the adoption, and says so", () => {
  const n = node("general-a", 1001);
  const adopt = (over: Partial<VM>) =>
    planAdoptions([vm(1001, "general-a", over)], [n], [], config, T0).adopt[0]!;
  const made = adopt({ vmCreatedAt: T0 - 900 * HOUR, startedAt: T0 - HOUR });
  assert.equal(made.claim.createdAt, T0 - 900 * HOUR);
  assert.match(made.reason.message, /records no claim creation time.*the VM's creation/);
  assert.deepEqual(expiredAfterAdoption(made.claim, n), ["general-a"]);
  const started = adopt({ startedAt: T0 - HOUR });
  assert.equal(started.claim.createdAt, T0 - HOUR);
  assert.match(started.reason.message, /the VM's last start/);
  assert.deepEqual(expiredAfterAdoption(started.claim, n), [], "1h old: not expired");
  const none = adopt({});
  assert.equal(none.claim.createdAt, T0);
  assert.match(none.reason.message, /counts from this adoption/);
});

Deno.test("a machine whose provider names its own providerID is found and adopted by it", () => {
  const pid = "redfish://metal/4c4c4544-0042";
  const p = planAdoptions(
    [vm(1003, "metal-a", { providerID: pid, claimCreatedAt: T0 - HOUR })],
    [node("metal-a", 1003, { providerID: pid })],
    [],
    config,
    T0,
  );
  assert.equal(p.adopt.length, 1);
  assert.equal(p.adopt[0]!.claim.providerID, pid);
  assert.equal(p.adopt[0]!.claim.createdAt, T0 - HOUR);
});
