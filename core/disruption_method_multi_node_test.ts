import assert from "node:assert/strict";
import { MULTI_NODE_CONSOLIDATION } from "./disruption_method_multi_node.ts";
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
