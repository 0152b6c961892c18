/**
 * Queue factories for the crash scenarios: a fresh in-memory queue per daemon instance (a
 * crashed process loses it, so recovery must come from the NodeClaims alone), or one BullMQ
 * queue in Redis that every instance reopens (a crashed worker's job stalls and is picked up).
 *
 * May import: adapters/, daemon/, sim/.
 */
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { openBullmqQueue } from "../adapters/queue/bullmq.ts";
import type { JobData } from "../daemon/context.ts";
import type { QueueFactory } from "./crash.ts";

const RETRY = { attempts: 6, baseDelayMs: 200, maxDelayMs: 2_000 };

/** A new memory queue per instance. */
export const memoryQueues: QueueFactory = () =>
  Promise.resolve(new MemoryJobQueue<JobData>({ retry: RETRY }));

/** The same Redis queue (by prefix) for every instance, with short stall detection. */
export function redisQueues(url: string, prefix: string): QueueFactory {
  return async () => {
    const q = await openBullmqQueue<JobData>({
      url,
      prefix,
      retry: RETRY,
      lockDurationMs: 1_000,
      stalledIntervalMs: 300,
      maxStalledCount: 3,
    });
    if (!q.ok) throw new Error(`redis queue: ${q.error.message}`);
    return q.value;
  };
}
