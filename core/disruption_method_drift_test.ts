import assert from "node:assert/strict";
import { DRIFT } from "./disruption_method_drift.ts";
import { GiB } from "./quantity.ts";
import { managedNode, testPod } from "./testing/arbitraries.ts";
import { generalPool, passOver, summary } from "./testing/disruption_fixture.ts";

const SMALL = { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB };
const pod = (node: string, annotations?: Record<string, string>) =>
  testPod("web-1", node, {
    containers: [{ cpu: 1500, memory: 2 * GiB }],
    ...(annotations ? { annotations } : {}),
  });

Deno.test("drift replaces a drifted node, launching its replacement first", () => {
  const pass = passOver([managedNode("a", "general", { drifted: true, shape: SMALL })], [pod("a")]);
  const made = DRIFT.decide(pass);
  assert.deepEqual(summary(made), [["Drift", "Drifted", ["a"]]]);
  assert.equal(made[0]!.replacements.length, 1);
  assert.equal(made[0]!.evictions[0]!.to, made[0]!.replacements[0]!.name);
});

Deno.test("drift leaves a node that has not drifted", () => {
  const pass = passOver([managedNode("a", "general", { shape: SMALL })], [pod("a")]);
  assert.deepEqual(DRIFT.decide(pass), []);
});

Deno.test("drift honours do-not-disrupt until terminationGracePeriod has passed since the drift", () => {
  const keep = { "karpenter.sh/do-not-disrupt": "true" };
  // managedNode marks a drifted claim Drifted 58 minutes before the snapshot.
  const drifted = () => managedNode("a", "general", { drifted: true, shape: SMALL });
  const within = passOver(
    [drifted()],
    [pod("a", keep)],
    generalPool({}, {
      terminationGracePeriod: 2 * 3_600_000,
    }),
  );
  assert.deepEqual(DRIFT.decide(within), []);
  const past = passOver(
    [drifted()],
    [pod("a", keep)],
    generalPool({}, {
      terminationGracePeriod: 30 * 60_000,
    }),
  );
  const made = DRIFT.decide(past);
  assert.deepEqual(summary(made), [["Drift", "Drifted", ["a"]]]);
  assert.match(made[0]!.reason.message, /past terminationGracePeriod \(forceful\)/);
});
