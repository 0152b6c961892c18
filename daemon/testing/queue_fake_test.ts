import assert from "node:assert/strict";
import { err, ok } from "../../core/result.ts";
import { reason } from "../../core/reason.ts";
import { jobDone, jobFailed } from "../ports/queue.ts";
import { FakeQueue } from "./queue_fake.ts";

const spec = (id: string) => ({ id, name: "launch", data: { claim: id } });

Deno.test("an id that exists in any state adds nothing, and every call is recorded", async () => {
  const q = new FakeQueue<{ claim: string }>();
  assert.deepEqual(
    await q.enqueue(spec("launch-a")),
    ok({ id: "launch-a", added: true, state: "waiting" }),
  );
  assert.deepEqual(
    await q.enqueue(spec("launch-a")),
    ok({ id: "launch-a", added: false, state: "waiting" }),
  );
  q.seed(spec("launch-b"), "failed");
  assert.deepEqual(
    await q.enqueue(spec("launch-b")),
    ok({ id: "launch-b", added: false, state: "failed" }),
  );
  assert.deepEqual(q.idsOf("enqueue"), ["launch-a", "launch-a", "launch-b"]);
});

Deno.test("an id the real queues would refuse is refused", async () => {
  const q = new FakeQueue();
  const r = await q.enqueue({ id: "a:b", name: "x", data: {} });
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "InvalidJobId");
  assert.equal(q.jobs.size, 0);
});

Deno.test("an injected error fails the next call of that method only", async () => {
  const q = new FakeQueue();
  const down = { kind: "QueueUnavailable" as const, message: "redis down" };
  q.failNext("enqueue", down);
  assert.deepEqual(await q.enqueue(spec("launch-a")), err(down));
  assert.equal(q.jobs.size, 0);
  assert.ok((await q.enqueue(spec("launch-a"))).ok);
});

Deno.test("a job runs when the test says, through the worker's handler, and ends by its outcome", async () => {
  const q = new FakeQueue<{ claim: string }>();
  const seen: string[] = [];
  q.startWorker((job) => {
    seen.push(job.data.claim);
    return Promise.resolve(
      job.data.claim === "bad" ? jobFailed(reason("ProviderError", "no room")) : jobDone(),
    );
  });
  await q.enqueue(spec("good"));
  await q.enqueue(spec("bad"));
  assert.equal((await q.runNext())?.state, "completed");
  const failed = await q.runNext();
  assert.equal(failed?.state, "failed");
  assert.equal(failed?.lastError, "no room");
  assert.equal(failed?.lastErrorCode, "ProviderError");
  assert.equal(await q.runNext(), undefined);
  assert.deepEqual(seen, ["good", "bad"]);
  assert.deepEqual(
    await q.counts(),
    ok({ waiting: 0, active: 0, delayed: 0, completed: 1, failed: 1 }),
  );
});

Deno.test("a finished job can be removed to free its id; an active or unknown one cannot", async () => {
  const q = new FakeQueue();
  q.seed(spec("done"), "completed");
  q.seed(spec("busy"), "active");
  assert.deepEqual(await q.remove("done"), ok(true));
  assert.deepEqual(await q.remove("busy"), ok(false));
  assert.deepEqual(await q.remove("never"), ok(false));
  assert.deepEqual([...q.jobs.keys()], ["busy"]);
});
