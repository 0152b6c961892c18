/** The memory queue under simulator-sized load: 10,000 jobs enqueued, run and listed. */
import { MemoryJobQueue } from "./memory.ts";
import { jobDone } from "../../daemon/ports/queue.ts";

Deno.bench("memory queue: 10,000 launch jobs through one worker (concurrency 16)", async () => {
  const q = new MemoryJobQueue<number>({ retention: { completedMs: 0, failedMs: 0 } });
  let left = 10_000;
  let done = () => {};
  const finished = new Promise<void>((r) => (done = r));
  q.startWorker(() => {
    if (--left === 0) done();
    return Promise.resolve(jobDone());
  }, { concurrency: 16 });
  for (let i = 0; i < 10_000; i++) await q.enqueue({ id: `launch-c${i}`, name: "launch", data: i });
  await finished;
  await q.counts();
  await q.close();
});
