/**
 * A node's room for pending pods leaves out what its pool's DaemonSets will take there: a
 * DaemonSet pod not yet running on a node (the node just came up, or its pod was evicted and
 * is being recreated) still needs its requests on that node, as Karpenter counts an existing
 * node's DaemonSet overhead. Otherwise pods are planned (or consolidated) onto the room the
 * DaemonSet pod needs, and it stays Pending for good.
 */
import assert from "node:assert/strict";
import { provision } from "./provisioning.ts";
import { MiB } from "./quantity.ts";
import { managedNode, snapshotOf, T0, testConfig, testPod } from "./testing/arbitraries.ts";

const agent = testPod("node-agent", undefined, {
  containers: [{ cpu: 300, memory: 64 * MiB }],
  ownerKind: "DaemonSet",
  ownerName: "node-agent",
});
const busy = () => testPod("db-0", "n1", { containers: [{ cpu: 3000, memory: 1024 * MiB }] });
const waiting = () =>
  testPod("web-1", undefined, {
    containers: [{ cpu: 800, memory: 256 * MiB }],
    unschedulable: true,
    pendingSince: T0 - 60_000,
  });

const CASES = [
  {
    name: "a pending pod is not planned onto the room a DaemonSet pod not yet on the node needs",
    pods: () => [busy(), waiting()],
    daemonSets: [agent],
    placedOnNode: false,
  },
  {
    name: "a DaemonSet pod already running on the node is counted once, not twice",
    pods: () => [
      busy(),
      testPod("node-agent-x", "n1", {
        containers: [{ cpu: 300, memory: 64 * MiB }],
        ownerKind: "DaemonSet",
        ownerName: "node-agent",
      }),
      testPod("small-1", undefined, {
        containers: [{ cpu: 500, memory: 128 * MiB }],
        unschedulable: true,
        pendingSince: T0 - 60_000,
      }),
    ],
    daemonSets: [agent],
    placedOnNode: true,
  },
  {
    name: "without a DaemonSet the same pending pod fits the node",
    pods: () => [busy(), waiting()],
    daemonSets: [],
    placedOnNode: true,
  },
];

for (const c of CASES) {
  Deno.test(c.name, () => {
    // A 4-vCPU node: 3900m allocatable, 3000m taken by db-0.
    const n1 = managedNode("n1", "general");
    const plan = provision(
      snapshotOf({
        pods: c.pods(),
        nodes: [n1.node],
        nodeClaims: [n1.claim],
        daemonSets: c.daemonSets,
      }),
      testConfig(),
    );
    const onNode = plan.placements.some((p) => p.kind === "node" && p.target === "n1");
    assert.equal(onNode, c.placedOnNode, JSON.stringify(plan));
    if (!c.placedOnNode) assert.equal(plan.claims.length, 1, "it gets a VM instead");
  });
}
