import assert from "node:assert/strict";
import { MemoryJobQueue, STALLED_MESSAGE } from "./memory.ts";
import { VirtualTimers } from "./testing/virtual_timers.ts";
import { jobDone, jobFailed, type JobQueue } from "../../daemon/ports/queue.ts";
import { reason } from "../../core/reason.ts";

async function stateOf(q: JobQueue<unknown>, id: string) {
  const r = await q.get(id);
  return r.ok ? r.value?.state : undefined;
}

Deno.test("backoff waits exactly the capped delays on virtual time", async () => {
  const timers = new VirtualTimers(1_000_000);
  const q = new MemoryJobQueue({
    timers,
    retry: { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 3_000 },
  });
  const starts: number[] = [];
  q.startWorker(() => {
    starts.push(timers.now());
    return Promise.resolve(jobFailed(reason("ProviderError", "clone failed")));
  });
  await q.enqueue({ id: "launch-a", name: "launch", data: {} });
  await timers.advance(0);
  assert.deepEqual(starts, [1_000_000]);
  assert.equal(await stateOf(q, "launch-a"), "delayed");
  await timers.advance(999);
  assert.equal(starts.length, 1, "not before the delay");
  await timers.advance(1);
  assert.equal(starts.length, 2);
  await timers.advance(10_000);
  assert.deepEqual(starts.map((t) => t - 1_000_000), [0, 1_000, 3_000, 6_000]);
  assert.equal(await stateOf(q, "launch-a"), "failed");
  await q.close();
  assert.equal(timers.pendingCount, 0);
});

Deno.test("a job that stalls more than maxStalledCount times fails as stalled", async () => {
  const timers = new VirtualTimers();
  const q = new MemoryJobQueue({ timers, maxStalledCount: 1 });
  const hang = () => new Promise<never>(() => {});
  const w1 = q.startWorker(hang);
  await q.enqueue({ id: "delete-vm-pve-101", name: "delete", data: {} });
  await timers.advance(0);
  await w1.close(true);
  assert.equal(await stateOf(q, "delete-vm-pve-101"), "waiting");
  const w2 = q.startWorker(hang);
  await timers.advance(0);
  assert.equal(await stateOf(q, "delete-vm-pve-101"), "active");
  await w2.close(true);
  const r = await q.get("delete-vm-pve-101");
  assert.ok(r.ok);
  assert.equal(r.value?.state, "failed");
  assert.equal(r.value?.lastError, STALLED_MESSAGE);
  assert.equal(r.value?.lastErrorCode, "QueueError", "the queue failed it, not the handler");
  assert.equal(r.value?.attemptsStarted, 2);
  await q.close();
});

Deno.test("a finished job's id is free exactly when its retention ends", async () => {
  const timers = new VirtualTimers();
  const q = new MemoryJobQueue({ timers, retention: { completedMs: 5_000, failedMs: 60_000 } });
  q.startWorker(() => Promise.resolve(jobDone()));
  await q.enqueue({ id: "launch-b", name: "launch", data: {} });
  await timers.advance(0);
  assert.equal(await stateOf(q, "launch-b"), "completed");
  await timers.advance(4_999);
  const early = await q.enqueue({ id: "launch-b", name: "launch", data: {} });
  assert.ok(early.ok && !early.value.added);
  await timers.advance(1);
  const late = await q.enqueue({ id: "launch-b", name: "launch", data: {} });
  assert.ok(late.ok && late.value.added);
  await q.close();
});

Deno.test("graceful close waits for running jobs; a closed queue refuses work", async () => {
  const q = new MemoryJobQueue();
  let release = () => {};
  let finished = false;
  q.startWorker(async () => {
    await new Promise<void>((r) => (release = r));
    finished = true;
    return jobDone();
  });
  await q.enqueue({ id: "slow-job", name: "x", data: {} });
  await new Promise((r) => setTimeout(r, 0));
  const closing = q.close();
  release();
  await closing;
  assert.equal(finished, true);
  const r = await q.enqueue({ id: "late-job", name: "x", data: {} });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error.kind, "QueueClosed");
});

Deno.test("removing a job cancels its retry timer", async () => {
  const timers = new VirtualTimers();
  const q = new MemoryJobQueue({
    timers,
    retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 100 },
  });
  let calls = 0;
  q.startWorker(() => {
    calls += 1;
    return Promise.resolve(jobFailed(reason("ProviderError", "no")));
  });
  await q.enqueue({ id: "gone-job", name: "x", data: {} });
  await timers.advance(0);
  assert.equal(timers.pendingCount, 1);
  const removed = await q.remove("gone-job");
  assert.ok(removed.ok && removed.value);
  assert.equal(timers.pendingCount, 0);
  await timers.advance(1_000);
  assert.equal(calls, 1);
  await q.close();
});
