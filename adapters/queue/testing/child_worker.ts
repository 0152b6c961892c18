/**
 * A worker in its own process, for the crash test (tests/queue_redis_crash_test.ts): it takes
 * one job, prints "started <id> <attempt>" and then hangs until it is killed with SIGKILL, as a
 * daemon would die mid-launch. Args: <redis url> <prefix>. Test-only.
 */
import { openBullmqQueue } from "../bullmq.ts";

const [url, prefix] = Deno.args;
if (!url || !prefix) throw new Error("Usage: child_worker.ts <redis url> <prefix>");
const opened = await openBullmqQueue({
  url,
  prefix,
  lockDurationMs: 1_000,
  stalledIntervalMs: 300,
});
if (!opened.ok) throw new Error(opened.error.message);
opened.value.startWorker((ctx) => {
  console.log(`started ${ctx.id} ${ctx.attempt}`);
  return new Promise(() => {});
});
