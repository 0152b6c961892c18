import assert from "node:assert/strict";
import { disrupt } from "./disruption.ts";
import type { NodePool, Pod, Snapshot } from "./model.ts";
import { GiB, MiB } from "./quantity.ts";
import { managedNode, snapshotOf, testConfig, testPod, testPool } from "./testing/arbitraries.ts";

const SMALL = { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB };

/**
 * Ten nodes each held by one pod that fits nowhere else (1.5 of 2 vCPUs), and `busy`, whose six
 * small pods fit in the others' free room. Deleting `busy` saves 1/11 of the pool's cost for
 * 7/27 of its disruption cost (1 per node + 1 per pod): a score of about 0.35.
 */
function cluster(): Snapshot {
  const nodes = [];
  const pods: Pod[] = [];
  for (let i = 0; i < 10; i++) {
    nodes.push(managedNode(`full-${i}`, "general", { shape: SMALL }));
    pods.push(testPod(`db-${i}`, `full-${i}`, { containers: [{ cpu: 1500, memory: 1 * GiB }] }));
  }
  nodes.push(managedNode("busy", "general", { shape: SMALL }));
  for (let i = 0; i < 6; i++) {
    pods.push(testPod(`web-${i}`, "busy", { containers: [{ cpu: 80, memory: 64 * MiB }] }));
  }
  return snapshotOf({
    nodes: nodes.map((n) => n.node),
    nodeClaims: nodes.map((n) => n.claim),
    pods,
  });
}

function pool(disruption: Partial<NodePool["disruption"]>): NodePool {
  const base = testPool("general");
  return { ...base, disruption: { ...base.disruption, ...disruption } };
}

Deno.test("a WhenEmptyOrUnderutilized pool removes a node whose pods fit elsewhere, whatever they cost to move", () => {
  const plan = disrupt(cluster(), testConfig({ nodePools: [pool({})] }));
  assert.deepEqual(plan.commands.map((c) => c.candidates.map((n) => n.node)), [["busy"]]);
});

Deno.test("a Balanced pool keeps a node whose removal saves too little for the pods it moves, and says why", () => {
  const plan = disrupt(
    cluster(),
    testConfig({ nodePools: [pool({ consolidationPolicy: "Balanced" })] }),
  );
  assert.deepEqual(plan.commands, []);
  const v = plan.verdicts.find((x) => x.node === "busy")!;
  assert.equal(v.disrupt, false);
  assert.equal(v.reason.code, "InsufficientSavings");
  assert.match(v.reason.message, /9% of the pool's cost, for 26% of its disruption cost/);
  assert.match(v.reason.message, /score 0\.35\); a Balanced pool asks at least 0\.50/);
  assert.match(v.reason.message, /consolidationThreshold 2\)/);
});

Deno.test("a higher consolidationThreshold lets the same move through", () => {
  const at = (k: number) =>
    disrupt(
      cluster(),
      testConfig({
        nodePools: [pool({ consolidationPolicy: "Balanced", consolidationThreshold: k })],
      }),
    ).commands.map((c) => c.candidates.map((n) => n.node));
  assert.deepEqual(at(2.5), []); // needs 0.40
  assert.deepEqual(at(3), [["busy"]]); // needs 0.33
});

Deno.test("a Balanced pool still removes empty nodes", () => {
  const snap = cluster();
  const empty = managedNode("idle", "general", { shape: SMALL });
  const withEmpty = {
    ...snap,
    nodes: [...snap.nodes, empty.node],
    nodeClaims: [...snap.nodeClaims, empty.claim],
  };
  const plan = disrupt(
    withEmpty,
    testConfig({ nodePools: [pool({ consolidationPolicy: "Balanced" })] }),
  );
  assert.deepEqual(plan.commands.map((c) => [c.method, c.candidates.map((n) => n.node)]), [
    ["Emptiness", ["idle"]],
  ]);
});
