/**
 * The fake's task runtime. Each PVE worker is a generator that yields "sleep" and "lock" steps;
 * the scheduler resumes it when its time comes or its lock frees, in time order, against an
 * injected clock. That single mechanism gives the simulator virtual time (advance the clock,
 * tasks complete) and the HTTP server real time (tasks complete once their duration elapsed),
 * and it reproduces PVE's file-lock waits and "got timeout" failures.
 */

/** Shared locks coexist (clone sources); exclusive locks exclude everything. */
export type LockMode = "shared" | "exclusive";

/** What a worker waits for. */
export type Step =
  | { kind: "sleep"; ms: number }
  | { kind: "lock"; key: string; mode: LockMode; timeoutMs: number; message: string }
  | { kind: "unlock"; key: string };

/** A worker ends by returning (`OK`, or e.g. `WARNINGS: 1`) or by throwing TaskFailure. */
export type Worker = Generator<Step, string | void, void>;

/** A task's error: its message becomes the task's exitstatus. */
export class TaskFailure extends Error {
  override name = "TaskFailure";
}

/** The worker died without writing a status: no rollback, exitstatus `unexpected status`. */
export class TaskKilled extends TaskFailure {
  override name = "TaskKilled";
  constructor() {
    super("unexpected status");
  }
}

/** Helpers so workers read as PVE's steps: `yield sleep(ms)`, `yield lock(...)`. */
export function sleep(ms: number): Step {
  return { kind: "sleep", ms: Math.max(0, ms) };
}

/** A lock step; `message` is the task error when the wait times out. */
export function lock(key: string, mode: LockMode, timeoutMs: number, message: string): Step {
  return { kind: "lock", key, mode, timeoutMs, message };
}

/** Releases a lock before the worker ends (storage locks around one disk copy). */
export function unlock(key: string): Step {
  return { kind: "unlock", key };
}

type Run = {
  id: number;
  gen: Worker;
  wakeAt?: number;
  waiting?: { key: string; mode: LockMode; deadline: number; message: string };
  held: Map<string, LockMode>;
  onDone: (exitstatus: string) => void;
};

/** Runs workers in virtual or real time; see the file comment. */
export class Scheduler {
  readonly #now: () => number;
  readonly #runs = new Map<number, Run>();
  readonly #holders = new Map<string, Map<number, LockMode>>();
  readonly #queues = new Map<string, Run[]>();
  #clock: number | undefined;
  #advancing = false;
  #nextId = 1;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The time of the event being processed, else the clock's now (epoch ms). */
  time(): number {
    return this.#clock ?? this.#now();
  }

  /** Whether `mode` could be taken on `key` right now (synchronous callers do not queue). */
  isFree(key: string, mode: LockMode): boolean {
    const h = this.#holders.get(key);
    if (!h || h.size === 0) return true;
    return mode === "shared" && [...h.values()].every((m) => m === "shared");
  }

  /** When the current holders of `key` will release it, if they are all sleeping. */
  freeAt(key: string): number | undefined {
    const h = this.#holders.get(key);
    if (!h || h.size === 0) return this.time();
    let latest = 0;
    for (const id of h.keys()) {
      const r = this.#runs.get(id);
      if (!r || r.wakeAt === undefined) return undefined;
      latest = Math.max(latest, r.wakeAt);
    }
    return latest;
  }

  /** Starts a worker now; its first steps run synchronously. Returns its run id. */
  spawn(gen: Worker, onDone: (exitstatus: string) => void): number {
    const run: Run = { id: this.#nextId++, gen, held: new Map(), onDone };
    this.#runs.set(run.id, run);
    this.#resume(run);
    return run.id;
  }

  /** True while the run has not finished. */
  isRunning(id: number): boolean {
    return this.#runs.has(id);
  }

  /** Throws `failure` into a running worker (task stop, injected kill) at the current time. */
  interrupt(id: number, failure: TaskFailure): void {
    const run = this.#runs.get(id);
    if (!run) return;
    this.#dequeue(run);
    delete run.wakeAt;
    this.#resume(run, failure);
  }

  /** The earliest pending wake-up or lock deadline, for a discrete-event driver. */
  nextEventAt(): number | undefined {
    let best: number | undefined;
    for (const r of this.#runs.values()) {
      const t = r.wakeAt ?? r.waiting?.deadline;
      if (t !== undefined && (best === undefined || t < best)) best = t;
    }
    return best;
  }

  /** Processes, in time order, every event due at or before the clock's now. */
  advance(): void {
    if (this.#advancing) return;
    this.#advancing = true;
    try {
      for (;;) {
        const now = this.#now();
        let best: Run | undefined;
        let bestT = Infinity;
        for (const r of this.#runs.values()) {
          const t = r.wakeAt ?? r.waiting?.deadline;
          if (t !== undefined && t <= now && t < bestT) {
            best = r;
            bestT = t;
          }
        }
        if (!best) break;
        this.#clock = bestT;
        if (best.wakeAt !== undefined) {
          delete best.wakeAt;
          this.#resume(best);
        } else {
          const w = best.waiting!;
          this.#dequeue(best);
          this.#resume(best, new TaskFailure(w.message));
        }
      }
    } finally {
      this.#clock = undefined;
      this.#advancing = false;
    }
  }

  #resume(run: Run, failure?: TaskFailure): void {
    let r: IteratorResult<Step, string | void>;
    try {
      r = failure ? run.gen.throw(failure) : run.gen.next();
      while (!r.done) {
        const step = r.value;
        if (step.kind === "sleep") {
          run.wakeAt = this.time() + step.ms;
          return;
        }
        if (step.kind === "unlock") {
          this.#release(run, step.key);
          this.#grant(step.key);
          r = run.gen.next();
          continue;
        }
        if (this.#tryAcquire(run, step.key, step.mode)) {
          r = run.gen.next();
          continue;
        }
        run.waiting = {
          key: step.key,
          mode: step.mode,
          deadline: this.time() + step.timeoutMs,
          message: step.message,
        };
        const q = this.#queues.get(step.key) ?? [];
        q.push(run);
        this.#queues.set(step.key, q);
        return;
      }
      this.#finish(run, r.value || "OK");
    } catch (e) {
      if (e instanceof TaskFailure) this.#finish(run, e.message.replace(/\n/g, " ").trim());
      else {
        this.#finish(run, "unexpected status");
        throw e;
      }
    }
  }

  #tryAcquire(run: Run, key: string, mode: LockMode): boolean {
    if (run.held.has(key)) return true;
    const queued = this.#queues.get(key);
    if (queued && queued.length > 0 && queued[0] !== run) return false;
    if (!this.isFree(key, mode)) return false;
    const h = this.#holders.get(key) ?? new Map<number, LockMode>();
    h.set(run.id, mode);
    this.#holders.set(key, h);
    run.held.set(key, mode);
    return true;
  }

  #dequeue(run: Run): void {
    if (!run.waiting) return;
    const q = this.#queues.get(run.waiting.key);
    if (q) {
      const i = q.indexOf(run);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) this.#queues.delete(run.waiting.key);
    }
    delete run.waiting;
  }

  #finish(run: Run, exitstatus: string): void {
    this.#runs.delete(run.id);
    this.#dequeue(run);
    const released = [...run.held.keys()];
    for (const key of released) this.#release(run, key);
    run.onDone(exitstatus);
    for (const key of released) this.#grant(key);
  }

  #release(run: Run, key: string): void {
    const h = this.#holders.get(key);
    h?.delete(run.id);
    if (h && h.size === 0) this.#holders.delete(key);
    run.held.delete(key);
  }

  #grant(key: string): void {
    for (;;) {
      const q = this.#queues.get(key);
      const head = q?.[0];
      if (!head || !head.waiting || !this.isFree(key, head.waiting.mode)) return;
      const mode = head.waiting.mode;
      this.#dequeue(head);
      const h = this.#holders.get(key) ?? new Map<number, LockMode>();
      h.set(head.id, mode);
      this.#holders.set(key, h);
      head.held.set(key, mode);
      this.#resume(head);
    }
  }
}
