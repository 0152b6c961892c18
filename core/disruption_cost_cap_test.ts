import assert from "node:assert/strict";
import { disrupt } from "./disruption.ts";
import type { Pod, Snapshot } from "./model.ts";
import { GiB } from "./quantity.ts";
import { managedNode, snapshotOf, testConfig, testPod, testPool } from "./testing/arbitraries.ts";

const SMALL = { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB };

function cluster(nodes: ReturnType<typeof managedNode>[], pods: Pod[]): Snapshot {
  return snapshotOf({
    nodes: nodes.map((n) => n.node),
    nodeClaims: nodes.map((n) => n.claim),
    pods,
  });
}

Deno.test("a node no launchable VM can undercut is kept without planning a replacement, and says so", () => {
  // Both nodes are the cheapest shape and each is too full for the other's pod: removing either
  // needs a replacement, which cannot cost less than the node it replaces.
  const a = managedNode("a", "general", { shape: SMALL });
  const b = managedNode("b", "general", { shape: SMALL });
  const pods = [
    testPod("web-1", "a", { containers: [{ cpu: 1500, memory: 3 * GiB }] }),
    testPod("web-2", "b", { containers: [{ cpu: 1500, memory: 3 * GiB }] }),
  ];
  const plan = disrupt(cluster([a, b], pods), testConfig({ nodePools: [testPool("general")] }));
  assert.deepEqual(plan.commands, []);
  for (const node of ["a", "b"]) {
    const v = plan.verdicts.find((x) => x.node === node)!;
    assert.equal(v.disrupt, false);
    assert.equal(v.reason.code, "Unconsolidatable");
    assert.match(v.reason.message, /cheapest VM a pool launches\), not less than/);
  }
});

Deno.test("a node a cheaper VM can replace is still simulated and replaced", () => {
  const big = managedNode("big", "general", {
    shape: { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB },
  });
  const plan = disrupt(
    cluster([big], [testPod("web-1", "big")]),
    testConfig({ nodePools: [testPool("general")] }),
  );
  assert.equal(plan.commands.length, 1);
  assert.equal(plan.commands[0]!.replacements[0]!.shape.name, "2c-4Gi");
});

Deno.test("a node whose pod fits no single other node is kept though the others' free room adds up to it", () => {
  // b and c each have about half of what a's pod asks free: together enough, alone not.
  const a = managedNode("a", "general", { shape: SMALL });
  const b = managedNode("b", "general", { shape: SMALL });
  const c = managedNode("c", "general", { shape: SMALL });
  const pods = [
    testPod("web-1", "a", { containers: [{ cpu: 1500, memory: 1 * GiB }] }),
    testPod("web-2", "b", { containers: [{ cpu: 1000, memory: 1 * GiB }] }),
    testPod("web-3", "c", { containers: [{ cpu: 1000, memory: 1 * GiB }] }),
  ];
  const plan = disrupt(
    cluster([a, b, c], pods),
    testConfig({ nodePools: [testPool("general")] }),
  );
  assert.ok(!plan.commands.some((cmd) => cmd.candidates.some((n) => n.node === "a")));
  const v = plan.verdicts.find((x) => x.node === "a")!;
  assert.equal(v.disrupt, false);
  assert.match(v.reason.message, /cheapest VM a pool launches\), not less than/);
});

Deno.test("a node whose pods fit one by one on the other nodes is consolidated", () => {
  const a = managedNode("a", "general", { shape: SMALL });
  const b = managedNode("b", "general", { shape: SMALL });
  const c = managedNode("c", "general", { shape: SMALL });
  const pods = [
    testPod("web-1", "a", { containers: [{ cpu: 400, memory: 1 * GiB }] }),
    testPod("web-2", "a", { containers: [{ cpu: 400, memory: 1 * GiB }] }),
    testPod("web-3", "b", { containers: [{ cpu: 1200, memory: 1 * GiB }] }),
    testPod("web-4", "c", { containers: [{ cpu: 1200, memory: 1 * GiB }] }),
  ];
  const plan = disrupt(
    cluster([a, b, c], pods),
    testConfig({ nodePools: [testPool("general")] }),
  );
  const removed = plan.commands.flatMap((cmd) => cmd.candidates.map((n) => n.node));
  assert.ok(removed.includes("a"), JSON.stringify(plan.verdicts.map((x) => x.reason.message)));
});
