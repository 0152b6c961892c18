import assert from "node:assert/strict";
import { DISRUPTION_METHODS } from "./disruption_methods.ts";
import { BUDGET_REASONS } from "./disruption_budgets.ts";
import { disrupt } from "./disruption.ts";
import { GiB } from "./quantity.ts";
import { managedNode, snapshotOf, T0, testConfig, testPod } from "./testing/arbitraries.ts";
import { generalPool } from "./testing/disruption_fixture.ts";

Deno.test("the methods run in Karpenter's order with host maintenance first among the forced ones: emptiness, host maintenance, drift, expiration, multi-node, single-node", () => {
  assert.deepEqual(DISRUPTION_METHODS.map((m) => m.name), [
    "Emptiness",
    "HostMaintenance",
    "Drift",
    "Expiration",
    "MultiNodeConsolidation",
    "SingleNodeConsolidation",
  ]);
});

Deno.test("each method spends its own budget reason; drift and expiration are the eventual ones", () => {
  assert.deepEqual(DISRUPTION_METHODS.map((m) => [m.name, m.reason, m.class]), [
    ["Emptiness", "Empty", "Graceful"],
    ["HostMaintenance", "Drifted", "Graceful"],
    ["Drift", "Drifted", "Eventual"],
    ["Expiration", "Expired", "Eventual"],
    ["MultiNodeConsolidation", "Underutilized", "Graceful"],
    ["SingleNodeConsolidation", "Underutilized", "Graceful"],
  ]);
  for (const m of DISRUPTION_METHODS) assert.ok(BUDGET_REASONS.includes(m.reason), m.name);
});

Deno.test("a pass's commands come out in the order of the methods that made them", () => {
  const old = T0 - 800 * 3_600_000;
  const nodes = [
    managedNode("empty", "general"),
    managedNode("drifted", "general", { drifted: true }),
    managedNode("expired", "general", { createdAt: old }),
    ...["u1", "u2", "u3", "u4"].map((n) => managedNode(n, "general")),
  ];
  const small = { containers: [{ cpu: 600, memory: 1 * GiB }] };
  // Too big for the room left on the expired node, so drift's pod does not land there.
  const pods = [
    testPod("d-1", "drifted", { containers: [{ cpu: 1500, memory: 2 * GiB }] }),
    testPod("x-1", "expired", { containers: [{ cpu: 3000, memory: 4 * GiB }] }),
    testPod("u-1", "u1", small),
    testPod("u-2", "u2", small),
    testPod("u-3", "u3", small),
    testPod("u-4", "u4", small),
  ];
  const pool = generalPool({}, { expireAfter: 720 * 3_600_000 });
  const plan = disrupt(
    snapshotOf({ nodes: nodes.map((n) => n.node), nodeClaims: nodes.map((n) => n.claim), pods }),
    testConfig({ nodePools: [pool] }),
  );
  const order = DISRUPTION_METHODS.map((m) => m.name);
  const seen = plan.commands.map((c) => order.indexOf(c.method));
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
  assert.deepEqual(plan.commands.map((c) => c.method), [
    "Emptiness",
    "Drift",
    "Expiration",
    "MultiNodeConsolidation",
  ]);
});
