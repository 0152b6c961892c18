import assert from "node:assert/strict";
import { EXPIRATION } from "./disruption_method_expiration.ts";
import { managedNode, T0, testPod } from "./testing/arbitraries.ts";
import { generalPool, passOver, summary } from "./testing/disruption_fixture.ts";

const HOUR = 3_600_000;
const pool = generalPool({}, { expireAfter: 720 * HOUR, consolidationPolicy: "WhenEmpty" });

Deno.test("expiration replaces a node older than expireAfter", () => {
  const pass = passOver(
    [
      managedNode("a", "general", { createdAt: T0 - 800 * HOUR }),
      managedNode("b", "general"),
    ],
    [testPod("web-1", "a"), testPod("web-2", "b")],
    pool,
  );
  const made = EXPIRATION.decide(pass);
  assert.deepEqual(summary(made), [["Expiration", "Expired", ["a"]]]);
  assert.match(made[0]!.reason.message, /passed expireAfter 720h \(created 800h ago\)/);
});

Deno.test("expiration leaves a node younger than expireAfter", () => {
  const pass = passOver(
    [
      managedNode("a", "general", { createdAt: T0 - 700 * HOUR }),
      managedNode("b", "general"),
    ],
    [testPod("web-1", "a"), testPod("web-2", "b")],
    pool,
  );
  assert.deepEqual(EXPIRATION.decide(pass), []);
});
