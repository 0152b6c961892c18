import assert from "node:assert/strict";
import { disrupt } from "./disruption.ts";
import { provision, type ProvisionPlan } from "./provisioning.ts";
import type { Snapshot } from "./model.ts";
import { reason } from "./reason.ts";
import { managedNode, snapshotOf, testConfig, testPod, testPool } from "./testing/arbitraries.ts";

function world(): Snapshot {
  const a = managedNode("a", "general");
  const b = managedNode("b", "general");
  return snapshotOf({
    nodes: [a.node, b.node],
    nodeClaims: [a.claim, b.claim],
    pods: [testPod("web-1", "b"), testPod("queued-1", undefined, { unschedulable: true })],
  });
}

Deno.test("disrupt reuses the pass's provisioning plan and decides exactly as if it planned again", () => {
  const snap = world();
  const config = testConfig({ nodePools: [testPool("general")] });
  const plan = provision(snap, config);
  assert.deepEqual(
    disrupt(snap, config, undefined, { snapshot: snap, config, plan }),
    disrupt(snap, config),
  );
});

Deno.test("a provisioning plan made on another snapshot or config is not reused", () => {
  const snap = world();
  const config = testConfig({ nodePools: [testPool("general")] });
  // Planning again sends the pending pod to the empty node "a"; this plan sends it to "b".
  const fake: ProvisionPlan = {
    claims: [],
    placements: [{
      pod: "default/queued-1",
      target: "b",
      kind: "node",
      reason: reason("PodsPending", "t"),
    }],
    unhelped: [],
  };
  const used = disrupt(snap, config, undefined, { snapshot: snap, config, plan: fake });
  assert.match(
    used.verdicts.find((v) => v.node === "b")!.reason.message,
    /about to receive 1 pending pod/,
  );
  const plain = disrupt(snap, config);
  assert.match(
    plain.verdicts.find((v) => v.node === "a")!.reason.message,
    /about to receive 1 pending pod/,
  );
  assert.notDeepEqual(used, plain);
  assert.deepEqual(
    disrupt(snap, config, undefined, { snapshot: { ...snap }, config, plan: fake }),
    plain,
  );
  assert.deepEqual(
    disrupt(snap, config, undefined, { snapshot: snap, config: { ...config }, plan: fake }),
    plain,
  );
});
