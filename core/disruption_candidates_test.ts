import assert from "node:assert/strict";
import { buildWorld, JOB_WORK_PER_EVICTION, lostWorkCost } from "./disruption_candidates.ts";
import { SINGLE_NODE_CONSOLIDATION } from "./disruption_method_single_node.ts";
import { GiB } from "./quantity.ts";
import { managedNode, snapshotOf, T0, testConfig, testPod } from "./testing/arbitraries.ts";
import { generalPool, passOver, summary } from "./testing/disruption_fixture.ts";
import { PdbLedger } from "./disruption_pdb.ts";

const MINUTE = 60_000;

Deno.test("a Job's pod weighs one more eviction for every five minutes it has run; a ReplicaSet's pod loses nothing", () => {
  assert.equal(JOB_WORK_PER_EVICTION, 5 * MINUTE);
  const job = testPod("batch-1", "a", {
    ownerKind: "Job",
    ownerName: "batch",
    boundAt: T0 - 20 * MINUTE,
  });
  assert.equal(lostWorkCost(job, T0), 4);
  // Without a bind time the pod's creation stands in for its start.
  const created = testPod("batch-2", "a", { ownerKind: "Job", createdAt: T0 - 10 * MINUTE });
  assert.equal(lostWorkCost(created, T0), 2);
  assert.equal(lostWorkCost(testPod("web-1", "a", { boundAt: T0 - 90 * MINUTE }), T0), 0);
});

Deno.test("consolidation takes the node whose pods lose no work before a node with fewer pods running a long Job", () => {
  const keep = { "karpenter.sh/do-not-disrupt": "true" };
  const pool = generalPool({
    scaleDown: { maxConcurrent: 1, drainTimeout: 600_000, stabilizationWindow: 0 },
  });
  const pass = passOver(
    [managedNode("a", "general"), managedNode("b", "general"), managedNode("c", "general")],
    [
      // Node a: one pod of a Job that has run for 50 minutes; evicted, it starts over.
      testPod("batch-1", "a", { ownerKind: "Job", ownerName: "batch", boundAt: T0 - 50 * MINUTE }),
      // Node b: two web pods, which lose nothing by moving.
      testPod("web-1", "b", { boundAt: T0 - 50 * MINUTE }),
      testPod("web-2", "b", { boundAt: T0 - 50 * MINUTE }),
      // Node c stays (do-not-disrupt) and has room for either node's pods.
      testPod("db-1", "c", { containers: [{ cpu: 2000, memory: 4 * GiB }], annotations: keep }),
    ],
    pool,
  );
  const made = SINGLE_NODE_CONSOLIDATION.decide(pass);
  // Karpenter's ranking alone (fewest evictions first) would take node a.
  assert.deepEqual(summary(made), [["SingleNodeConsolidation", "Underutilized", ["b"]]]);
  const a = pass.plan().verdicts.find((v) => v.node === "a");
  assert.equal(a?.disrupt, false);
});

Deno.test("a pool replaced in place in the same config object is the pool the next world uses", () => {
  const n = managedNode("node-a", "general");
  const snap = snapshotOf({ nodes: [n.node], nodeClaims: [n.claim] });
  const before = generalPool({}, { consolidateAfter: 60_000 });
  const config = testConfig({ nodePools: [before] });
  const first = buildWorld(snap, config, new PdbLedger([]));
  assert.equal(first.candidates[0]!.pool, before);
  const after = generalPool({}, { consolidateAfter: 0 });
  config.nodePools[0] = after;
  const second = buildWorld(snap, config, new PdbLedger([]));
  assert.equal(second.candidates[0]!.pool, after);
  assert.equal(second.pools.get("general"), after);
  // And a pool list replaced by another one is seen too.
  config.nodePools = [before];
  assert.equal(buildWorld(snap, config, new PdbLedger([])).candidates[0]!.pool, before);
});

Deno.test("a claim whose pool is gone from the config is a candidate under the removed-pool rules", () => {
  const n = managedNode("node-a", "general");
  const snap = snapshotOf({ nodes: [n.node], nodeClaims: [n.claim] });
  const config = testConfig({ nodePools: [generalPool()] });
  assert.equal(buildWorld(snap, config, new PdbLedger([])).candidates[0]!.poolRemoved, false);
  config.nodePools = [];
  assert.equal(buildWorld(snap, config, new PdbLedger([])).candidates[0]!.poolRemoved, true);
});
