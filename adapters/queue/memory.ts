/**
 * The default job queue: everything in process memory, timers injected so the simulator can
 * run it on virtual time. Same semantics as the BullMQ queue (see port.ts), with one honest
 * difference: a crash of the process loses the queue, so after a restart the daemon rebuilds
 * its jobs from the cluster's state (NodeClaims and VMs), which is what makes that safe.
 * "Stalled" here means a worker closed by force mid-job: its jobs go back to waiting at once.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { type Reason, reason, type ReasonCode } from "../../core/reason.ts";
import {
  backoffDelay,
  emptyCounts,
  type EnqueueResult,
  type JobCounts,
  type JobEvent,
  type JobHandler,
  type JobInfo,
  type JobOutcome,
  type JobQueue,
  type JobSpec,
  type JobState,
  type JobWorker,
  type QueueError,
  type QueueSettings,
  queueSettings,
  type RetryPolicy,
  thrownFailure,
  validateJobId,
  type WorkerOptions,
} from "../../daemon/ports/queue.ts";

/** Time for the memory queue: the wall clock in the daemon, a virtual one in sim/ and tests. */
export interface QueueTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The wall clock and the runtime's timers. */
export const realTimers: QueueTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as number),
};

/** Message of a job failed for stalling too often (BullMQ's wording, so logs read alike). */
export const STALLED_MESSAGE = "job stalled more than allowable limit";

type Run<D> = { worker: MemoryWorker<D>; abort: AbortController };

type Entry<D> = {
  id: string;
  name: string;
  data: D;
  retry: RetryPolicy;
  state: JobState;
  attemptsStarted: number;
  attemptsFailed: number;
  stalls: number;
  lastError?: string;
  lastErrorCode?: ReasonCode;
  enqueuedAt: number;
  finishedAt?: number;
  timer?: unknown;
  run?: Run<D> | undefined;
};

export type MemoryQueueOptions = Partial<QueueSettings> & { timers?: QueueTimers };

/** The in-memory JobQueue. */
export class MemoryJobQueue<D = unknown> implements JobQueue<D> {
  readonly settings: QueueSettings;
  readonly #timers: QueueTimers;
  readonly #jobs = new Map<string, Entry<D>>();
  /** Ids in the order they became waiting; stale ids are skipped when taken. */
  #waiting = new Fifo<string>();
  /** Finished jobs in finishing order, per state, so purging looks only at expired ones. */
  #finished = { completed: new Fifo<Entry<D>>(), failed: new Fifo<Entry<D>>() };
  #workers: MemoryWorker<D>[] = [];
  #closed = false;

  constructor(options: MemoryQueueOptions = {}) {
    this.settings = queueSettings(options);
    this.#timers = options.timers ?? realTimers;
  }

  enqueue(job: JobSpec<D>): Promise<Result<EnqueueResult, QueueError>> {
    if (this.#closed) return Promise.resolve(closedError());
    const valid = validateJobId(job.id);
    if (!valid.ok) return Promise.resolve(valid);
    this.#purge();
    const existing = this.#jobs.get(job.id);
    if (existing) return Promise.resolve(ok({ id: job.id, added: false, state: existing.state }));
    const entry: Entry<D> = {
      id: job.id,
      name: job.name,
      data: job.data,
      retry: job.retry ?? this.settings.retry,
      state: "waiting",
      attemptsStarted: 0,
      attemptsFailed: 0,
      stalls: 0,
      enqueuedAt: this.#timers.now(),
    };
    this.#jobs.set(job.id, entry);
    this.#makeWaiting(entry);
    return Promise.resolve(ok({ id: job.id, added: true, state: entry.state }));
  }

  get(id: string): Promise<Result<JobInfo<D> | undefined, QueueError>> {
    this.#purge();
    const e = this.#jobs.get(id);
    return Promise.resolve(ok(e ? info(e) : undefined));
  }

  list(): Promise<Result<JobInfo<D>[], QueueError>> {
    this.#purge();
    return Promise.resolve(ok([...this.#jobs.values()].map(info)));
  }

  counts(): Promise<Result<JobCounts, QueueError>> {
    this.#purge();
    const c = emptyCounts();
    for (const e of this.#jobs.values()) c[e.state] += 1;
    return Promise.resolve(ok(c));
  }

  remove(id: string): Promise<Result<boolean, QueueError>> {
    const e = this.#jobs.get(id);
    if (!e || e.state === "active") return Promise.resolve(ok(false));
    if (e.timer !== undefined) this.#timers.clearTimeout(e.timer);
    this.#jobs.delete(id);
    return Promise.resolve(ok(true));
  }

  startWorker(handler: JobHandler<D>, options: WorkerOptions = {}): JobWorker {
    if (this.#closed) throw new Error("Cannot start a worker on a closed queue");
    const w = new MemoryWorker<D>(this, handler, options);
    this.#workers.push(w);
    queueMicrotask(() => this.pump());
    return w;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.close()));
    for (const e of this.#jobs.values()) {
      if (e.timer !== undefined) this.#timers.clearTimeout(e.timer);
      e.timer = undefined;
    }
  }

  /** Internal: starts waiting jobs on workers with a free slot, oldest waiting job first. */
  pump(): void {
    for (const w of this.#workers) {
      while (w.hasRoom()) {
        const next = this.#takeWaiting();
        if (!next) return;
        this.#start(next, w);
      }
    }
  }

  /** Internal: a worker closed by force hands back its running jobs, which stall. */
  stall(entries: Iterable<Entry<D>>, onEvent: ((e: JobEvent) => void) | undefined): void {
    for (const e of entries) {
      e.run?.abort.abort(new Error("worker closed"));
      e.run = undefined;
      e.stalls += 1;
      onEvent?.({ kind: "stalled", id: e.id });
      if (e.stalls > this.settings.maxStalledCount) {
        this.#finish(e, "failed", reason("QueueError", STALLED_MESSAGE));
      } else {
        this.#makeWaiting(e);
      }
    }
  }

  /** Internal: a closing worker leaves the rotation. */
  detach(w: MemoryWorker<D>): void {
    this.#workers = this.#workers.filter((x) => x !== w);
    this.pump();
  }

  #takeWaiting(): Entry<D> | undefined {
    for (let id = this.#waiting.shift(); id !== undefined; id = this.#waiting.shift()) {
      const e = this.#jobs.get(id);
      if (e && e.state === "waiting") return e;
    }
    return undefined;
  }

  #makeWaiting(e: Entry<D>): void {
    e.state = "waiting";
    e.timer = undefined;
    this.#waiting.push(e.id);
    if (!this.#closed) queueMicrotask(() => this.pump());
  }

  #start(e: Entry<D>, w: MemoryWorker<D>): void {
    e.state = "active";
    e.attemptsStarted += 1;
    const run: Run<D> = { worker: w, abort: new AbortController() };
    e.run = run;
    w.running.add(e);
    const attempt = e.attemptsStarted;
    w.onEvent?.({ kind: "started", id: e.id, name: e.name, attempt });
    const ctx = { id: e.id, name: e.name, data: e.data, attempt, signal: run.abort.signal };
    Promise.resolve()
      .then(() => w.handler(ctx))
      .then(
        (outcome) => this.#settle(e, run, outcome),
        (thrown) => this.#settle(e, run, err(thrownFailure(errorText(thrown)))),
      );
  }

  #settle(e: Entry<D>, run: Run<D>, outcome: JobOutcome): void {
    const w = run.worker;
    // A run that stalled (worker closed by force) or whose job was removed has no say.
    if (e.run !== run || this.#jobs.get(e.id) !== e) return;
    e.run = undefined;
    w.running.delete(e);
    const attempt = e.attemptsStarted;
    if (outcome.ok) {
      this.#finish(e, "completed");
      w.onEvent?.({ kind: "completed", id: e.id, name: e.name, attempt });
    } else {
      const { reason: why, retry } = outcome.error;
      e.attemptsFailed += 1;
      e.lastError = why.message;
      e.lastErrorCode = why.code;
      if (retry !== false && e.attemptsFailed < e.retry.attempts) {
        const delayMs = backoffDelay(e.retry, e.attemptsFailed);
        w.onEvent?.({
          kind: "retrying",
          id: e.id,
          name: e.name,
          attempt,
          code: why.code,
          message: why.message,
          delayMs,
        });
        if (delayMs > 0 && !this.#closed) {
          e.state = "delayed";
          e.timer = this.#timers.setTimeout(() => {
            if (this.#jobs.get(e.id) === e && e.state === "delayed") this.#makeWaiting(e);
          }, delayMs);
        } else {
          this.#makeWaiting(e);
        }
      } else {
        this.#finish(e, "failed", why);
        w.onEvent?.({
          kind: "failed",
          id: e.id,
          name: e.name,
          attempt,
          code: why.code,
          message: why.message,
        });
      }
    }
    w.settled();
    if (!this.#closed) this.pump();
  }

  #finish(e: Entry<D>, state: "completed" | "failed", why?: Reason): void {
    e.state = state;
    e.finishedAt = this.#timers.now();
    if (why !== undefined) {
      e.lastError = why.message;
      e.lastErrorCode = why.code;
    }
    this.#finished[state].push(e);
  }

  /** Forgets finished jobs past their retention, which frees their ids. */
  #purge(): void {
    const now = this.#timers.now();
    const { completedMs, failedMs } = this.settings.retention;
    for (const [state, keep] of [["completed", completedMs], ["failed", failedMs]] as const) {
      const fifo = this.#finished[state];
      for (let e = fifo.peek(); e !== undefined && now - e.finishedAt! >= keep; e = fifo.peek()) {
        fifo.shift();
        // Skip entries removed or replaced meanwhile.
        if (this.#jobs.get(e.id) === e) this.#jobs.delete(e.id);
      }
    }
  }
}

/** A queue with O(1) shift (Array#shift copies on long arrays). */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  push(x: T): void {
    this.#items.push(x);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const x = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return x;
  }
}

/** A worker of the memory queue. */
class MemoryWorker<D> implements JobWorker {
  readonly running = new Set<Entry<D>>();
  readonly concurrency: number;
  readonly onEvent: ((e: JobEvent) => void) | undefined;
  #closing = false;
  #idle: (() => void)[] = [];

  constructor(
    readonly queue: MemoryJobQueue<D>,
    readonly handler: JobHandler<D>,
    options: WorkerOptions,
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.onEvent = options.onEvent;
  }

  hasRoom(): boolean {
    return !this.#closing && this.running.size < this.concurrency;
  }

  settled(): void {
    if (this.running.size === 0) { for (const r of this.#idle.splice(0)) r(); }
  }

  close(force = false): Promise<void> {
    this.#closing = true;
    if (force) {
      const stalled = [...this.running];
      this.running.clear();
      this.queue.stall(stalled, this.onEvent);
    }
    this.queue.detach(this);
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

function info<D>(e: Entry<D>): JobInfo<D> {
  return {
    id: e.id,
    name: e.name,
    data: e.data,
    state: e.state,
    attemptsStarted: e.attemptsStarted,
    attemptsFailed: e.attemptsFailed,
    ...(e.lastError !== undefined ? { lastError: e.lastError } : {}),
    ...(e.lastErrorCode !== undefined ? { lastErrorCode: e.lastErrorCode } : {}),
    enqueuedAt: e.enqueuedAt,
    ...(e.finishedAt !== undefined ? { finishedAt: e.finishedAt } : {}),
  };
}

function closedError(): { ok: false; error: QueueError } {
  return err({ kind: "QueueClosed", message: "the job queue is closed" });
}

/** A thrown value's message; handlers should return outcomes, but a bug may still throw. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}
