/**
 * Crash safety of a launch with the Redis (BullMQ) queue: as tests/crash_launch_test.ts, but the
 * restarted daemon reopens the same queue, so the killed worker's job stalls and runs again.
 * Uses PROXSCALE_TEST_REDIS_URL (CI) or a redis-server started on a free port.
 */
import assert from "node:assert/strict";
import { LAUNCH_POINTS, runCrashScenario } from "../harness/crash.ts";
import { redisQueues } from "../harness/crash_queues.ts";
import { uniquePrefix, withRedis } from "../adapters/queue/testing/redis.ts";

Deno.test("redis queue: killed at each launch step, a restarted daemon converges without leaks", async (t) => {
  await withRedis(async (url) => {
    for (const point of LAUNCH_POINTS) {
      await t.step(point, async () => {
        const r = await runCrashScenario(point, redisQueues(url, uniquePrefix("crash")));
        const log = r.log.join("\n");
        assert.ok(r.crashed, `the daemon reached ${point}\n${log}`);
        assert.ok(r.converged, `converged\n${log}`);
        assert.equal(r.leaked, 0, log);
        assert.equal(r.duplicates, 0, log);
        assert.equal(r.liveVms, 1);
        assert.equal(r.claims, 1);
      });
    }
  });
});
