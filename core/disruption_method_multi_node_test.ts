import assert from "node:assert/strict";
import { MULTI_NODE_CONSOLIDATION } from "./disruption_method_multi_node.ts";
import { SINGLE_NODE_CONSOLIDATION } from "./disruption_method_single_node.ts";
import { GiB } from "./quantity.ts";
import { managedNode, testPod } from "./testing/arbitraries.ts";
import { passOver, summary } from "./testing/disruption_fixture.ts";

const pod = (name: string, node: string, cpu: number) =>
  testPod(name, node, { containers: [{ cpu, memory: 1 * GiB }] });

Deno.test("multi-node consolidation folds several underused nodes into one command", () => {
  const names = ["a", "b", "c", "d"];
  const pass = passOver(
    names.map((n) => managedNode(n, "general")),
    names.map((n, i) => pod(`web-${i}`, n, 600)),
  );
  const made = MULTI_NODE_CONSOLIDATION.decide(pass);
  assert.equal(made.length, 1);
  assert.equal(made[0]!.method, "MultiNodeConsolidation");
  assert.equal(made[0]!.reason.code, "Underutilized");
  assert.ok(made[0]!.candidates.length >= 2);
  const gone = new Set(made[0]!.candidates.map((n) => n.node));
  for (const e of made[0]!.evictions) assert.ok(!gone.has(e.to), `${e.pod} moves to ${e.to}`);
});

Deno.test("multi-node consolidation needs at least two nodes it may take", () => {
  // One underused node, and two that do-not-disrupt keeps: single-node consolidation's case.
  const keep = { "karpenter.sh/do-not-disrupt": "true" };
  const pass = passOver(
    ["a", "b", "c"].map((n) => managedNode(n, "general")),
    [
      pod("web-1", "a", 600),
      { ...pod("web-2", "b", 600), annotations: keep },
      { ...pod("web-3", "c", 600), annotations: keep },
    ],
  );
  assert.deepEqual(summary(MULTI_NODE_CONSOLIDATION.decide(pass)), []);
});

Deno.test("multi-node consolidation never folds nodes into a new VM of a shape they already have", () => {
  // a and b: two 1.4-core pods each; c: one 0.9-core pod. Folding two or three of them needs a
  // new VM at least as dear as one of them (another 4c-8Gi, or an 8c-16Gi for all three): the
  // saving of deleting one node, at the price of a boot and more evictions. Karpenter drops such
  // replacements; so does proxscale, and single-node consolidation deletes a node instead.
  const pass = passOver(
    ["a", "b", "c"].map((n) => managedNode(n, "general")),
    [
      pod("web-1", "a", 1400),
      pod("web-2", "a", 1400),
      pod("web-3", "b", 1400),
      pod("web-4", "b", 1400),
      pod("web-5", "c", 900),
    ],
  );
  const made = MULTI_NODE_CONSOLIDATION.decide(pass);
  assert.deepEqual(
    made.map((c) => [c.candidates.map((n) => n.node), c.replacements.map((r) => r.shape.name)]),
    [],
  );
  const single = SINGLE_NODE_CONSOLIDATION.decide(pass);
  assert.equal(single.length, 1);
  assert.deepEqual(single[0]!.replacements, [], "a node is deleted, nothing launched");
});

Deno.test("multi-node consolidation still replaces nodes with one VM cheaper than each of them", () => {
  // Three 8c-16Gi nodes, each with one small pod: the pods of two of them fit on the third, or
  // all three on one new 2c-4Gi, which is cheaper than any of them.
  const big = { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB };
  const pass = passOver(
    ["a", "b", "c"].map((n) => managedNode(n, "general", { shape: big })),
    [pod("web-1", "a", 400), pod("web-2", "b", 400), pod("web-3", "c", 400)],
  );
  const made = MULTI_NODE_CONSOLIDATION.decide(pass);
  assert.equal(made.length, 1);
  assert.deepEqual(made[0]!.candidates.map((n) => n.node), ["a", "b", "c"]);
  assert.deepEqual(made[0]!.replacements.map((r) => r.shape.name), ["2c-4Gi"]);
});
