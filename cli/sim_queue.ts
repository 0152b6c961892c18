/**
 * Capacity sweeps on many machines: `proxscale sim --sweep --queue redis://HOST:PORT` enqueues
 * each cell of the sweep's grid as a BullMQ job and gathers the rows the workers return;
 * `proxscale sim worker --queue redis://...` processes replay them, on as many machines as
 * reach the Redis server. Every job carries its whole input (trace, config, world, seed, shape,
 * host count), and a row depends on nothing else, so the gathered result is the one a local
 * sweep computes, byte for byte. Non-finite numbers survive the JSON of a job as tagged strings.
 *
 * May import: sim/, core/ (types), npm:bullmq, npm:ioredis.
 */
import { Queue, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { Config } from "../core/model.ts";
import type { Trace } from "../sim/trace/format.ts";
import type { WorldSpec } from "../sim/engine/world_spec.ts";
import {
  assembleSweep,
  runSweepScenario,
  type SweepInput,
  type SweepResult,
  type SweepRow,
  type SweepScenario,
  sweepScenarios,
} from "../sim/report/sweep.ts";

/** The default BullMQ queue name for sweep jobs. */
export const SIM_QUEUE = "proxscale-sim";

/** One job: everything a worker needs to replay one cell of the grid. */
type SweepJob = {
  trace: Trace;
  config: Config;
  world: WorldSpec;
  seed: number;
  targetP95Seconds: number;
  hostCostPerHour: number;
  scenario: SweepScenario;
};

const TAG = "\u0000num:";

/** JSON that keeps Infinity, -Infinity and NaN (configs may hold them). */
export function encodeJob(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) => typeof x === "number" && !Number.isFinite(x) ? `${TAG}${String(x)}` : x,
  );
}

/** The inverse of encodeJob. */
export function decodeJob<T>(text: string): T {
  return JSON.parse(
    text,
    (_k, x) => typeof x === "string" && x.startsWith(TAG) ? Number(x.slice(TAG.length)) : x,
  ) as T;
}

function connection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: "proxscale-sim" });
}

/** Where the queue is. */
export type QueueTarget = { url: string; name?: string };

/** Enqueues every cell of the sweep, waits for the workers' rows, and assembles the result. */
export async function distributedSweep(
  input: SweepInput,
  target: QueueTarget,
  timeoutMs = 3_600_000,
): Promise<SweepResult> {
  const name = target.name ?? SIM_QUEUE;
  const qConn = connection(target.url);
  const eConn = connection(target.url);
  const queue = new Queue(name, { connection: qConn });
  const events = new QueueEvents(name, { connection: eConn });
  try {
    await events.waitUntilReady();
    const scenarios = sweepScenarios(input);
    const run = crypto.randomUUID();
    const base = {
      trace: input.trace,
      config: input.config,
      world: input.world,
      seed: input.seed,
      targetP95Seconds: input.targetP95Seconds,
      hostCostPerHour: input.hostCostPerHour,
    };
    const jobs = await Promise.all(
      scenarios.map((scenario, i) =>
        queue.add("sweep-cell", { job: encodeJob({ ...base, scenario } satisfies SweepJob) }, {
          jobId: `sweep-${run}-${i}`,
          removeOnComplete: true,
          removeOnFail: true,
          attempts: 2,
        })
      ),
    );
    let done = 0;
    const rows = await Promise.all(jobs.map(async (job) => {
      const out = await job.waitUntilFinished(events, timeoutMs) as string;
      done++;
      input.onProgress?.(done / jobs.length);
      return decodeJob<SweepRow>(out);
    }));
    return assembleSweep(input.targetP95Seconds, scenarios, rows);
  } finally {
    await events.close();
    await queue.close();
    qConn.disconnect();
    eConn.disconnect();
  }
}

/** A running sweep worker; `close` finishes the job in hand and disconnects. */
export type SweepWorker = { close(): Promise<void> };

/** Starts a worker that replays sweep cells from the queue; resolves once it is connected. */
export async function startSweepWorker(
  target: QueueTarget,
  log: (line: string) => void = () => {},
): Promise<SweepWorker> {
  const conn = connection(target.url);
  const worker = new Worker(
    target.name ?? SIM_QUEUE,
    (job) => {
      const j = decodeJob<SweepJob>((job.data as { job: string }).job);
      const input: SweepInput = {
        trace: j.trace,
        config: j.config,
        world: j.world,
        seed: j.seed,
        targetP95Seconds: j.targetP95Seconds,
        hostCostPerHour: j.hostCostPerHour,
      };
      const row = runSweepScenario(input, j.scenario);
      log(`replayed ${j.scenario.shape.name} on ${j.scenario.hosts} host(s) (job ${job.id})`);
      return Promise.resolve(encodeJob(row));
    },
    // A replay blocks the event loop: a long lock keeps it from looking stalled.
    { connection: conn, concurrency: 1, lockDuration: 600_000 },
  );
  worker.on("error", (e) => log(`queue error: ${e.message}`));
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      conn.disconnect();
    },
  };
}
