import assert from "node:assert/strict";
import { planAdoptions } from "./adoption.ts";
import { reconcile } from "./reconcile.ts";
import type { Node, NodeClaim, VM } from "./model.ts";
import { NODECLAIM_LABEL_KEY, NODEPOOL_LABEL_KEY } from "./labels.ts";
import { providerIdFor } from "./lifecycle_nodes.ts";
import { GiB } from "./quantity.ts";
import { T0, testConfig, testPool, testTemplate } from "./testing/arbitraries.ts";

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
