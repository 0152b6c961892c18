/**
 * Crash safety of the Redis queue with a real process death: a worker process takes a launch
 * job and is killed with SIGKILL mid-run; a worker in this process then picks the job up once
 * the dead worker's lock lapses, and the job runs to completion exactly once more.
 */
import assert from "node:assert/strict";
import { openBullmqQueue } from "../adapters/queue/bullmq.ts";
import { uniquePrefix, waitFor, withRedis } from "../adapters/queue/testing/redis.ts";
import { jobDone } from "../daemon/ports/queue.ts";

const CHILD = new URL("../adapters/queue/testing/child_worker.ts", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("a job of a worker process killed with SIGKILL is picked up by a new worker", async () => {
  await withRedis(async (url) => {
    const prefix = uniquePrefix("sigkill");
    const opened = await openBullmqQueue<{ vmid: number }>({
      url,
      prefix,
      lockDurationMs: 1_000,
      stalledIntervalMs: 300,
    });
    if (!opened.ok) throw new Error(opened.error.message);
    const q = opened.value;
    try {
      const added = await q.enqueue({ id: "launch-crash-1", name: "launch", data: { vmid: 130 } });
      assert.ok(added.ok && added.value.added);
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--frozen", CHILD, url, prefix],
        cwd: ROOT,
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      try {
        while (!text.includes("\n")) {
          const chunk = await out.read();
          if (chunk.done) break;
          text += chunk.value;
        }
      } finally {
        // Killed in every case, so a failed read never leaves a worker process behind.
        child.kill("SIGKILL");
        await out.cancel();
      }
      assert.equal(text.split("\n")[0], "started launch-crash-1 1");
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL");

      const active = await q.get("launch-crash-1");
      assert.ok(active.ok);
      assert.equal(active.value?.state, "active", "the dead worker still holds the job");

      const seen: { attempt: number; vmid: number }[] = [];
      const w = q.startWorker((ctx) => {
        seen.push({ attempt: ctx.attempt, vmid: ctx.data.vmid });
        return Promise.resolve(jobDone());
      });
      await waitFor("recovery", async () => {
        const r = await q.get("launch-crash-1");
        return r.ok && r.value?.state === "completed";
      });
      await w.close();
      const done = await q.get("launch-crash-1");
      assert.ok(done.ok);
      assert.ok((done.value?.attemptsStarted ?? 0) >= 2);
      assert.deepEqual(seen, [{ attempt: 2, vmid: 130 }]);
    } finally {
      await q.close();
    }
  });
});
