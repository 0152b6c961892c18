import assert from "node:assert/strict";
import { JOB_WORK_PER_EVICTION, lostWorkCost } from "./disruption_candidates.ts";
import { SINGLE_NODE_CONSOLIDATION } from "./disruption_method_single_node.ts";
import { GiB } from "./quantity.ts";
import { managedNode, T0, testPod } from "./testing/arbitraries.ts";
import { generalPool, passOver, summary } from "./testing/disruption_fixture.ts";

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
