import assert from "node:assert/strict";
import { provision } from "./provisioning.ts";
import { disrupt } from "./disruption.ts";
import { managedNode, snapshotOf, testConfig, testPod, testPool } from "./testing/arbitraries.ts";
import { generalPool } from "./testing/disruption_fixture.ts";

Deno.test("a paused pool gets no new node for a pending pod, and says it is paused", () => {
  const snap = snapshotOf({ pods: [testPod("web-1", undefined, { unschedulable: true })] });
  const running = provision(snap, testConfig({ nodePools: [testPool("general")] }));
  assert.equal(running.claims.length, 1);
  const paused = provision(
    snap,
    testConfig({ nodePools: [testPool("general", { paused: true })] }),
  );
  assert.deepEqual(paused.claims, []);
  assert.equal(paused.unhelped[0]?.reason.code, "Paused");
  assert.match(paused.unhelped[0]!.reason.message, /NodePool 'general' is paused/);
});

Deno.test("a paused pool is not brought up to minNodes", () => {
  const snap = snapshotOf();
  const open = provision(snap, testConfig({ nodePools: [testPool("general", { minNodes: 2 })] }));
  assert.equal(open.claims.length, 2);
  const paused = provision(
    snap,
    testConfig({ nodePools: [testPool("general", { minNodes: 2, paused: true })] }),
  );
  assert.deepEqual(paused.claims, []);
});

Deno.test("no node of a paused pool is disrupted, not even an empty or drifted one", () => {
  const nodes = [managedNode("empty", "general"), managedNode("old", "general", { drifted: true })];
  const snap = snapshotOf({
    nodes: nodes.map((n) => n.node),
    nodeClaims: nodes.map((n) => n.claim),
    pods: [testPod("web-1", "old")],
  });
  const pool = generalPool({}, { consolidateAfter: 0 });
  const open = disrupt(snap, testConfig({ nodePools: [pool] }));
  assert.ok(open.commands.length >= 1);
  const paused = disrupt(snap, testConfig({ nodePools: [{ ...pool, paused: true }] }));
  assert.deepEqual(paused.commands, []);
  assert.ok(paused.verdicts.every((v) => !v.disrupt));
  assert.ok(paused.verdicts.some((v) => v.reason.code === "Paused"));
});
