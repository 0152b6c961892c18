/**
 * Registration names a node whose kubelet offers pods less than its shape was planned for, in
 * the RegisterNode step's reason and in the claim's Registered condition, with the settings
 * that close the gap; a node that offers what was planned gets no such words.
 */
import assert from "node:assert/strict";
import { allocatableShortfall } from "./allocatable_shortfall.ts";
import { decideLifecycle } from "./lifecycle.ts";
import { providerIdFor } from "./lifecycle_nodes.ts";
import type { Node, NodeClaim } from "./model.ts";
import { GiB, MiB } from "./quantity.ts";
import { T0, testPool, testTemplate } from "./testing/arbitraries.ts";

const TEMPLATE = testTemplate({ evictionHardMemory: 100 * MiB });
const SHAPE = { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB };
/** What the plan counted on: 4Gi - 256Mi reserved - 100Mi eviction threshold, 2 - 0.1 vCPU. */
const PLANNED = { cpu: 1900, memory: 4 * GiB - 356 * MiB };

const claim: NodeClaim = {
  name: "general-a1",
  nodePool: "general",
  machineTemplate: "tpl",
  provider: "pve",
  shape: SHAPE,
  createdAt: T0,
  labels: {},
  taints: [],
  startupTaints: [],
  conditions: [{
    type: "Launched",
    status: "True",
    reason: "Launched",
    message: "",
    lastTransitionTime: T0,
  }],
};

const nodeOffering = (allocatable: { cpu: number; memory: number }): Node => ({
  name: "general-a1",
  providerID: providerIdFor("pve", 130),
  labels: {},
  taints: [],
  allocatable,
  ready: true,
  createdAt: T0 + 60_000,
});

/**
 * The registration step's reason for `node`, and the Registered condition's message once the
 * step's labels and taints are on the node (the next pass).
 */
function registration(node: Node): { step: string; condition: string } {
  const pass = (n: Node) =>
    decideLifecycle({
      claim,
      nodes: [n],
      vm: {
        vmid: 130,
        host: "pve1",
        provider: "pve",
        name: "general-a1",
        tags: ["proxscale"],
        status: "running",
        size: SHAPE,
        claim: "general-a1",
      },
      pool: testPool("general"),
      template: TEMPLATE,
      settings: { launchTimeout: 600_000, registrationTimeout: 900_000, nodeRepairAfter: 300_000 },
      now: T0 + 120_000,
    });
  const step = pass(node).actions.find((a) => a.kind === "RegisterNode");
  assert.ok(step?.kind === "RegisterNode", "the first pass syncs the node");
  const synced = { ...node, labels: { ...node.labels, ...step.labels }, taints: step.taints };
  const registered = pass(synced).conditions.find((c) => c.type === "Registered");
  assert.equal(registered?.status, "True");
  return { step: step.reason.message, condition: registered.message };
}

Deno.test("a node that keeps 200Mi more than planned is named at registration", () => {
  const r = registration(nodeOffering({ cpu: 1900, memory: PLANNED.memory - 200 * MiB }));
  for (const text of [r.step, r.condition]) {
    assert.match(
      text,
      /node general-a1 offers pods memory 3\.46Gi \(200Mi less than the 3\.65Gi planned\)/,
    );
    assert.match(text, /MachineTemplate tpl's reserved and evictionHard\.memory/);
  }
});

Deno.test("a node that offers what was planned, or more, gets no such words", () => {
  for (const offered of [PLANNED, { cpu: 2000, memory: 4 * GiB }]) {
    const r = registration(nodeOffering(offered));
    assert.doesNotMatch(r.step, /offers pods/);
    assert.doesNotMatch(r.condition, /offers pods/);
  }
  // The kubelet reports memory in Ki: a remainder under 1Mi is rounding, not a shortfall.
  assert.equal(
    allocatableShortfall(
      TEMPLATE,
      SHAPE,
      nodeOffering({ ...PLANNED, memory: PLANNED.memory - 512 }),
    ),
    undefined,
  );
});

Deno.test("less cpu than planned is named too", () => {
  const words = allocatableShortfall(TEMPLATE, SHAPE, nodeOffering({ ...PLANNED, cpu: 1800 }));
  assert.match(words ?? "", /offers pods cpu 1800m \(100m less than the 1900m planned\)/);
});
