/**
 * A list+watch cache of one resource that never stays down:
 * client-node's own informer stops for good on any error other than 410 or its timeout, and
 * crashes on an item without metadata. This one lists through KubeClient.requestJson in pages,
 * reads the watch as a stream of JSON lines (KubeClient.requestStream; no client-node, rest.ts
 * says why), keeps only translated values, and
 *
 * - restarts after any error with capped exponential backoff and jitter,
 * - relists on 410 Gone (ERROR event or HTTP status), reconnects at once after a clean close,
 * - runs a watchdog that forces a relist when nothing (event, bookmark, list) arrived for
 *   `watchdogMs`, so a silently dead connection cannot freeze the cache,
 * - parses every item with a translator at the boundary; malformed items are skipped with a
 *   logged reason and the informer keeps running.
 */
import { err, type Result } from "../../core/result.ts";
import { type Backoff, backoffDelay, sleep } from "./backoff.ts";
import { type KubeClient, type KubeError } from "./client.ts";
import { type Log, silentLog } from "./log.ts";
import { streamListItems } from "./list_stream.ts";
import { lines } from "./rest.ts";

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
  /** Items per list page (default 500, like client-go); servers without paging send all. */
  pageSize?: number;
  /** Server-side watch timeout range in seconds (default 300..600, like client-go). */
  watchTimeoutSeconds?: [number, number];
  log?: Log;
  random?: () => number;
  now?: () => number;
  /**
   * A kind the API server may not serve (404 on list): the informer counts as synced with an
   * empty cache and keeps trying, so a missing kind never blocks decisions.
   */
  optional?: boolean;
  /** Like `optional`, for a list the caller's RBAC may not allow (403 too). */
  forbiddenAsEmpty?: boolean;
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
          const e = listed.error;
          if (
            e.kind === "Status" &&
            ((this.#o.optional && e.code === 404) ||
              (this.#o.forbiddenAsEmpty && (e.code === 404 || e.code === 403)))
          ) {
            if (!this.#hasSynced) {
              this.#hasSynced = true;
              this.#markSynced();
            }
          }
          await fail("list", e);
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
    const query: Record<string, string> = { limit: String(this.#o.pageSize ?? 500) };
    if (this.#o.labelSelector) query.labelSelector = this.#o.labelSelector;
    if (this.#o.fieldSelector) query.fieldSelector = this.#o.fieldSelector;
    const fresh = new Map<string, T>();
    let rv: unknown;
    // Pages and a streamed body keep the peak small: one raw item is alive at a time, the cache
    // holds translated values only. An expired continue token (410) fails the list: relist.
    for (let cont: string | undefined = ""; cont !== undefined;) {
      if (cont) query.continue = cont;
      const r = await this.#o.client.requestStream(this.#o.path, {
        query,
        signal: this.#stop.signal,
      });
      if (!r.ok) return r;
      let listed;
      try {
        listed = await streamListItems(r.value.body!, (raw) => {
          const key = objectKey(raw);
          if (key === undefined) return this.#skip("no metadata.name", raw, "list");
          const t = this.#o.translate(raw);
          if (!t.ok) return this.#skip(t.error, raw, "list");
          fresh.set(key, t.value);
        });
      } catch (e) {
        listed = err(e instanceof Error ? e.message : String(e));
      }
      if (!listed.ok) return err({ kind: "Transport", message: listed.error });
      const body = listed.value;
      const items = body.items;
      if (!Array.isArray(items) && items !== null && items !== undefined) {
        return err({ kind: "Transport", message: "list response has no items array" });
      }
      const meta = metaOf(body) as Meta & { continue?: unknown } | undefined;
      rv = meta?.resourceVersion;
      cont = typeof meta?.continue === "string" && meta.continue ? meta.continue : undefined;
      this.stats.lastActivity = this.#now();
    }
    this.stats.lists++;
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

  async #watchOnce(): Promise<
    | { kind: "closed"; events: number }
    | { kind: "gone" }
    | { kind: "aborted" }
    | { kind: "error"; error: KubeError | string }
  > {
    const [lo, hi] = this.#o.watchTimeoutSeconds ?? [300, 600];
    const timeout = Math.round(lo + (hi - lo) * this.#random());
    const query: Record<string, string> = {
      watch: "true",
      resourceVersion: this.#rv,
      allowWatchBookmarks: "true",
      timeoutSeconds: String(timeout),
    };
    if (this.#o.labelSelector) query.labelSelector = this.#o.labelSelector;
    if (this.#o.fieldSelector) query.fieldSelector = this.#o.fieldSelector;
    let events = 0;
    let gone = false;
    let errorEvent: string | undefined;
    this.stats.watches++;
    // Our own handle on this watch: stop() and the watchdog abort it, which ends the read at
    // once even when the peer went silent without closing.
    const local = new AbortController();
    this.#watch = local;
    const ended = () => {
      if (this.#stopped) return { kind: "closed" as const, events };
      if (local.signal.aborted) return { kind: "aborted" as const };
      return undefined;
    };
    try {
      const r = await this.#o.client.requestStream(this.#o.path, {
        query,
        signal: local.signal,
      });
      if (!r.ok) {
        if (r.error.kind === "Status" && r.error.code === 410) return { kind: "gone" };
        return ended() ?? { kind: "error", error: r.error };
      }
      for await (const line of lines(r.value.body!, local.signal)) {
        let ev: { type?: unknown; object?: unknown };
        try {
          ev = JSON.parse(line);
        } catch {
          // Not an object at all (a proxy's garbage, a cut line): nothing to count as skipped.
          this.#log({
            level: "warn",
            msg: `ignored a watch line of ${line.length} characters that is not JSON`,
            reason: "MalformedWatchLine",
            resource: this.resource,
          });
          continue;
        }
        this.stats.lastActivity = this.#now();
        events++;
        try {
          this.#handle(String(ev?.type), ev?.object, (g) => (gone = g), (m) => (errorEvent = m));
        } catch (e) {
          this.#log({
            level: "error",
            msg: "watch event handling failed",
            resource: this.resource,
            error: String(e),
          });
        }
        if (gone) return { kind: "gone" };
        if (errorEvent !== undefined) return { kind: "error", error: errorEvent };
      }
      return ended() ?? { kind: "closed", events };
    } catch (e) {
      return ended() ?? { kind: "error", error: e instanceof Error ? e.message : String(e) };
    } finally {
      if (this.#watch === local) this.#watch = undefined;
      local.abort();
    }
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
