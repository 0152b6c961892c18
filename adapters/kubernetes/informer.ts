/**
 * A list+watch cache of one resource that never stays down (kubernetes-api.md §4.8, trap 28):
 * client-node's own informer stops for good on any error other than 410 or its timeout, and
 * crashes on an item without metadata. This one lists through KubeClient.requestJson, watches
 * with client-node's Watch, and
 *
 * - restarts after any error with capped exponential backoff and jitter,
 * - relists on 410 Gone (ERROR event or HTTP status), reconnects at once after a clean close,
 * - runs a watchdog that forces a relist when nothing (event, bookmark, list) arrived for
 *   `watchdogMs`, so a silently dead connection cannot freeze the cache,
 * - parses every item with a translator at the boundary; malformed items are skipped with a
 *   logged reason and the informer keeps running.
 */
import type { Result } from "../../core/result.ts";
import { type Backoff, backoffDelay, sleep } from "./backoff.ts";
import { type KubeClient, type KubeError } from "./client.ts";
import { type Log, silentLog } from "./log.ts";

/** What changed in the cache. */
export type InformerEvent<T> =
  | { type: "add" | "update"; key: string; value: T }
  | { type: "delete"; key: string; value: T };

export type InformerOptions<T> = {
  client: KubeClient;
  /** Collection path, e.g. /api/v1/pods or /apis/proxscale.io/v1alpha1/nodeclaims. */
  path: string;
  /** Resource name for logs ("pods"). */
  resource: string;
  /** Kubernetes JSON -> core type, or a reason it is malformed. */
  translate: (obj: unknown) => Result<T, string>;
  labelSelector?: string;
  fieldSelector?: string;
  backoff?: Backoff;
  /** Relist when nothing arrived for this long (default 5 min). */
  watchdogMs?: number;
  /** Server-side watch timeout range in seconds (default 300..600, like client-go). */
  watchTimeoutSeconds?: [number, number];
  log?: Log;
  random?: () => number;
  now?: () => number;
};

/** Counters for health endpoints and tests. */
export type InformerStats = {
  lists: number;
  watches: number;
  errors: number;
  relists410: number;
  watchdogRestarts: number;
  skipped: number;
  lastActivity: number;
};

const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };

type Meta = { name?: unknown; namespace?: unknown; resourceVersion?: unknown };

function metaOf(obj: unknown): Meta | undefined {
  if (typeof obj !== "object" || obj === null) return undefined;
  const m = (obj as { metadata?: unknown }).metadata;
  return typeof m === "object" && m !== null ? m as Meta : undefined;
}

/** `namespace/name` (or `name` for cluster-scoped objects); undefined when not identifiable. */
export function objectKey(obj: unknown): string | undefined {
  const m = metaOf(obj);
  if (!m || typeof m.name !== "string" || m.name === "") return undefined;
  return typeof m.namespace === "string" && m.namespace ? `${m.namespace}/${m.name}` : m.name;
}

/** A self-healing list+watch cache of one resource. */
export class Informer<T> {
  readonly resource: string;
  readonly stats: InformerStats;
  #o: InformerOptions<T>;
  #cache = new Map<string, T>();
  #listeners: ((e: InformerEvent<T>) => void)[] = [];
  #rv = "";
  #stopped = true;
  #stop = new AbortController();
  #watch: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #synced: Promise<void>;
  #markSynced!: () => void;
  #hasSynced = false;
  #random: () => number;
  #now: () => number;
  #log: Log;

  constructor(o: InformerOptions<T>) {
    this.#o = o;
    this.resource = o.resource;
    this.#random = o.random ?? Math.random;
    this.#now = o.now ?? Date.now;
    this.#log = o.log ?? silentLog;
    this.stats = {
      lists: 0,
      watches: 0,
      errors: 0,
      relists410: 0,
      watchdogRestarts: 0,
      skipped: 0,
      lastActivity: 0,
    };
    this.#synced = new Promise((r) => (this.#markSynced = r));
  }

  /** Starts listing and watching; returns at once. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#stop = new AbortController();
    this.stats.lastActivity = this.#now();
    const wd = this.#o.watchdogMs ?? 300_000;
    this.#watchdog = setInterval(() => this.#checkWatchdog(wd), Math.max(10, wd / 4));
    this.#loop = this.#run();
  }

  /** Stops for good and waits until no request or timer is left. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#watchdog);
    this.#stop.abort();
    this.#watch?.abort();
    await this.#loop;
  }

  /** Resolves after the first successful list. */
  synced(): Promise<void> {
    return this.#synced;
  }
  get hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** Current cached values (a copy of the list, the values themselves are shared). */
  list(): T[] {
    return [...this.#cache.values()];
  }
  get(key: string): T | undefined {
    return this.#cache.get(key);
  }
  keys(): string[] {
    return [...this.#cache.keys()];
  }

  /** Subscribes to cache changes; returns the unsubscribe function. */
  on(listener: (e: InformerEvent<T>) => void): () => void {
    this.#listeners.push(listener);
    return () => (this.#listeners = this.#listeners.filter((l) => l !== listener));
  }

  #emit(e: InformerEvent<T>) {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.#log({
          level: "error",
          msg: "informer listener failed",
          resource: this.resource,
          error: String(err),
        });
      }
    }
  }

  #checkWatchdog(limitMs: number) {
    if (this.#stopped || this.#now() - this.stats.lastActivity < limitMs) return;
    this.stats.watchdogRestarts++;
    this.#log({
      level: "warn",
      msg: `no watch event or list for ${limitMs} ms; restarting with a relist`,
      reason: "WatchSilent",
      resource: this.resource,
    });
    this.stats.lastActivity = this.#now();
    this.#rv = "";
    this.#watch?.abort();
  }

  #skip(why: string, obj: unknown, from: "list" | "watch") {
    this.stats.skipped++;
    this.#log({
      level: "warn",
      msg: `skipped a malformed ${this.resource} object from the ${from}: ${why}`,
      reason: "MalformedObject",
      resource: this.resource,
      object: objectKey(obj) ?? "<unidentifiable>",
    });
  }

  async #run(): Promise<void> {
    let failures = 0;
    const backoff = this.#o.backoff ?? DEFAULT_BACKOFF;
    const fail = async (what: string, e: KubeError | string) => {
      this.stats.errors++;
      const delay = backoffDelay(failures++, backoff, this.#random());
      this.#log({
        level: "warn",
        msg: `${what} failed; retrying in ${delay} ms`,
        reason: "KubernetesError",
        resource: this.resource,
        error: typeof e === "string"
          ? e
          : e.kind === "Status"
          ? `${e.code} ${e.message}`
          : e.message,
      });
      await sleep(delay, this.#stop.signal);
    };
    while (!this.#stopped) {
      if (this.#rv === "") {
        const listed = await this.#list();
        if (this.#stopped) return;
        if (!listed.ok) {
          await fail("list", listed.error);
          continue;
        }
        failures = 0;
      }
      const started = this.#now();
      const outcome = await this.#watchOnce();
      if (this.#stopped) return;
      if (outcome.kind === "gone") {
        this.stats.relists410++;
        this.#log({
          level: "info",
          msg: "watch resourceVersion expired (410); relisting",
          resource: this.resource,
        });
        this.#rv = "";
        continue;
      }
      if (outcome.kind === "closed") {
        // A clean end is normal (server timeout); back off only if the server ends watches
        // immediately and without events, so a broken server cannot make us spin.
        if (outcome.events > 0 || this.#now() - started > 1000) failures = 0;
        else await sleep(backoffDelay(failures++, backoff, this.#random()), this.#stop.signal);
        continue;
      }
      if (outcome.kind === "aborted") continue; // watchdog; it already cleared the version
      await fail("watch", outcome.error);
    }
  }

  async #list(): Promise<Result<void, KubeError>> {
    const query: Record<string, string> = {};
    if (this.#o.labelSelector) query.labelSelector = this.#o.labelSelector;
    if (this.#o.fieldSelector) query.fieldSelector = this.#o.fieldSelector;
    const r = await this.#o.client.requestJson("GET", this.#o.path, {
      query,
      signal: this.#stop.signal,
    });
    if (!r.ok) return r;
    const body = r.value.body;
    const items = (body as { items?: unknown })?.items;
    const rv = metaOf(body)?.resourceVersion;
    if (!Array.isArray(items) && items !== null && items !== undefined) {
      return {
        ok: false,
        error: { kind: "Transport", message: "list response has no items array" },
      };
    }
    this.stats.lists++;
    this.stats.lastActivity = this.#now();
    const fresh = new Map<string, T>();
    for (const raw of items ?? []) {
      const key = objectKey(raw);
      if (key === undefined) {
        this.#skip("no metadata.name", raw, "list");
        continue;
      }
      const t = this.#o.translate(raw);
      if (!t.ok) {
        this.#skip(t.error, raw, "list");
        continue;
      }
      fresh.set(key, t.value);
    }
    for (const [key, old] of this.#cache) {
      if (!fresh.has(key)) {
        this.#cache.delete(key);
        this.#emit({ type: "delete", key, value: old });
      }
    }
    for (const [key, value] of fresh) {
      const had = this.#cache.has(key);
      this.#cache.set(key, value);
      this.#emit({ type: had ? "update" : "add", key, value });
    }
    this.#rv = typeof rv === "string" ? rv : "";
    if (!this.#hasSynced) {
      this.#hasSynced = true;
      this.#markSynced();
    }
    return { ok: true, value: undefined };
  }

  #watchOnce(): Promise<
    | { kind: "closed"; events: number }
    | { kind: "gone" }
    | { kind: "aborted" }
    | { kind: "error"; error: KubeError | string }
  > {
    const [lo, hi] = this.#o.watchTimeoutSeconds ?? [300, 600];
    const query: Record<string, string> = {
      resourceVersion: this.#rv,
      allowWatchBookmarks: "true",
      timeoutSeconds: String(Math.round(lo + (hi - lo) * this.#random())),
    };
    if (this.#o.labelSelector) query.labelSelector = this.#o.labelSelector;
    if (this.#o.fieldSelector) query.fieldSelector = this.#o.fieldSelector;
    let events = 0;
    let gone = false;
    let errorEvent: string | undefined;
    this.stats.watches++;
    return new Promise((resolve) => {
      let finished = false;
      // Our own handle on this watch: stop() and the watchdog abort it, and we resolve at once
      // instead of waiting for client-node's done callback, which a reset stream may never fire.
      const local = new AbortController();
      this.#watch = local;
      let remote: AbortController | undefined;
      const finish = (e: unknown) => {
        if (finished) return;
        finished = true;
        remote?.abort();
        if (this.#watch === local) this.#watch = undefined;
        const status = (e as { statusCode?: number } | null)?.statusCode;
        if (gone || status === 410) return resolve({ kind: "gone" });
        if (this.#stopped) return resolve({ kind: "closed", events });
        if (local.signal.aborted) return resolve({ kind: "aborted" });
        if (errorEvent !== undefined) return resolve({ kind: "error", error: errorEvent });
        if (e === null || e === undefined) return resolve({ kind: "closed", events });
        if ((e as Error).name === "TimeoutError") return resolve({ kind: "closed", events: 1 });
        const msg = status ? `HTTP ${status}` : e instanceof Error ? e.message : String(e);
        resolve({ kind: "error", error: msg });
      };
      local.signal.addEventListener("abort", () => finish(undefined), { once: true });
      const onEvent = (type: string, obj: unknown) => {
        if (finished) return;
        try {
          this.stats.lastActivity = this.#now();
          events++;
          this.#handle(type, obj, (g) => (gone = g), (m) => (errorEvent = m));
          if (errorEvent !== undefined || gone) finish(undefined);
        } catch (e) {
          this.#log({
            level: "error",
            msg: "watch event handling failed",
            resource: this.resource,
            error: String(e),
          });
        }
      };
      this.#o.client.watch().watch(this.#o.path, query, onEvent, finish).then(
        (c) => {
          remote = c;
          if (finished) c.abort();
        },
        (e) => finish(e),
      );
    });
  }

  #handle(
    type: string,
    obj: unknown,
    setGone: (g: boolean) => void,
    setError: (m: string) => void,
  ) {
    if (type === "ERROR") {
      const s = obj as { code?: number; message?: string } | null;
      if (s?.code === 410) setGone(true);
      else setError(`watch ERROR event: ${s?.message ?? JSON.stringify(obj)}`);
      return;
    }
    const rv = metaOf(obj)?.resourceVersion;
    if (type === "BOOKMARK") {
      if (typeof rv === "string") this.#rv = rv;
      return;
    }
    if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") {
      this.#skip(`unknown watch event type ${JSON.stringify(type)}`, obj, "watch");
      return;
    }
    const key = objectKey(obj);
    if (key === undefined) {
      this.#skip("no metadata.name", obj, "watch");
      return;
    }
    if (typeof rv === "string" && rv) this.#rv = rv;
    if (type === "DELETED") {
      const old = this.#cache.get(key);
      if (old !== undefined) {
        this.#cache.delete(key);
        this.#emit({ type: "delete", key, value: old });
      }
      return;
    }
    const t = this.#o.translate(obj);
    if (!t.ok) {
      this.#skip(t.error, obj, "watch");
      return;
    }
    const had = this.#cache.has(key);
    this.#cache.set(key, t.value);
    this.#emit({ type: had ? "update" : "add", key, value: t.value });
  }
}
