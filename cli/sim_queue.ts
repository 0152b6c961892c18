/**
 * Capacity sweeps on many machines: `proxscale sim --sweep --queue redis://HOST:PORT` enqueues
 * each cell of the sweep's grid as a BullMQ job and gathers the rows the workers return;
 * `proxscale sim worker --queue redis://...` processes replay them, on as many machines as
 * reach the Redis server. Every job carries its whole input (trace, config, world, seed, shape,
 * host count), and a row depends on nothing else, so the gathered result is the one a local
 * sweep computes, byte for byte. `proxscale advise --queue` sends its runs the same way (job
 * `advise-run`: trace, one candidate's whole configuration, world, seed), and the same workers
 * replay them. Non-finite numbers survive the JSON of a job as tagged strings.
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
import {
  type Advice,
  adviceRuns,
  assembleAdvice,
  type Outcome,
  runOutcome,
} from "../sim/report/advice.ts";

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

/** One advise run: a candidate's whole configuration, replayed on the trace. */
type AdviseJob = { trace: Trace; config: Config; world: WorldSpec; seed: number };

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

/**
 * Enqueues one job per payload under `jobName`, waits for the workers' results and returns them
 * decoded, in payload order; `onDone(done, total)` after each.
 */
async function runJobs<T>(
  target: QueueTarget,
  jobName: string,
  payloads: unknown[],
  timeoutMs: number,
  onDone?: (done: number, total: number) => void,
): Promise<T[]> {
  const name = target.name ?? SIM_QUEUE;
  const qConn = connection(target.url);
  const eConn = connection(target.url);
  const queue = new Queue(name, { connection: qConn });
  const events = new QueueEvents(name, { connection: eConn });
  try {
    await events.waitUntilReady();
    const run = crypto.randomUUID();
    const jobs = await Promise.all(
      payloads.map((p, i) =>
        queue.add(jobName, { job: encodeJob(p) }, {
          jobId: `${jobName}-${run}-${i}`,
          removeOnComplete: true,
          removeOnFail: true,
          attempts: 2,
        })
      ),
    );
    let done = 0;
    return await Promise.all(jobs.map(async (job) => {
      const out = await job.waitUntilFinished(events, timeoutMs) as string;
      onDone?.(++done, jobs.length);
      return decodeJob<T>(out);
    }));
  } finally {
    await events.close();
    await queue.close();
    qConn.disconnect();
    eConn.disconnect();
  }
}

/** Enqueues every cell of the sweep, waits for the workers' rows, and assembles the result. */
export async function distributedSweep(
  input: SweepInput,
  target: QueueTarget,
  timeoutMs = 3_600_000,
): Promise<SweepResult> {
  const scenarios = sweepScenarios(input);
  const base = {
    trace: input.trace,
    config: input.config,
    world: input.world,
    seed: input.seed,
    targetP95Seconds: input.targetP95Seconds,
    hostCostPerHour: input.hostCostPerHour,
  };
  const rows = await runJobs<SweepRow>(
    target,
    "sweep-cell",
    scenarios.map((scenario) => ({ ...base, scenario } satisfies SweepJob)),
    timeoutMs,
    (done, total) => input.onProgress?.(done / total),
  );
  return assembleSweep(input.targetP95Seconds, scenarios, rows);
}

/**
 * `advise` with every run (the configuration as it is and each candidate) replayed by the
 * queue's workers: the same advice, byte for byte, as the local one.
 */
export async function distributedAdvise(
  input: {
    trace: Trace;
    config: Config;
    world: WorldSpec;
    seed: number;
    onProgress?: (done: number, total: number) => void;
  },
  target: QueueTarget,
  timeoutMs = 3_600_000,
): Promise<Advice> {
  const runs = adviceRuns(input.config, input.world);
  const outcomes = await runJobs<Outcome>(
    target,
    "advise-run",
    runs.configs.map((config) =>
      ({ trace: input.trace, config, world: input.world, seed: input.seed }) satisfies AdviseJob
    ),
    timeoutMs,
    input.onProgress,
  );
  return assembleAdvice(input.config, runs, outcomes);
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
      if (job.name === "advise-run") {
        const a = decodeJob<AdviseJob>((job.data as { job: string }).job);
        const outcome = runOutcome(a.trace, a.config, a.world, a.seed);
        log(`replayed an advise run (job ${job.id})`);
        return Promise.resolve(encodeJob(outcome));
      }
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
