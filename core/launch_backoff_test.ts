import assert from "node:assert/strict";
import {
  backoffDelay,
  initialLaunchBackoff,
  launchGate,
  recordClaimCreated,
  recordLaunchSuccess,
  recordPermanentFailure,
} from "./launch_backoff.ts";

const S = { base: 5_000, max: 60_000, maxClaimsPerHour: 3 };

Deno.test("the pause doubles with each failure of a cause and is capped", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, S)), [
    5_000,
    10_000,
    20_000,
    40_000,
    60_000,
    60_000,
  ]);
  let st = initialLaunchBackoff();
  st = recordPermanentFailure(st, "p", "BootstrapFailed", "no CA", "d1", 0, S);
  assert.equal(launchGate(st, "p", "d1", 4_999, S).ok, false);
  assert.equal(launchGate(st, "p", "d1", 5_000, S).ok, true);
  st = recordPermanentFailure(st, "p", "BootstrapFailed", "no CA", "d1", 5_000, S);
  const g = launchGate(st, "p", "d1", 10_000, S);
  assert.ok(!g.ok && g.until === 15_000 && g.reason.code === "LaunchBackoff");
  assert.match(g.reason.message, /2 launches failed \(BootstrapFailed: no CA\)/);
  assert.equal(launchGate(st, "other", "d1", 10_000, S).ok, true, "per pool");
});

Deno.test("a configuration change or a success lifts the backoff at once", () => {
  let st = initialLaunchBackoff();
  st = recordPermanentFailure(st, "p", "Pve/permission", "403", "d1", 0, S);
  assert.equal(launchGate(st, "p", "d2", 1, S).ok, true, "another digest");
  assert.equal(launchGate(recordLaunchSuccess(st, "p"), "p", "d1", 1, S).ok, true);
  // A failure under the new digest starts counting from one again.
  st = recordPermanentFailure(st, "p", "Pve/permission", "403", "d2", 100, S);
  const g = launchGate(st, "p", "d2", 200, S);
  assert.ok(!g.ok && g.until === 5_100);
});

Deno.test("claims per pool per hour are bounded", () => {
  let st = initialLaunchBackoff();
  for (const t of [0, 1_000, 2_000]) st = recordClaimCreated(st, "p", t);
  const g = launchGate(st, "p", "d", 3_000, S);
  assert.ok(!g.ok && g.reason.code === "ClaimRateLimited" && g.until === 3_600_000);
  assert.equal(launchGate(st, "p", "d", 3_600_001, S).ok, true, "an hour later");
  assert.equal(launchGate(st, "q", "d", 3_000, S).ok, true, "per pool");
});
