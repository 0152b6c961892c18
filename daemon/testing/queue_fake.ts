/**
 * An in-memory job queue for the daemon's unit tests: jobs in a Map, every call recorded, the
 * next call of a method can be made to fail, no timers and no sockets. Jobs run only when the
 * test says (`runNext`), through the handler a worker registered. It keeps the port's id rule
 * (an id that exists in any state adds nothing); retries, retention and stalls are the real
 * queues' business and are pinned by their contract suite.
 *
 * May import: core/, daemon/ports/.
 */
import { err, ok, type Result } from "../../core/result.ts";
import {
  emptyCounts,
  type EnqueueResult,
  type JobCounts,
  type JobHandler,
  type JobInfo,
  type JobQueue,
  type JobSpec,
  type JobState,
  type JobWorker,
  type QueueError,
  validateJobId,
} from "../ports/queue.ts";

/** The port's methods that can fail, by name. */
export type QueueMethod = "enqueue" | "get" | "list" | "counts" | "remove";

/** One recorded call: the method and the job id it was about, if any. */
export type QueueCall = { method: QueueMethod | "startWorker" | "close"; id?: string };

/** An in-memory JobQueue that records its calls and fails on request. */
export class FakeQueue<D = unknown> implements JobQueue<D> {
  /** Every job still known, by id, in the order added. */
  readonly jobs = new Map<string, JobInfo<D>>();
  /** Every call, in order. */
  readonly calls: QueueCall[] = [];
  #handler: JobHandler<D> | undefined;
  #now: () => number;
  readonly #failures = new Map<QueueMethod, QueueError[]>();

  constructor(now: () => number = () => 0) {
    this.#now = now;
  }

  /** The next call of `method` fails with `error` (queued: several calls, several errors). */
  failNext(method: QueueMethod, error: QueueError): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), error]);
  }

  /** Puts a job in `state` as if an earlier run had left it there. */
  seed(spec: JobSpec<D>, state: JobState): JobInfo<D> {
    const info: JobInfo<D> = {
      id: spec.id,
      name: spec.name,
      data: spec.data,
      state,
      attemptsStarted: state === "waiting" ? 0 : 1,
      attemptsFailed: state === "failed" ? 1 : 0,
      enqueuedAt: this.#now(),
    };
    this.jobs.set(spec.id, info);
    return info;
  }

  /** The ids of the calls of one method, in order. */
  idsOf(method: QueueMethod): (string | undefined)[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.id);
  }

  enqueue(job: JobSpec<D>): Promise<Result<EnqueueResult, QueueError>> {
    return this.#call({ method: "enqueue", id: job.id }, (): Result<EnqueueResult, QueueError> => {
      const valid = validateJobId(job.id);
      if (!valid.ok) return err(valid.error);
      const there = this.jobs.get(job.id);
      if (there) return ok({ id: job.id, added: false, state: there.state });
      this.seed(job, "waiting");
      return ok({ id: job.id, added: true, state: "waiting" });
    });
  }

  get(id: string): Promise<Result<JobInfo<D> | undefined, QueueError>> {
    return this.#call({ method: "get", id }, () => ok(this.jobs.get(id)));
  }

  list(): Promise<Result<JobInfo<D>[], QueueError>> {
    return this.#call({ method: "list" }, () => ok([...this.jobs.values()]));
  }

  counts(): Promise<Result<JobCounts, QueueError>> {
    return this.#call({ method: "counts" }, () => {
      const c = emptyCounts();
      for (const j of this.jobs.values()) c[j.state] += 1;
      return ok(c);
    });
  }

  remove(id: string): Promise<Result<boolean, QueueError>> {
    return this.#call({ method: "remove", id }, () => {
      const there = this.jobs.get(id);
      if (!there || there.state === "active") return ok(false);
      this.jobs.delete(id);
      return ok(true);
    });
  }

  startWorker(handler: JobHandler<D>): JobWorker {
    this.calls.push({ method: "startWorker" });
    this.#handler = handler;
    return { close: () => Promise.resolve() };
  }

  close(): Promise<void> {
    this.calls.push({ method: "close" });
    this.#handler = undefined;
    return Promise.resolve();
  }

  /**
   * Runs the oldest waiting job once through the worker's handler: it ends completed, or
   * failed with the handler's reason (its code and message). Undefined when no job waits or no worker was started.
   */
  async runNext(): Promise<JobInfo<D> | undefined> {
    const job = [...this.jobs.values()].find((j) => j.state === "waiting");
    if (!job || !this.#handler) return undefined;
    job.state = "active";
    job.attemptsStarted += 1;
    const outcome = await this.#handler({
      id: job.id,
      name: job.name,
      data: job.data,
      attempt: job.attemptsStarted,
      signal: new AbortController().signal,
    });
    job.finishedAt = this.#now();
    if (outcome.ok) job.state = "completed";
    else {
      job.state = "failed";
      job.attemptsFailed += 1;
      job.lastError = outcome.error.reason.message;
      job.lastErrorCode = outcome.error.reason.code;
    }
    return job;
  }

  async #call<T>(
    call: QueueCall & { method: QueueMethod },
    run: () => Result<T, QueueError>,
  ): Promise<Result<T, QueueError>> {
    this.calls.push(call);
    const failure = this.#failures.get(call.method)?.shift();
    if (failure) return err(failure);
    return await Promise.resolve(run());
  }
}
