import assert from "node:assert/strict";
import { SINGLE_NODE_CONSOLIDATION } from "./disruption_method_single_node.ts";
import { GiB } from "./quantity.ts";
import { managedNode, testPod } from "./testing/arbitraries.ts";
import { passOver, summary } from "./testing/disruption_fixture.ts";

const SMALL = { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB };

Deno.test("single-node consolidation moves an underused node's pods to a node with room", () => {
  const keep = { "karpenter.sh/do-not-disrupt": "true" };
  const pass = passOver(
    [managedNode("a", "general"), managedNode("b", "general")],
    [
      testPod("web-1", "a"),
      testPod("web-2", "b", { containers: [{ cpu: 3000, memory: 6 * GiB }], annotations: keep }),
    ],
  );
  const made = SINGLE_NODE_CONSOLIDATION.decide(pass);
  assert.deepEqual(summary(made), [["SingleNodeConsolidation", "Underutilized", ["a"]]]);
  assert.deepEqual(made[0]!.evictions.map((e) => [e.pod, e.from, e.to]), [
    ["default/web-1", "a", "b"],
  ]);
});

Deno.test("single-node consolidation keeps a node no cheaper replacement can take over", () => {
  const pass = passOver([managedNode("a", "general", { shape: SMALL })], [testPod("web-1", "a")]);
  assert.deepEqual(SINGLE_NODE_CONSOLIDATION.decide(pass), []);
  const verdict = pass.plan().verdicts.find((v) => v.node === "a");
  assert.equal(verdict?.reason.code, "Unconsolidatable");
});
