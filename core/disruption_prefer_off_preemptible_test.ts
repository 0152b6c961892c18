/**
 * A pool with `disruption.preferOffPreemptible` has consolidation look at its nodes on
 * preemptible hosts first; without it, the usual order (best savings, then name) holds.
 */
import assert from "node:assert/strict";
import { disrupt } from "./disruption.ts";
import type { NodePool } from "./model.ts";
import { GiB } from "./quantity.ts";
import { managedNode, snapshotOf, testConfig, testPod, testPool } from "./testing/arbitraries.ts";
import { CAPACITY_TYPE_LABEL_KEY } from "./labels.ts";

const BIG = { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB };

function disrupted(prefer: boolean): string[] {
  const base = testPool("general");
  const pool: NodePool = {
    ...base,
    disruption: {
      ...base.disruption,
      budgets: [{ nodes: "1" }],
      ...(prefer ? { preferOffPreemptible: true } : {}),
    },
  };
  // Two alike nodes each run one small pod that fits on the roomy node r: either may go, one at
  // a time. "a" sorts before "p", so without the preference "a" goes first.
  const a = managedNode("a", "general");
  const p = managedNode("p", "general");
  const r = managedNode("r", "general", { shape: BIG });
  a.claim.labels = { ...a.claim.labels, [CAPACITY_TYPE_LABEL_KEY]: "reserved" };
  p.claim.labels = { ...p.claim.labels, [CAPACITY_TYPE_LABEL_KEY]: "preemptible" };
  r.claim.labels = { ...r.claim.labels, [CAPACITY_TYPE_LABEL_KEY]: "reserved" };
  const plan = disrupt(
    snapshotOf({
      nodes: [a.node, p.node, r.node],
      nodeClaims: [a.claim, p.claim, r.claim],
      pods: [
        testPod("web-1", "a"),
        testPod("web-2", "p"),
        testPod("keeper", "r", { containers: [{ cpu: 5000, memory: 8 * GiB }] }),
      ],
    }),
    testConfig({ nodePools: [pool] }),
  );
  return plan.commands.flatMap((c) => c.candidates.map((n) => n.node));
}

Deno.test("consolidation takes the node on a preemptible host first when the pool prefers it", () => {
  assert.deepEqual(disrupted(true), ["p"]);
});

Deno.test("without the preference consolidation keeps its usual order", () => {
  assert.deepEqual(disrupted(false), ["a"]);
});
