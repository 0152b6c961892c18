/**
 * Fault injection for the fake PVE, settable at start and at runtime,
 * deterministic for a seed: HTTP errors and latency per endpoint, slow clones and tasks, task
 * failures and kills, held VM file locks, stale lock properties, full storage, offline hosts,
 * lost quorum, auth delay, statistics lag and the older-PVE version switches.
 */
import type { PveModel } from "./model.ts";
import { SeededRng } from "./rng.ts";

/**
 * Which requests a rule applies to. `endpoint` is a route template such as
 * `POST /nodes/{node}/qemu/{vmid}/clone` (or `*`, the default, for all).
 */
export type EndpointMatch = { endpoint?: string; node?: string; vmid?: number };

/** Triggering: with probability `rate` (default 1), at most `times` times (default unlimited). */
export type Trigger = { rate?: number; times?: number };

/**
 * What goes wrong on the wire: an HTTP error (default), a connection reset, no answer at all,
 * a 200 whose body is HTML, truncated JSON, JSON without `data`, or `data` of the wrong type.
 */
export type WireFaultKind =
  | "http"
  | "reset"
  | "hang"
  | "nonJson"
  | "truncated"
  | "missingData"
  | "wrongType";

/**
 * An HTTP or transport failure answered instead of the call, or with `after` once the call
 * has been performed, so clients learn not to retry writes blindly.
 */
export type ErrorFault = EndpointMatch & Trigger & {
  kind?: WireFaultKind;
  status?: number;
  message?: string;
  after?: boolean;
};

/** Extra latency before the answer. */
export type LatencyFault = EndpointMatch & { ms: number; jitterMs?: number };

/** A task that ends with `message`, or dies leaving its lock behind with `killed`. */
export type TaskFault = Trigger & {
  type?: string;
  vmid?: number;
  node?: string;
  message?: string;
  killed?: boolean;
};

/** Everything that can be injected; all optional. */
export type FaultConfig = {
  errors?: ErrorFault[];
  latency?: LatencyFault[];
  /** Full-clone copy rate in bytes/s (optionally for one target storage) */
  slowClone?: { bytesPerSecond: number; storage?: string };
  /** Task durations in ms by task type (qmclone, qmcreate, qmstart, …) */
  taskDurations?: Record<string, number>;
  taskFailures?: TaskFault[];
  /** Hold these VMs' file locks for `ms`: writes, tasks and clones time out (applied when set) */
  lockHolds?: Array<{ vmid: number; ms: number }>;
  /** Stale `lock` properties, answered `VM is locked (<value>)` (applied when set) */
  staleLocks?: Array<{ vmid: number; lock: string }>;
  /** Full storage: leave only `availBytes` (default 0) free on a storage */
  fullStorage?: Array<{ storage: string; availBytes?: number; node?: string }>;
  /** Offline hosts: listed as offline, and every call routed to one answers 595 */
  offlineNodes?: string[];
  /** Lost quorum: reads work, every write fails with `cluster not ready - no quorum?` */
  noQuorum?: boolean;
  /** Delay before every 401, ms (PVE: ~3000) */
  authDelayMs?: number;
  /** How far /cluster/resources statistics lag behind, in ms */
  statsLagMs?: number;
  /**
   * Older PVE behaviour, switched: `message` in error bodies (default on), memory as string (on),
   * body limit.
   */
  errorMessageField?: boolean;
  memoryAsString?: boolean;
  maxBodyBytes?: number;
  /** how long a synchronous config call waits for a busy VM file lock, ms (PVE: 10000) */
  lockWaitMs?: number;
};

/** What the server must do for one request. */
export type HttpFault = {
  latencyMs: number;
  error?: { kind: WireFaultKind; status: number; message: string; after: boolean };
};

function matches(m: EndpointMatch, endpoint: string, node?: string, vmid?: number): boolean {
  return (m.endpoint === undefined || m.endpoint === "*" || m.endpoint === endpoint) &&
    (m.node === undefined || m.node === node) && (m.vmid === undefined || m.vmid === vmid);
}

/** Applies a FaultConfig to a model and answers the server's per-request questions. */
export class FaultController {
  #config: FaultConfig = {};
  readonly #model: PveModel;
  readonly #rng: SeededRng;
  readonly #fired = new Map<object, number>();
  readonly #baseLag: number;
  readonly #totals = new Map<string, number>();

  constructor(model: PveModel, seed: number, config: FaultConfig = {}) {
    this.#model = model;
    this.#rng = new SeededRng(seed ^ 0x5eed);
    this.#baseLag = model.st.statsLagMs;
    model.setHooks({
      taskFailure: (t) => {
        for (const f of this.#config.taskFailures ?? []) {
          if (f.type !== undefined && f.type !== t.type) continue;
          if (f.vmid !== undefined && f.vmid !== t.vmid) continue;
          if (f.node !== undefined && f.node !== t.node) continue;
          if (!this.#trigger(f)) continue;
          return f.killed
            ? { message: "unexpected status", killed: true }
            : { message: f.message ?? "injected task failure" };
        }
        return undefined;
      },
      taskDurationMs: (t) => this.#config.taskDurations?.[t.type],
      cloneBytesPerSecond: (storage) => {
        const s = this.#config.slowClone;
        return s && (s.storage === undefined || s.storage === storage)
          ? s.bytesPerSecond
          : undefined;
      },
    });
    this.set(config);
  }

  /** The current configuration. */
  get config(): FaultConfig {
    return this.#config;
  }

  /** Replaces the whole configuration; one-shot state faults (locks, storage) apply now. */
  set(config: FaultConfig): void {
    this.#config = { ...config };
    this.#fired.clear();
    this.#applyState(config);
  }

  /** Merges fields into the configuration (arrays are replaced), applying state faults given. */
  update(patch: FaultConfig): void {
    this.#config = { ...this.#config, ...patch };
    this.#applyState(patch);
  }

  /**
   * Removes every fault: hosts online, quorum back, storage sizes, lag and version switches as
   * at start. Held locks run out on their own; stale lock properties stay (clear them on the model).
   */
  clear(): void {
    for (const h of this.#model.st.hosts.values()) h.online = true;
    this.#model.setQuorate(true);
    for (const [id, total] of this.#totals) {
      const s = this.#model.st.storages.get(id);
      if (s) s.total = total;
    }
    this.#totals.clear();
    this.set({ statsLagMs: this.#baseLag, memoryAsString: true });
    this.#config = {};
  }

  #applyState(c: FaultConfig): void {
    const m = this.#model;
    if (c.offlineNodes) {
      for (const h of m.st.hosts.values()) h.online = !c.offlineNodes.includes(h.name);
    }
    if (c.noQuorum !== undefined) m.setQuorate(!c.noQuorum);
    for (const l of c.lockHolds ?? []) m.holdVmLock(l.vmid, l.ms);
    for (const l of c.staleLocks ?? []) m.setLockProperty(l.vmid, l.lock);
    for (const s of c.fullStorage ?? []) {
      const def = m.st.storages.get(s.storage);
      if (def && !this.#totals.has(s.storage)) this.#totals.set(s.storage, def.total);
      m.setStorageAvail(s.storage, s.availBytes ?? 0, s.node);
    }
    if ("statsLagMs" in c) m.st.statsLagMs = c.statsLagMs ?? this.#baseLag;
    if ("memoryAsString" in c) m.st.memoryAsString = c.memoryAsString ?? true;
  }

  #trigger(t: Trigger): boolean {
    const fired = this.#fired.get(t) ?? 0;
    if (t.times !== undefined && fired >= t.times) return false;
    if (t.rate !== undefined && t.rate < 1 && this.#rng.next() >= t.rate) return false;
    this.#fired.set(t, fired + 1);
    return true;
  }

  /** Latency and error to apply to one request (consumes triggers and RNG draws). */
  forRequest(endpoint: string, node?: string, vmid?: number): HttpFault {
    let latencyMs = 0;
    for (const l of this.#config.latency ?? []) {
      if (matches(l, endpoint, node, vmid)) {
        latencyMs += l.ms + (l.jitterMs ? this.#rng.int(l.jitterMs + 1) : 0);
      }
    }
    for (const e of this.#config.errors ?? []) {
      if (!matches(e, endpoint, node, vmid) || !this.#trigger(e)) continue;
      const status = e.status ?? 500;
      const message = e.message ??
        (status === 503
          ? "Service Unavailable"
          : status === 502
          ? "Bad Gateway"
          : "injected server error");
      return {
        latencyMs,
        error: { kind: e.kind ?? "http", status, message, after: e.after ?? false },
      };
    }
    return { latencyMs };
  }

  /** Delay before every 401 (ms). */
  get authDelayMs(): number {
    return this.#config.authDelayMs ?? 0;
  }

  /** Whether error bodies carry `message` (PVE ≥ 8.3). */
  get errorMessageField(): boolean {
    return this.#config.errorMessageField ?? true;
  }

  /** Request body limit in bytes (512 KiB; 64 KiB before pve-http-server 5.2.1). */
  get maxBodyBytes(): number {
    return this.#config.maxBodyBytes ?? 512 * 1024;
  }

  /** Wait for a busy VM file lock in synchronous config calls (ms). */
  get lockWaitMs(): number {
    return this.#config.lockWaitMs ?? 10_000;
  }
}
