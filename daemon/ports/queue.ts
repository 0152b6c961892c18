/**
 * The job queue port, declared where it is consumed: how the daemon's executor hands multi-step
 * operations (launch a VM, delete a VM, ...) to workers, and how `proxscale status` sees them.
 * Two implementations:
 * adapters/queue/memory.ts (default, injectable timers, used by sim/ and unit tests) and
 * adapters/queue/bullmq.ts (Redis through BullMQ, survives a daemon restart).
 *
 * Semantics both implementations keep (tested by tests/queue_contract_test.ts):
 * - A job is keyed by a stable id. Enqueueing an id that exists in ANY state (waiting, active,
 *   delayed, completed, failed) adds nothing and reports `added: false`; a repeated decision
 *   therefore never runs twice.
 * - Finished jobs are kept for a retention (`retention.completedMs` / `retention.failedMs`) and
 *   then forgotten, which frees their id. A failed job's id stays blocked until its retention
 *   ends or `remove(id)` is called: a relaunch after a failure must either use a new attempt id
 *   (e.g. `launch-<claim>-2`) or remove the failed job first, after reading its error.
 * - A failing handler is retried with capped exponential backoff: the wait before attempt n+1
 *   is `min(maxDelayMs, baseDelayMs * 2^(n-1))`, up to `attempts` attempts in all. A handler
 *   may say `retry: false` for a failure no retry can fix.
 * - A handler's failure is a Reason: its code (ProviderError, KubernetesError, ...) and its
 *   message. A failed job keeps both from its last failure (`lastErrorCode`, `lastError`), so
 *   the daemon can copy the message into a NodeClaim condition and status shows whose fault it
 *   was. A failure the handler did not describe (it threw, or the job stalled too often) is the
 *   queue's own: QueueError.
 * - A job whose worker dies mid-run ("stalled") goes back to waiting and is started again;
 *   a stall does not use up an attempt, but more than `maxStalledCount` stalls fail the job.
 *
 * May import: core/. Implemented by adapters/queue/; imported by daemon/, cli/ and harness/.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { type Reason, reason, REASON_SEVERITY, type ReasonCode } from "../../core/reason.ts";

/** Where a job is in its life; BullMQ's "prioritized" counts as waiting. */
export type JobState = "waiting" | "active" | "delayed" | "completed" | "failed";

/** All states, in the order `proxscale status` prints them. */
export const JOB_STATES: readonly JobState[] = [
  "waiting",
  "active",
  "delayed",
  "failed",
  "completed",
];

/** Retries: `attempts` in all (1 = no retry); delays in milliseconds. */
export type RetryPolicy = { attempts: number; baseDelayMs: number; maxDelayMs: number };

/** How long finished jobs (and so their ids) are kept, in milliseconds. */
export type Retention = { completedMs: number; failedMs: number };

/** Settings common to both implementations. */
export type QueueSettings = {
  retry: RetryPolicy;
  retention: Retention;
  /** Stalls tolerated before a job fails (BullMQ's default is 1). */
  maxStalledCount: number;
};

/** Defaults: 5 attempts, 1 s doubling to at most 1 min; keep completed 10 min, failed 1 h. */
export const DEFAULT_QUEUE_SETTINGS: QueueSettings = {
  retry: { attempts: 5, baseDelayMs: 1_000, maxDelayMs: 60_000 },
  retention: { completedMs: 10 * 60_000, failedMs: 60 * 60_000 },
  maxStalledCount: 1,
};

/** Fills unset settings from the defaults. */
export function queueSettings(over: Partial<QueueSettings> = {}): QueueSettings {
  return {
    retry: over.retry ?? DEFAULT_QUEUE_SETTINGS.retry,
    retention: over.retention ?? DEFAULT_QUEUE_SETTINGS.retention,
    maxStalledCount: over.maxStalledCount ?? DEFAULT_QUEUE_SETTINGS.maxStalledCount,
  };
}

/** The wait before the attempt that follows failure number `failures` (1-based), capped. */
export function backoffDelay(policy: RetryPolicy, failures: number): number {
  const exp = policy.baseDelayMs * 2 ** Math.max(0, failures - 1);
  return Math.min(policy.maxDelayMs, exp);
}

/** One job to run. `name` says what it is (the worker dispatches on it). */
export type JobSpec<D> = {
  id: string;
  name: string;
  data: D;
  /** Overrides the queue's retry policy for this job. */
  retry?: RetryPolicy;
};

/** What enqueue did: `added: false` means the id already existed (in `state`). */
export type EnqueueResult = { id: string; added: boolean; state: JobState };

/** One job as `proxscale status` shows it. Times are epoch ms. */
export type JobInfo<D = unknown> = {
  id: string;
  name: string;
  data: D;
  state: JobState;
  /** Attempts that began, stalled ones included. */
  attemptsStarted: number;
  /** Attempts that ended in a failure. */
  attemptsFailed: number;
  /** The last failure's message (PVE/Kubernetes text), if any attempt failed. */
  lastError?: string;
  /** The last failure's reason code (whose failure it was), with `lastError`. */
  lastErrorCode?: ReasonCode;
  enqueuedAt: number;
  finishedAt?: number;
};

/** Job counts per state. */
export type JobCounts = Record<JobState, number>;

/** What a handler sees of its job. `signal` aborts when the worker is closed by force. */
export type JobContext<D> = {
  id: string;
  name: string;
  data: D;
  /** 1 for the first start, counting stalled starts. */
  attempt: number;
  signal: AbortSignal;
};

/**
 * Why a job failed: the failure's own Reason (its code travels to the job's recorded error, the
 * report, the span) and whether a retry can help; `retry: false` fails the job at once (e.g. a
 * PVE permission error).
 */
export type JobFailure = { reason: Reason; retry?: boolean };

/** A handler's verdict. Failures, and thrown errors, are retried with backoff unless told not. */
export type JobOutcome = Result<void, JobFailure>;

/** A successful run. */
export function jobDone(): JobOutcome {
  return ok(undefined);
}

/** A failed run for `why`; `retry` false when no retry can heal it. */
export function jobFailed(why: Reason, retry = true): JobOutcome {
  return err({ reason: why, retry });
}

/** The failure the queue records for a handler that threw: the queue's own (QueueError). */
export function thrownFailure(message: string): JobFailure {
  return { reason: reason("QueueError", message) };
}

/** A recorded failure as one line, `<code>: <message>` (what BullMQ stores as its reason). */
export function failureLine(why: Reason): string {
  return `${why.code}: ${why.message}`;
}

/**
 * Reads a line written by `failureLine` back into its Reason. A line without a known code in
 * front (a failure the queue library wrote itself, e.g. a stall) is the queue's: QueueError.
 */
export function parseFailureLine(line: string): Reason {
  const m = /^([A-Za-z]+): /.exec(line);
  const code = m?.[1];
  if (code !== undefined && Object.hasOwn(REASON_SEVERITY, code)) {
    return reason(code as ReasonCode, line.slice(m![0].length));
  }
  return reason("QueueError", line);
}

/** Runs jobs; dispatches on `ctx.name`. */
export type JobHandler<D> = (ctx: JobContext<D>) => Promise<JobOutcome>;

/** What a worker reports as it goes, for logs and metrics. */
export type JobEvent =
  | { kind: "started"; id: string; name: string; attempt: number }
  | { kind: "completed"; id: string; name: string; attempt: number }
  | {
    kind: "retrying";
    id: string;
    name: string;
    attempt: number;
    code: ReasonCode;
    message: string;
    delayMs: number;
  }
  | {
    kind: "failed";
    id: string;
    name: string;
    attempt: number;
    code: ReasonCode;
    message: string;
  }
  | { kind: "stalled"; id: string };

export type WorkerOptions = {
  /** Jobs run at once by this worker (default 1). */
  concurrency?: number;
  onEvent?: (e: JobEvent) => void;
};

/** A running worker. */
export interface JobWorker {
  /**
   * Stops taking jobs. Graceful (default): waits for running jobs to finish. `force`: returns
   * at once as a crash would; the running jobs stall and another worker picks them up.
   */
  close(force?: boolean): Promise<void>;
}

/** Why a queue call failed. */
export type QueueError =
  | { kind: "InvalidJobId"; id: string; message: string }
  | { kind: "QueueUnavailable"; message: string }
  | { kind: "QueueClosed"; message: string };

/** The port. All calls but `startWorker` and `close` return values, never throw. */
export interface JobQueue<D = unknown> {
  /** Adds the job unless its id exists; see the module comment for the id rule. */
  enqueue(job: JobSpec<D>): Promise<Result<EnqueueResult, QueueError>>;
  /** One job, or undefined when unknown (never added, or forgotten after retention). */
  get(id: string): Promise<Result<JobInfo<D> | undefined, QueueError>>;
  /** Every job still known, oldest first. */
  list(): Promise<Result<JobInfo<D>[], QueueError>>;
  counts(): Promise<Result<JobCounts, QueueError>>;
  /** Forgets a finished or waiting job so its id can be used again; false if active or unknown. */
  remove(id: string): Promise<Result<boolean, QueueError>>;
  startWorker(handler: JobHandler<D>, options?: WorkerOptions): JobWorker;
  /** Closes workers started from this queue (gracefully), then the queue. */
  close(): Promise<void>;
}

const INTEGER = /^\d+$/;

/**
 * Checks an id against what BullMQ accepts (no `:`, not an integer string, not empty) and
 * what reads well in logs (at most 200 characters, printable). Both implementations apply it,
 * so a test against memory catches an id Redis would refuse.
 */
export function validateJobId(id: string): Result<string, QueueError> {
  const bad = (why: string) =>
    err<QueueError>({ kind: "InvalidJobId", id, message: `job id "${id}" ${why}` });
  if (id === "") return bad("is empty");
  if (id.includes(":")) return bad("contains ':' (BullMQ uses it as a key separator)");
  if (INTEGER.test(id)) return bad("is an integer string (BullMQ reserves those)");
  if (id.length > 200) return bad("is longer than 200 characters");
  if ([...id].some((ch) => ch <= " " || ch === "\u007f")) {
    return bad("contains whitespace or control characters");
  }
  return ok(id);
}

/** The job that launches a NodeClaim's VM; `attempt` > 1 after a failed launch was kept. */
export function launchJobId(nodeClaim: string, attempt = 1): string {
  return attempt <= 1 ? `launch-${nodeClaim}` : `launch-${nodeClaim}-${attempt}`;
}

/** The job that deletes one VM, keyed by provider and vmid (never a bare vmid). */
export function deleteVmJobId(provider: string, vmid: number): string {
  return `delete-vm-${provider}-${vmid}`;
}

/** Zero counts, filled in by implementations. */
export function emptyCounts(): JobCounts {
  return { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
}
