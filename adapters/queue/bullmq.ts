/**
 * The job queue on Redis through BullMQ (on ioredis), used when `queue.redis` is configured:
 * jobs survive a daemon restart and a job whose worker died is picked up again once its lock
 * lapses (`lockDurationMs`, checked every `stalledIntervalMs`).
 *
 * BullMQ traps this module is built around:
 * - a custom job id that exists in any state makes `add` a silent no-op, and the returned Job
 *   carries the NEW data in memory only: each add stores a random token in the data and reads
 *   the job back to learn whether this call added it;
 * - ids with ':' or integer ids are rejected: validateJobId checks before any call;
 * - finished jobs block their id until removed, and `removeOnComplete/removeOnFail` by age only
 *   act when another job finishes: every call first cleans finished jobs past their retention;
 * - workers need connections with `maxRetriesPerRequest: null`; Queue and each Worker get
 *   their own connection.
 * The Redis password comes from a SecretSource and never reaches a message; URLs are shown
 * without credentials.
 */
import { Job, Queue, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { SecretSource } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { readSecret, redact, type SecretDeps } from "../proxmox/secret.ts";
import {
  backoffDelay,
  emptyCounts,
  type EnqueueResult,
  failureLine,
  JOB_STATES,
  type JobCounts,
  type JobHandler,
  type JobInfo,
  type JobOutcome,
  type JobQueue,
  type JobSpec,
  type JobState,
  type JobWorker,
  parseFailureLine,
  type QueueError,
  type QueueSettings,
  queueSettings,
  type RetryPolicy,
  thrownFailure,
  validateJobId,
  type WorkerOptions,
} from "../../daemon/ports/queue.ts";
import { errorText } from "./memory.ts";

/** Where and how to reach Redis, plus the queue semantics (port.ts QueueSettings). */
export type BullmqQueueOptions = Partial<QueueSettings> & {
  /** `queue.redis.url` from the configuration: redis:// or rediss://. */
  url: string;
  /** `queue.redis.password`. */
  password?: SecretSource | undefined;
  secretDeps?: SecretDeps;
  /** BullMQ queue name (default "jobs"). */
  queueName?: string;
  /** Redis key prefix (default "proxscale"); tests use a unique one each. */
  prefix?: string;
  /** How long a worker's lock on a job lasts; a dead worker's job stalls after it (default 30 s). */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs (default 30 s). */
  stalledIntervalMs?: number;
  /** How long the first connection may take (default 10 s). */
  connectTimeoutMs?: number;
  /** Connection problems after start-up, for the daemon's log (messages carry no secret). */
  onConnectionError?: (message: string) => void;
};

/** The ioredis options this module sets (a narrow type: ioredis' own is not exact-optional safe). */
type ConnOptions = {
  maxRetriesPerRequest: null;
  connectionName: string;
  password?: string;
  enableOfflineQueue?: boolean;
  lazyConnect?: boolean;
};

/** The custom backoff type name stored in each job's options. */
const BACKOFF_TYPE = "proxscale-capped";

/** What is stored as a BullMQ job's data. */
type Envelope<D> = { payload: D; retry: RetryPolicy; token: string };

/** A redis URL without user name or password, safe for messages. */
export function safeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(unparsable redis URL)";
  }
}

/**
 * Connects to Redis and opens the queue. Fails as a value when the password cannot be read or
 * Redis cannot be reached within `connectTimeoutMs`.
 */
export async function openBullmqQueue<D = unknown>(
  options: BullmqQueueOptions,
): Promise<Result<BullmqJobQueue<D>, QueueError>> {
  let password: string | undefined;
  if (options.password) {
    const secret = await readSecret(options.password, options.secretDeps);
    if (!secret.ok) {
      return err({ kind: "QueueUnavailable", message: `redis password: ${secret.error.message}` });
    }
    password = secret.value;
  }
  const conn = new Connector(options, password);
  const first = await conn.open("queue", { enableOfflineQueue: false });
  if (!first.ok) return first;
  const queue = new Queue(options.queueName ?? "jobs", {
    connection: first.value,
    prefix: options.prefix ?? "proxscale",
  });
  queue.on("error", (e) => conn.report(e));
  return ok(new BullmqJobQueue<D>(queue, first.value, conn, options));
}

/** Makes connections with the options BullMQ needs and the secret kept out of messages. */
class Connector {
  constructor(readonly options: BullmqQueueOptions, readonly password: string | undefined) {}

  /** A connection; `lazy` ones connect in the background (workers). */
  redisOptions(role: string, extra: Partial<ConnOptions> = {}): ConnOptions {
    return {
      maxRetriesPerRequest: null,
      connectionName: `proxscale-${role}`,
      ...(this.password !== undefined ? { password: this.password } : {}),
      ...extra,
    };
  }

  async open(role: string, extra: Partial<ConnOptions>): Promise<Result<Redis, QueueError>> {
    const redis = new Redis(
      this.options.url,
      this.redisOptions(role, { ...extra, lazyConnect: true }),
    );
    let last = "";
    redis.on("error", (e: Error) => (last = e.message));
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((
      r,
    ) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
    try {
      const res = await Promise.race([redis.connect().then(() => "ok" as const), timeout]);
      if (res === "ok") {
        redis.removeAllListeners("error");
        redis.on("error", (e: Error) => this.report(e));
        return ok(redis);
      }
      redis.disconnect();
      return this.fail(`no answer within ${timeoutMs} ms${last ? ` (${last})` : ""}`);
    } catch (e) {
      redis.disconnect();
      return this.fail(errorText(e));
    } finally {
      clearTimeout(timer);
    }
  }

  fail(why: string): { ok: false; error: QueueError } {
    return err({
      kind: "QueueUnavailable",
      message: this.clean(`redis ${safeRedisUrl(this.options.url)}: ${why}`),
    });
  }

  clean(text: string): string {
    return this.password !== undefined ? redact(text, this.password) : text;
  }

  report(e: unknown): void {
    this.options.onConnectionError?.(this.clean(errorText(e)));
  }
}

/** The BullMQ JobQueue; open it with openBullmqQueue. */
export class BullmqJobQueue<D = unknown> implements JobQueue<D> {
  readonly settings: QueueSettings;
  #workers = new Set<BullmqWorker<D>>();
  #closed = false;

  constructor(
    readonly queue: Queue,
    readonly redis: Redis,
    readonly connector: Connector,
    readonly options: BullmqQueueOptions,
  ) {
    this.settings = queueSettings(options);
  }

  async enqueue(job: JobSpec<D>): Promise<Result<EnqueueResult, QueueError>> {
    const valid = validateJobId(job.id);
    if (!valid.ok) return valid;
    return await this.#call(async () => {
      await this.#prune();
      const retry = job.retry ?? this.settings.retry;
      const token = crypto.randomUUID();
      const envelope: Envelope<D> = { payload: job.data, retry, token };
      const { completedMs, failedMs } = this.settings.retention;
      await this.queue.add(job.name, envelope, {
        jobId: job.id,
        attempts: Math.max(1, retry.attempts),
        backoff: { type: BACKOFF_TYPE, delay: retry.baseDelayMs },
        removeOnComplete: { age: Math.ceil(completedMs / 1000) },
        removeOnFail: { age: Math.ceil(failedMs / 1000) },
      });
      // The Job `add` returns cannot tell a duplicate from a new job: read Redis back.
      const stored = await Job.fromId<Envelope<D>>(this.queue, job.id);
      const state = stored ? toState(await stored.getState()) : undefined;
      const added = stored?.data?.token === token;
      return { id: job.id, added, state: state ?? "completed" };
    });
  }

  async get(id: string): Promise<Result<JobInfo<D> | undefined, QueueError>> {
    if (!validateJobId(id).ok) return ok(undefined);
    return await this.#call(async () => {
      await this.#prune();
      const job = await Job.fromId<Envelope<D>>(this.queue, id);
      if (!job) return undefined;
      const state = toState(await job.getState());
      return state ? toInfo(job, state) : undefined;
    });
  }

  async list(): Promise<Result<JobInfo<D>[], QueueError>> {
    return await this.#call(async () => {
      await this.#prune();
      const out: JobInfo<D>[] = [];
      for (const state of JOB_STATES) {
        const types = state === "waiting" ? ["waiting", "prioritized"] as const : [state];
        const jobs = await this.queue.getJobs([...types], 0, -1, true);
        for (const j of jobs) if (j) out.push(toInfo(j as Job<Envelope<D>>, state));
      }
      return out.sort((a, b) => a.enqueuedAt - b.enqueuedAt || (a.id < b.id ? -1 : 1));
    });
  }

  async counts(): Promise<Result<JobCounts, QueueError>> {
    return await this.#call(async () => {
      await this.#prune();
      const raw = await this.queue.getJobCounts(
        "waiting",
        "prioritized",
        "active",
        "delayed",
        "failed",
        "completed",
      );
      const c = emptyCounts();
      c.waiting = (raw.waiting ?? 0) + (raw.prioritized ?? 0);
      c.active = raw.active ?? 0;
      c.delayed = raw.delayed ?? 0;
      c.failed = raw.failed ?? 0;
      c.completed = raw.completed ?? 0;
      return c;
    });
  }

  async remove(id: string): Promise<Result<boolean, QueueError>> {
    if (!validateJobId(id).ok) return ok(false);
    return await this.#call(async () => {
      const job = await Job.fromId(this.queue, id);
      if (!job) return false;
      if ((await job.getState()) === "active") return false;
      // 0 = not removed (locked by a worker meanwhile).
      return (await this.queue.remove(id)) === 1;
    });
  }

  startWorker(handler: JobHandler<D>, options: WorkerOptions = {}): JobWorker {
    if (this.#closed) throw new Error("Cannot start a worker on a closed queue");
    const w = new BullmqWorker<D>(this, handler, options, () => this.#workers.delete(w));
    this.#workers.add(w);
    return w;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#workers].map((w) => w.close()));
    await this.queue.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Forgets finished jobs past their retention (BullMQ's age removal is best-effort only). */
  async #prune(): Promise<void> {
    const { completedMs, failedMs } = this.settings.retention;
    await this.queue.clean(completedMs, 10_000, "completed");
    await this.queue.clean(failedMs, 10_000, "failed");
  }

  async #call<T>(fn: () => Promise<T>): Promise<Result<T, QueueError>> {
    if (this.#closed) return err({ kind: "QueueClosed", message: "the job queue is closed" });
    try {
      return ok(await fn());
    } catch (e) {
      return err({ kind: "QueueUnavailable", message: this.connector.clean(errorText(e)) });
    }
  }
}

/** One BullMQ Worker on its own connection. */
class BullmqWorker<D> implements JobWorker {
  readonly redis: Redis;
  readonly worker: Worker;
  readonly #running = new Set<AbortController>();
  #closing: Promise<void> | undefined;

  constructor(
    readonly owner: BullmqJobQueue<D>,
    readonly handler: JobHandler<D>,
    readonly options: WorkerOptions,
    readonly onClosed: () => void,
  ) {
    const o = owner.options;
    this.redis = new Redis(o.url, owner.connector.redisOptions("worker"));
    this.redis.on("error", (e: Error) => owner.connector.report(e));
    const emit = options.onEvent;
    this.worker = new Worker(
      owner.queue.name,
      (job: Job<Envelope<D>>) => this.#process(job),
      {
        connection: this.redis,
        prefix: o.prefix ?? "proxscale",
        concurrency: Math.max(1, options.concurrency ?? 1),
        lockDuration: o.lockDurationMs ?? 30_000,
        stalledInterval: o.stalledIntervalMs ?? 30_000,
        maxStalledCount: owner.settings.maxStalledCount,
        settings: { backoffStrategy: cappedBackoff },
      },
    );
    this.worker.on("error", (e) => owner.connector.report(e));
    this.worker.on("stalled", (id: string) => emit?.({ kind: "stalled", id }));
  }

  async #process(job: Job<Envelope<D>>): Promise<void> {
    const emit = this.options.onEvent;
    const id = job.id ?? "";
    const env = job.data;
    const attempt = job.attemptsStarted;
    const abort = new AbortController();
    this.#running.add(abort);
    emit?.({ kind: "started", id, name: job.name, attempt });
    let outcome: JobOutcome;
    try {
      outcome = await this.handler({
        id,
        name: job.name,
        data: env.payload,
        attempt,
        signal: abort.signal,
      });
    } catch (e) {
      outcome = err(thrownFailure(errorText(e)));
    } finally {
      this.#running.delete(abort);
    }
    if (outcome.ok) {
      emit?.({ kind: "completed", id, name: job.name, attempt });
      return;
    }
    // BullMQ keeps only the thrown message: the code rides in front of it (failureLine) and
    // toInfo reads it back.
    const why = outcome.error.reason;
    const told = { id, name: job.name, attempt, code: why.code, message: why.message };
    const failures = job.attemptsMade + 1;
    const retry = outcome.error.retry !== false && failures < env.retry.attempts;
    if (retry) {
      const delayMs = backoffDelay(env.retry, failures);
      emit?.({ kind: "retrying", ...told, delayMs });
      throw new Error(failureLine(why));
    }
    emit?.({ kind: "failed", ...told });
    throw new UnrecoverableError(failureLine(why));
  }

  close(force = false): Promise<void> {
    this.#closing ??= (async () => {
      if (force) {
        // As a crash: drop the connection first so nothing this worker does afterwards
        // (finishing or failing the job) reaches Redis; the lock lapses and the job stalls.
        this.redis.disconnect();
        await this.worker.close(true).catch(() => {});
        for (const a of this.#running) a.abort(new Error("worker closed"));
      } else {
        await this.worker.close();
        await this.redis.quit().catch(() => this.redis.disconnect());
      }
      this.onClosed();
    })();
    return this.#closing;
  }
}

/** BullMQ calls this with the number of failed attempts so far (1 after the first failure). */
function cappedBackoff(attemptsMade: number, _type?: string, _e?: Error, job?: unknown): number {
  const env = (job as { data?: Partial<Envelope<unknown>> } | undefined)?.data;
  if (!env?.retry) return 0;
  return backoffDelay(env.retry, attemptsMade);
}

function toState(s: string): JobState | undefined {
  switch (s) {
    case "waiting":
    case "prioritized":
    case "waiting-children":
      return "waiting";
    case "active":
    case "delayed":
    case "completed":
    case "failed":
      return s;
    default:
      return undefined;
  }
}

function toInfo<D>(job: Job<Envelope<D>>, state: JobState): JobInfo<D> {
  const failure = job.failedReason ? parseFailureLine(job.failedReason) : undefined;
  return {
    id: job.id ?? "",
    name: job.name,
    data: job.data?.payload as D,
    state,
    attemptsStarted: job.attemptsStarted ?? 0,
    // BullMQ counts the successful attempt in attemptsMade too.
    attemptsFailed: Math.max(0, (job.attemptsMade ?? 0) - (state === "completed" ? 1 : 0)),
    ...(failure !== undefined ? { lastError: failure.message, lastErrorCode: failure.code } : {}),
    enqueuedAt: job.timestamp,
    ...(job.finishedOn !== undefined && (state === "completed" || state === "failed")
      ? { finishedAt: job.finishedOn }
      : {}),
  };
}
