/**
 * One contract, two queues: every case below runs against the in-memory queue and against
 * BullMQ on a real redis-server (CI's, or one started for the test). The cases are the
 * semantics daemon/ports/queue.ts promises: dedup by id, retries with capped backoff, the
 * attempts cap, the failure message, stalled recovery, retention, state listing, concurrency.
 */
import assert from "node:assert/strict";
import type { JobEvent, JobInfo, JobQueue, QueueSettings } from "../daemon/ports/queue.ts";
import { deleteVmJobId, jobDone, jobFailed, launchJobId } from "../daemon/ports/queue.ts";
import { reason } from "../core/reason.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { openBullmqQueue } from "../adapters/queue/bullmq.ts";
import { uniquePrefix, waitFor, withRedis } from "../adapters/queue/testing/redis.ts";

type P = { n: number };

type Impl = {
  name: string;
  withQueue(
    label: string,
    settings: Partial<QueueSettings>,
    fn: (q: JobQueue<P>) => Promise<void>,
  ): Promise<void>;
};

const memory: Impl = {
  name: "memory",
  async withQueue(_label, settings, fn) {
    const q = new MemoryJobQueue<P>(settings);
    try {
      await fn(q);
    } finally {
      await q.close();
    }
  },
};

const redis: Impl = {
  name: "bullmq",
  withQueue(label, settings, fn) {
    return withRedis(async (url) => {
      const opened = await openBullmqQueue<P>({
        url,
        prefix: uniquePrefix(label),
        // Short enough for a quick stalled test, long enough that a busy CI machine does not
        // miss a lock renewal (renewed every half lock) and stall a healthy job.
        lockDurationMs: 2_000,
        stalledIntervalMs: 500,
        ...settings,
      });
      if (!opened.ok) throw new Error(opened.error.message);
      const q = opened.value;
      try {
        await fn(q);
      } finally {
        await q.close().catch(() => {});
      }
    });
  },
};

const FAST = { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 };

async function info(q: JobQueue<P>, id: string): Promise<JobInfo<P> | undefined> {
  const r = await q.get(id);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

async function stateOf(q: JobQueue<P>, id: string) {
  return (await info(q, id))?.state;
}

function must<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

type Case = { name: string; settings?: Partial<QueueSettings>; run(q: JobQueue<P>): Promise<void> };

const CASES: Case[] = [
  {
    name: "an id enqueued again while it exists runs once",
    settings: { retry: FAST },
    async run(q) {
      const id = launchJobId("general-abc12");
      const first = must(await q.enqueue({ id, name: "launch", data: { n: 1 } }));
      assert.deepEqual(first, { id, added: true, state: "waiting" });
      const again = must(await q.enqueue({ id, name: "launch", data: { n: 2 } }));
      assert.equal(again.added, false);
      let runs = 0;
      const seen: number[] = [];
      const w = q.startWorker((ctx) => {
        runs += 1;
        seen.push(ctx.data.n);
        return Promise.resolve(jobDone());
      });
      await waitFor("completion", async () => (await stateOf(q, id)) === "completed");
      const afterDone = must(await q.enqueue({ id, name: "launch", data: { n: 3 } }));
      assert.deepEqual(afterDone, { id, added: false, state: "completed" });
      await new Promise((r) => setTimeout(r, 50));
      await w.close();
      assert.equal(runs, 1);
      assert.deepEqual(seen, [1], "the first enqueue's data is kept, not the duplicate's");
    },
  },
  {
    name: "ids BullMQ refuses are rejected before any call",
    async run(q) {
      for (const bad of ["101", "launch:x", ""]) {
        const r = await q.enqueue({ id: bad, name: "x", data: { n: 0 } });
        assert.equal(r.ok, false, bad);
        if (!r.ok) assert.equal(r.error.kind, "InvalidJobId");
      }
      assert.equal(
        must(await q.enqueue({ id: deleteVmJobId("pve", 101), name: "d", data: { n: 0 } }))
          .added,
        true,
      );
    },
  },
  {
    name: "a failing job is retried with capped exponential backoff",
    settings: { retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 150 } },
    async run(q) {
      const starts: number[] = [];
      const delays: number[] = [];
      const w = q.startWorker((ctx) => {
        starts.push(Date.now());
        return Promise.resolve(
          ctx.attempt < 4 ? jobFailed(reason("ProviderError", `try ${ctx.attempt}`)) : jobDone(),
        );
      }, { onEvent: (e) => e.kind === "retrying" && delays.push(e.delayMs) });
      must(await q.enqueue({ id: "retry-job", name: "x", data: { n: 0 } }));
      await waitFor("completion", async () => (await stateOf(q, "retry-job")) === "completed");
      await w.close();
      assert.deepEqual(delays, [100, 150, 150], "100, then 200 capped at 150, then 150");
      assert.equal(starts.length, 4);
      for (let i = 1; i < starts.length; i++) {
        // Lower bound only: the wait is at least the backoff (5 ms slack for clock rounding).
        assert.ok(starts[i]! - starts[i - 1]! >= delays[i - 1]! - 5, `gap ${i}`);
      }
      const done = await info(q, "retry-job");
      assert.equal(done?.attemptsFailed, 3);
      assert.equal(done?.lastError, "try 3");
      assert.equal(done?.lastErrorCode, "ProviderError");
    },
  },
  {
    name: "after `attempts` failures the job fails and keeps the last failure's code and message",
    settings: { retry: FAST },
    async run(q) {
      const events: JobEvent[] = [];
      let calls = 0;
      const w = q.startWorker((ctx) => {
        calls += 1;
        return Promise.resolve(
          jobFailed(reason("ProviderError", `VM 101 is locked (clone) - attempt ${ctx.attempt}`)),
        );
      }, { onEvent: (e) => events.push(e) });
      must(await q.enqueue({ id: "cap-job", name: "launch", data: { n: 0 } }));
      await waitFor("failure", async () => (await stateOf(q, "cap-job")) === "failed");
      await w.close();
      assert.equal(calls, 3);
      const failed = await info(q, "cap-job");
      assert.equal(failed?.attemptsFailed, 3);
      assert.equal(failed?.attemptsStarted, 3);
      assert.equal(failed?.lastError, "VM 101 is locked (clone) - attempt 3");
      assert.equal(failed?.lastErrorCode, "ProviderError", "the handler's code is kept");
      const last = events.find((e) => e.kind === "failed");
      assert.ok(last?.kind === "failed" && last.code === "ProviderError");
      assert.deepEqual(events.filter((e) => e.kind === "failed").length, 1);
      assert.deepEqual(events.filter((e) => e.kind === "retrying").length, 2);
    },
  },
  {
    name: "a failure marked retry:false fails at once; a thrown error is retried",
    settings: { retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 10 } },
    async run(q) {
      let thrown = 0;
      const w = q.startWorker((ctx) => {
        if (ctx.name === "perm") {
          return Promise.resolve(jobFailed(
            reason("ProviderError", "403 Permission check failed (/vms/101, VM.Allocate)"),
            false,
          ));
        }
        thrown += 1;
        if (thrown < 2) throw new Error("socket hang up");
        return Promise.resolve(jobDone());
      });
      must(await q.enqueue({ id: "perm-job", name: "perm", data: { n: 0 } }));
      must(await q.enqueue({ id: "throw-job", name: "throw", data: { n: 0 } }));
      await waitFor("both settle", async () =>
        (await stateOf(q, "perm-job")) === "failed" &&
        (await stateOf(q, "throw-job")) === "completed");
      await w.close();
      const perm = await info(q, "perm-job");
      assert.equal(perm?.attemptsStarted, 1);
      assert.equal(perm?.lastError, "403 Permission check failed (/vms/101, VM.Allocate)");
      const th = await info(q, "throw-job");
      assert.equal(th?.attemptsFailed, 1);
      assert.equal(th?.lastError, "socket hang up");
      assert.equal(
        th?.lastErrorCode,
        "QueueError",
        "a throw is a failure the handler did not describe",
      );
    },
  },
  {
    name: "a failed job blocks its id until removed; then the id runs again",
    settings: { retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } },
    async run(q) {
      let calls = 0;
      const w = q.startWorker(() => {
        calls += 1;
        return Promise.resolve(
          calls === 1 ? jobFailed(reason("KubernetesError", "boom")) : jobDone(),
        );
      });
      const id = launchJobId("c1");
      must(await q.enqueue({ id, name: "launch", data: { n: 0 } }));
      await waitFor("failure", async () => (await stateOf(q, id)) === "failed");
      assert.deepEqual(must(await q.enqueue({ id, name: "launch", data: { n: 0 } })), {
        id,
        added: false,
        state: "failed",
      });
      assert.equal(must(await q.remove(id)), true);
      assert.equal(await info(q, id), undefined);
      assert.equal(must(await q.enqueue({ id, name: "launch", data: { n: 0 } })).added, true);
      await waitFor("second run", async () => (await stateOf(q, id)) === "completed");
      await w.close();
      assert.equal(calls, 2);
    },
  },
  {
    name: "finished jobs are forgotten after their retention, which frees the id",
    settings: { retention: { completedMs: 300, failedMs: 300 } },
    async run(q) {
      const w = q.startWorker(() => Promise.resolve(jobDone()));
      must(await q.enqueue({ id: "kept-job", name: "x", data: { n: 0 } }));
      await waitFor("completion", async () => (await stateOf(q, "kept-job")) === "completed");
      assert.equal(
        must(await q.enqueue({ id: "kept-job", name: "x", data: { n: 0 } })).added,
        false,
      );
      await waitFor("retention", async () => (await info(q, "kept-job")) === undefined);
      assert.equal(
        must(await q.enqueue({ id: "kept-job", name: "x", data: { n: 0 } })).added,
        true,
      );
      await waitFor("rerun", async () => (await stateOf(q, "kept-job")) === "completed");
      await w.close();
    },
  },
  {
    name: "a job of a worker killed mid-run is picked up by another worker",
    async run(q) {
      let started = false;
      let aborted = false;
      const a = q.startWorker((ctx) => {
        started = true;
        return new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            aborted = true;
            resolve(jobFailed(reason("ProviderError", "aborted by a dying worker")));
          });
        });
      });
      must(await q.enqueue({ id: "stall-job", name: "launch", data: { n: 0 } }));
      await waitFor("first start", () => started);
      await a.close(true);
      assert.ok(aborted, "the dying worker's handler is told to stop");
      const attempts: number[] = [];
      const stalls: string[] = [];
      const b = q.startWorker((ctx) => {
        attempts.push(ctx.attempt);
        return Promise.resolve(jobDone());
      }, { onEvent: (e) => e.kind === "stalled" && stalls.push(e.id) });
      await waitFor("recovery", async () => (await stateOf(q, "stall-job")) === "completed");
      await b.close();
      const done = await info(q, "stall-job");
      assert.ok((done?.attemptsStarted ?? 0) >= 2, `attemptsStarted ${done?.attemptsStarted}`);
      assert.equal(done?.attemptsFailed, 0, "a stall does not use up an attempt");
      assert.deepEqual(attempts, [2]);
    },
  },
  {
    name: "listing shows each state with attempts and the last error",
    settings: { retry: { attempts: 2, baseDelayMs: 60_000, maxDelayMs: 60_000 } },
    async run(q) {
      let release = () => {};
      const blocked = new Promise<void>((r) => (release = r));
      const w = q.startWorker(async (ctx) => {
        if (ctx.name === "ok") return jobDone();
        if (ctx.name === "block") {
          await blocked;
          return jobDone();
        }
        return jobFailed(reason("ProviderError", `${ctx.name} failed`), ctx.name !== "fail");
      });
      must(await q.enqueue({ id: "j-ok", name: "ok", data: { n: 1 } }));
      must(await q.enqueue({ id: "j-fail", name: "fail", data: { n: 2 } }));
      must(await q.enqueue({ id: "j-delay", name: "delay", data: { n: 3 } }));
      await waitFor(
        "three settle",
        async () =>
          (await stateOf(q, "j-ok")) === "completed" && (await stateOf(q, "j-fail")) === "failed" &&
          (await stateOf(q, "j-delay")) === "delayed",
      );
      must(await q.enqueue({ id: "j-block", name: "block", data: { n: 4 } }));
      await waitFor("active", async () => (await stateOf(q, "j-block")) === "active");
      must(await q.enqueue({ id: "j-wait", name: "ok", data: { n: 5 } }));
      assert.deepEqual(must(await q.counts()), {
        waiting: 1,
        active: 1,
        delayed: 1,
        failed: 1,
        completed: 1,
      });
      const rows = must(await q.list()).map((j) => [j.id, j.state, j.attemptsStarted, j.lastError]);
      assert.deepEqual(
        new Set(rows.map((r) => JSON.stringify(r))),
        new Set([
          JSON.stringify(["j-ok", "completed", 1, undefined]),
          JSON.stringify(["j-fail", "failed", 1, "fail failed"]),
          JSON.stringify(["j-delay", "delayed", 1, "delay failed"]),
          JSON.stringify(["j-block", "active", 1, undefined]),
          JSON.stringify(["j-wait", "waiting", 0, undefined]),
        ]),
      );
      const delayed = must(await q.list()).find((j) => j.id === "j-delay");
      assert.deepEqual(delayed?.data, { n: 3 });
      assert.equal(must(await q.remove("j-delay")), true, "a delayed job can be removed");
      release();
      await waitFor("drained", async () => must(await q.counts()).waiting === 0);
      await w.close();
    },
  },
  {
    name: "a worker runs at most `concurrency` jobs at once",
    async run(q) {
      let running = 0;
      let peak = 0;
      const w = q.startWorker(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 60));
        running -= 1;
        return jobDone();
      }, { concurrency: 3 });
      for (let i = 0; i < 7; i++) {
        must(await q.enqueue({ id: `conc-${i}`, name: "x", data: { n: i } }));
      }
      await waitFor("all done", async () => must(await q.counts()).completed === 7);
      await w.close();
      assert.equal(peak, 3);
    },
  },
];

for (const impl of [memory, redis]) {
  for (const c of CASES) {
    Deno.test(`queue contract (${impl.name}): ${c.name}`, async () => {
      await impl.withQueue(c.name.slice(0, 12).replace(/\W/g, ""), c.settings ?? {}, c.run);
    });
  }
}
