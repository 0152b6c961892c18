import assert from "node:assert/strict";
import { createHealthState } from "./health.ts";

Deno.test("the loop is alive up to the tick age limit and dead one millisecond after", () => {
  let now = 0;
  const h = createHealthState({ now: () => now, maxTickAgeMs: 1000 });
  h.tick();
  now = 1000;
  assert.equal(h.liveness().ok, true);
  now = 1001;
  assert.equal(h.liveness().ok, false);
  h.tick();
  assert.equal(h.liveness().ok, true);
});

Deno.test("readiness starts failing and lists every check, including added ones", () => {
  const h = createHealthState({ now: () => 0, maxTickAgeMs: 1000 });
  assert.deepEqual(h.readiness().map((c) => [c.name, c.ok]), [["caches", false], ["pve", false]]);
  h.setCachesSynced(true);
  h.setPveReachable(true);
  h.setCheck("config", false, "config invalid: pool 'a' has no template");
  assert.deepEqual(h.readiness().map((c) => [c.name, c.ok]), [
    ["caches", true],
    ["pve", true],
    ["config", false],
  ]);
  h.setCheck("config", true);
  assert.ok(h.readiness().every((c) => c.ok));
});
