/**
 * Crash safety of a deletion (a drifted VM replaced: replacement, drain, VM destroyed), with the
 * memory queue and with Redis: killed mid-drain or right after the VM was destroyed, a restarted
 * daemon finishes the job: one VM left, no leak, no duplicate, every pod running.
 */
import assert from "node:assert/strict";
import { DELETE_POINTS, runCrashScenario } from "../harness/crash.ts";
import { memoryQueues, redisQueues } from "../harness/crash_queues.ts";
import { uniquePrefix, withRedis } from "../adapters/queue/testing/redis.ts";

const check = (r: Awaited<ReturnType<typeof runCrashScenario>>) => {
  const log = r.log.join("\n");
  assert.ok(r.crashed, `the daemon reached ${r.point}\n${log}`);
  assert.ok(r.converged, `converged\n${log}`);
  assert.equal(r.leaked, 0, log);
  assert.equal(r.duplicates, 0, log);
  assert.equal(r.liveVms, 1);
  assert.equal(r.pendingPods, 0);
};

for (const point of DELETE_POINTS) {
  Deno.test(`memory queue: killed ${point}, the deletion completes after restart`, async () => {
    check(await runCrashScenario(point, memoryQueues));
  });
}

Deno.test("redis queue: killed at each deletion step, the deletion completes after restart", async (t) => {
  await withRedis(async (url) => {
    for (const point of DELETE_POINTS) {
      await t.step(point, async () => {
        check(await runCrashScenario(point, redisQueues(url, uniquePrefix("crash-del"))));
      });
    }
  });
});
