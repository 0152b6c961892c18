import assert from "node:assert/strict";
import { reason } from "../core/reason.ts";
import { startLaunch } from "./launching.ts";
import type { JobData } from "./context.ts";
import { unitContext } from "./testing/context_fake.ts";
import { fakeClaim, FakeProvider } from "./testing/provider_fake.ts";
import { FakeQueue } from "./testing/queue_fake.ts";

const launchSpec = (claim: string) => ({
  id: `launch-${claim}`,
  name: "launch",
  data: { kind: "launch" as const, claim },
});

Deno.test("a claim's launch is queued once under its id, with the deciding reason", async () => {
  const queue = new FakeQueue<JobData>();
  const { ctx } = unitContext({ fake: new FakeProvider() }, { queue });
  const origin = { reason: reason("PodsPending", "2 pods wait") };
  assert.deepEqual(await startLaunch(ctx, fakeClaim("c1"), false, false, origin), {
    ok: true,
    value: { queued: true },
  });
  assert.deepEqual(await startLaunch(ctx, fakeClaim("c1"), false), {
    ok: true,
    value: { queued: false },
  });
  assert.deepEqual(queue.jobs.get("launch-c1")?.data, {
    kind: "launch",
    claim: "c1",
    origin,
  });
  assert.deepEqual(queue.idsOf("remove"), []);
});

Deno.test("a relaunch frees the id of the claim's finished launch and queues it again", async () => {
  const queue = new FakeQueue<JobData>();
  queue.seed(launchSpec("c1"), "completed");
  const { ctx } = unitContext({ fake: new FakeProvider() }, { queue });
  const r = await startLaunch(ctx, fakeClaim("c1"), false, true);
  assert.deepEqual(r, { ok: true, value: { queued: true } });
  assert.deepEqual(queue.idsOf("remove"), ["launch-c1"]);
  assert.equal(queue.jobs.get("launch-c1")?.state, "waiting");
});

Deno.test("a relaunch leaves a launch still running alone", async () => {
  const queue = new FakeQueue<JobData>();
  queue.seed(launchSpec("c1"), "active");
  const { ctx } = unitContext({ fake: new FakeProvider() }, { queue });
  const r = await startLaunch(ctx, fakeClaim("c1"), false, true);
  assert.deepEqual(r, { ok: true, value: { queued: false } });
  assert.deepEqual(queue.idsOf("remove"), []);
});

Deno.test("a queue that cannot take the launch is a QueueError with the queue's words", async () => {
  const queue = new FakeQueue<JobData>();
  queue.failNext("enqueue", { kind: "QueueUnavailable", message: "redis unreachable" });
  const { ctx } = unitContext({ fake: new FakeProvider() }, { queue });
  const r = await startLaunch(ctx, fakeClaim("c1"), false);
  assert.ok(!r.ok);
  assert.equal(r.error.code, "QueueError");
  assert.match(r.error.message, /launch-c1: redis unreachable/);
});
