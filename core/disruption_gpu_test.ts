/**
 * Consolidation with GPU nodes: a GPU pod only moves to where a GPU is free, and a GPU VM that
 * runs no GPU pod is consolidated like any other node (its devices and GPU cost are saved).
 */
import assert from "node:assert/strict";
import { disrupt, initialDisruptionState } from "./disruption.ts";
import type { Shape } from "./model.ts";
import { GiB, MiB } from "./quantity.ts";
import {
  managedNode,
  snapshotOf,
  testConfig,
  testHost,
  testPod,
  testPool,
  testTemplate,
} from "./testing/arbitraries.ts";

const CPU: Shape = { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB };
const GPU: Shape = {
  name: "8c-32Gi-a100",
  cpu: 8000,
  memory: 32 * GiB,
  gpus: { count: 1, mapping: "a100" },
};
const keep = { "karpenter.sh/do-not-disrupt": "true" };

function world(gpuPodAsks: number, freeDevices: number) {
  const config = testConfig({
    machineTemplates: [testTemplate({ shapes: [CPU, GPU] })],
    nodePools: [testPool("general")],
    settings: {
      ...testConfig().settings,
      cost: { perVcpuHour: 0.02, perGiBHour: 0.0025, perGpuHour: 0.5 },
    },
  });
  const g1 = managedNode("g1", "general", {
    shape: GPU,
    node: {
      allocatable: {
        cpu: 7900,
        memory: 32 * GiB - 256 * MiB,
        pods: 110,
        extended: { "nvidia.com/gpu": 1 },
      },
    },
  });
  const c1 = managedNode("c1", "general", { shape: CPU });
  const pods = [
    testPod("train-1", "g1", {
      containers: [{
        cpu: 1000,
        memory: 2 * GiB,
        ...(gpuPodAsks > 0 ? { extended: { "nvidia.com/gpu": gpuPodAsks } } : {}),
      }],
    }),
    // c1 stays, with room for the pod's cpu and memory.
    testPod("db-1", "c1", { containers: [{ cpu: 1000, memory: 2 * GiB }], annotations: keep }),
  ];
  const snap = snapshotOf({
    nodes: [g1.node, c1.node],
    nodeClaims: [g1.claim, c1.claim],
    pods,
    hosts: [
      testHost("pve1", "zone-a", { devices: [{ mapping: "a100", free: freeDevices }] }),
      testHost("pve2", "zone-b"),
    ],
  });
  return disrupt(snap, config, initialDisruptionState());
}

Deno.test("a GPU pod is not moved onto a node without a GPU, and no GPU is free for a replacement: its node stays", () => {
  const plan = world(1, 0);
  assert.deepEqual(plan.commands, []);
  const g1 = plan.verdicts.find((v) => v.node === "g1");
  assert.equal(g1?.disrupt, false);
});

Deno.test("a GPU VM running no GPU pod is consolidated: its pod moves to a CPU node and the GPU is given back", () => {
  const plan = world(0, 0);
  assert.deepEqual(plan.commands.map((c) => [c.method, c.candidates.map((n) => n.node)]), [
    ["SingleNodeConsolidation", ["g1"]],
  ]);
  assert.deepEqual(plan.commands[0]!.evictions.map((e) => [e.pod, e.to]), [[
    "default/train-1",
    "c1",
  ]]);
  // The saving counts the GPU's price.
  assert.ok(plan.commands[0]!.savings > 0.5, `${plan.commands[0]!.savings}`);
});
