import assert from "node:assert/strict";
import { openBullmqQueue, safeRedisUrl } from "./bullmq.ts";
import { freePort, uniquePrefix, withRedis } from "./testing/redis.ts";

const PASSWORD = "s3cret-redis-pw-9f2";

Deno.test("the Redis password comes from a SecretSource and never reaches a message", async () => {
  await withRedis(async (url) => {
    const env = (name: string) => (name === "REDIS_PW" ? PASSWORD : undefined);
    const good = await openBullmqQueue({
      url,
      prefix: uniquePrefix("pw"),
      password: { env: "REDIS_PW" },
      secretDeps: { getEnv: env },
    });
    assert.ok(good.ok, good.ok ? "" : good.error.message);
    const added = await good.value.enqueue({ id: "launch-pw", name: "launch", data: {} });
    assert.ok(added.ok && added.value.added);
    await good.value.close();

    const wrong = await openBullmqQueue({
      url: url.replace("redis://", `redis://:${PASSWORD}x@`),
      prefix: uniquePrefix("pw"),
      connectTimeoutMs: 2_000,
    });
    assert.equal(wrong.ok, false);
    if (!wrong.ok) {
      assert.equal(wrong.error.kind, "QueueUnavailable");
      assert.ok(!wrong.error.message.includes(PASSWORD), wrong.error.message);
    }
    const missing = await openBullmqQueue({
      url,
      password: { env: "NOT_SET" },
      secretDeps: { getEnv: () => undefined },
    });
    assert.equal(missing.ok, false);
    if (!missing.ok) assert.match(missing.error.message, /environment variable NOT_SET/);
  }, { password: PASSWORD });
});

Deno.test("an unreachable Redis is a value, not a hang", async () => {
  const r = await openBullmqQueue({
    url: `redis://127.0.0.1:${freePort()}`,
    connectTimeoutMs: 1_000,
  });
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error.message, /^redis redis:\/\/127\.0\.0\.1:\d+/);
});

Deno.test("redis URLs are shown without credentials", () => {
  assert.equal(safeRedisUrl("redis://user:pw@10.0.0.5:6379/2"), "redis://10.0.0.5:6379/2");
  assert.equal(safeRedisUrl("not a url"), "(unparsable redis URL)");
});
