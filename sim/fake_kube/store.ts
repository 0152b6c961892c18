/**
 * KubeStore: the fake API server's state, usable in-process (tests and the demo seed
 * thousands of objects through it) and served over HTTP by server.ts. One global
 * resourceVersion counter, per-resource bounded watch history (410 when a watch starts
 * before it), optimistic concurrency, generation, finalizers and graceful pod deletion,
 * all as in kubernetes-api.md §3-§4. Failures are `Status` values, never exceptions.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { admit, type FieldValidation, invalidFor, nameErrors } from "./admission.ts";
import { fieldValue, formatTime, isDeleting, type KObj, nameSuffix, uuid } from "./objects.ts";
import { canonicalJson, type Json } from "./patch.ts";
import { patchObject, type PatchOptions, type PatchType } from "./patch_request.ts";
import { evict, type Eviction, installPdbController } from "./pdb.ts";
import { cleanExpiredTokens, type ControllerOptions, installControllers } from "./controllers.ts";
import { apiVersionOf, builtinResources, type ResourceDef, resourceKey } from "./resources.ts";
import type { CelEvaluator } from "./schema.ts";
import {
  type FieldRequirement,
  type LabelRequirement,
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
} from "./selectors.ts";
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  failure,
  notFound,
  preconditionConflict,
  type Status,
  success,
} from "./status.ts";

/** Result of every store operation: the value or the Status the API server would send. */
export type StoreResult<T> = Result<T, Status>;

/** Options shared by create, update and patch. */
export type WriteOptions = {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  subresource?: "status";
};

/** A successful write: the stored object, whether it was created, and `Warning` texts. */
export type WriteResult = { object: KObj; created: boolean; warnings: string[] };

export type ListOptions = { namespace?: string; labelSelector?: string; fieldSelector?: string };

export type WatchOptions = ListOptions & { resourceVersion?: string };

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
/** One watch event; `object` is a stored object (or a Status for ERROR). */
export type WatchEvent = { type: WatchEventType; object: KObj | Status };

export type DeleteOptions = {
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
  dryRun?: boolean;
};

/** Delete answers with the object (Pods, or objects that only got marked) or a Status. */
export type DeleteResult = { object?: KObj; status?: Status };

/** Store construction options; times are epoch milliseconds. */
export type StoreOptions = {
  now: () => number;
  random: () => number;
  /** Events kept per resource before older ones are dropped (410 for watches before them). */
  historyLimit?: number;
  /** First resourceVersion; defaults to a time-derived value so restarts never go backwards. */
  initialResourceVersion?: number;
  cel?: CelEvaluator;
  /** Graceful pod deletion: finish after grace × scale (default 1), or "hold" for ever. */
  gracefulDeletion?: { scale: number } | "hold";
} & ControllerOptions;

type HistoryEvent = { type: "ADDED" | "MODIFIED" | "DELETED"; rv: number; obj: KObj; prev?: KObj };

type Watcher = {
  namespace: string | undefined;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  fromRv: number;
  send: (e: WatchEvent) => void;
};

/** One stored object with its cached wire forms (list item / full object). */
export type Entry = { obj: KObj; itemJson?: string };

type Collection = {
  byNs: Map<string, Map<string, Entry>>;
  history: HistoryEvent[];
  /** Highest resourceVersion whose event was dropped: watches from below it get 410. */
  droppedUpTo: number;
  watchers: Set<Watcher>;
};

/** Observers run after each committed write (controllers: PDB status, CRDs, namespaces). */
export type WriteHook = (
  def: ResourceDef,
  type: HistoryEvent["type"],
  obj: KObj,
  prev?: KObj,
) => void;

const ZERO_GRACE_PHASES = new Set(["Succeeded", "Failed"]);

/** The stateful object store behind the fake API server. */
export class KubeStore {
  readonly now: () => number;
  readonly random: () => number;
  static #highWater = 0;
  #rv: number;
  #startRv: number;
  #historyLimit: number;
  #cel: CelEvaluator | undefined;
  #graceful: { scale: number } | "hold";
  #defs = new Map<string, ResourceDef[]>();
  #defsRevision = 0;
  #cleaning = false;
  #collections = new Map<string, Collection>();
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #hooks: WriteHook[] = [];
  #pdb: { sync: () => void; paused: { value: boolean } };
  #stopControllers: () => void;

  constructor(opts: StoreOptions) {
    this.now = opts.now;
    this.random = opts.random;
    // Microseconds since the epoch: a restarted fake starts above anything it handed out
    // (and above any earlier store of this process, which may have started this millisecond).
    this.#rv = opts.initialResourceVersion ??
      Math.max(Date.now() * 1000, KubeStore.#highWater + 1000);
    KubeStore.#highWater = Math.max(KubeStore.#highWater, this.#rv);
    this.#startRv = this.#rv;
    this.#historyLimit = opts.historyLimit ?? 10_000;
    this.#cel = opts.cel;
    this.#graceful = opts.gracefulDeletion ?? { scale: 1 };
    for (const d of builtinResources()) this.addResource(d);
    this.#pdb = installPdbController(this);
    this.#stopControllers = installControllers(this, opts);
    for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      this.create("namespaces", { metadata: { name: ns } });
    }
  }

  /** Runs pending controller work now (PDB status is otherwise recomputed in a microtask). */
  sync(): void {
    this.#pdb.sync();
  }

  /**
   * Pauses the PDB controller: status stops following pods and spec changes, which makes
   * evictions 429 "still being processed" after a PDB edit (a realistic fault, §8.3).
   */
  pausePdbController(paused: boolean): void {
    this.#pdb.paused.value = paused;
    if (!paused) this.#pdb.sync();
  }

  /** Applies a patch (`json`, `merge`, `strategic` or server-side `apply`) to one object. */
  patch(
    ref: string | ResourceDef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    body: Json,
    opts: PatchOptions = {},
  ): StoreResult<WriteResult> {
    const d = this.#def(ref);
    if (!d.ok) return d;
    return patchObject(this, d.value, namespace, name, type, body, opts);
  }

  /**
   * `POST pods/<name>/binding` (what kube-scheduler does): sets `spec.nodeName` and the
   * `PodScheduled=True` condition in one write; 409 if the pod is already bound.
   */
  bind(
    namespace: string,
    name: string,
    body: { metadata?: { name?: string }; target?: { kind?: string; name?: string } },
    opts: { dryRun?: boolean } = {},
  ): StoreResult<Status> {
    const def = this.resolve("pods")!;
    const pod = this.#entry(def, namespace, name)?.obj;
    if (!pod) return err(notFound(def, name));
    if (body?.metadata?.name !== undefined && body.metadata.name !== name) {
      return err(
        badRequest(
          `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
        ),
      );
    }
    const node = body?.target?.name;
    if (!node) {
      return err(
        invalidFor({ ...def, kind: "Binding" }, name, [{
          reason: "FieldValueRequired",
          field: "target.name",
          message: "Required value",
        }]),
      );
    }
    if (pod.spec?.nodeName) {
      return err(failure(
        409,
        "Conflict",
        `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${pod.spec.nodeName}"`,
        { name, kind: "pods/binding" },
      ));
    }
    if (isDeleting(pod)) {
      return err(
        failure(
          409,
          "Conflict",
          `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is being deleted, cannot be assigned to a host`,
          { name, kind: "pods/binding" },
        ),
      );
    }
    if (!opts.dryRun) {
      const conds: Json[] = (pod.status?.conditions ?? []).filter((c: Json) =>
        c?.type !== "PodScheduled"
      );
      conds.push({
        type: "PodScheduled",
        status: "True",
        lastProbeTime: null,
        lastTransitionTime: formatTime(this.now()),
      });
      const next: KObj = {
        ...pod,
        spec: { ...pod.spec, nodeName: node },
        status: { ...pod.status, conditions: conds },
      };
      this.#commit(def, "MODIFIED", next, pod);
    }
    return ok({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 });
  }

  /** `POST pods/<name>/eviction`: 201 Status, or 429/404/409/500 as §8.2 says. */
  evict(
    namespace: string,
    name: string,
    body: Eviction = {},
    opts: { dryRun?: boolean } = {},
  ): StoreResult<Status> {
    return evict(this, namespace, name, body, { ...opts, sync: () => this.#pdb.sync() });
  }

  /** Current global resourceVersion (what a list returns). */
  resourceVersion(): string {
    return String(this.#rv);
  }

  /** Registers a served resource (CRD controllers call this). */
  addResource(def: ResourceDef): void {
    const key = resourceKey(def);
    const list = (this.#defs.get(key) ?? []).filter((d) => d.version !== def.version);
    list.push(def);
    this.#defs.set(key, list);
    this.#defsRevision++;
    if (!this.#collections.has(key)) {
      this.#collections.set(key, {
        byNs: new Map(),
        history: [],
        droppedUpTo: this.#startRv,
        watchers: new Set(),
      });
    }
  }

  /** Stops serving a resource: its objects and watchers go away (CRD deletion). */
  removeResource(key: string): void {
    const c = this.#collections.get(key);
    if (c) {
      for (const w of c.watchers) {
        w.send({ type: "ERROR", object: failure(410, "Gone", "resource removed") });
      }
    }
    this.#defs.delete(key);
    this.#collections.delete(key);
    this.#defsRevision++;
  }

  /** Changes whenever the set of served resources (or a CRD's schema) changes. */
  resourcesRevision(): number {
    return this.#defsRevision;
  }

  /** Every served resource definition (all versions). */
  resources(): ResourceDef[] {
    return [...this.#defs.values()].flat();
  }

  /**
   * Finds a resource by `plural` (core), `plural.group`, or `group/version/plural`.
   * Without a version, the first registered version is used.
   */
  resolve(ref: string | ResourceDef): ResourceDef | undefined {
    if (typeof ref !== "string") return ref;
    const parts = ref.split("/");
    if (parts.length >= 2) {
      const plural = parts[parts.length - 1]!;
      const version = parts[parts.length - 2]!;
      const group = parts.length === 3 ? parts[0]! : "";
      return this.#defs.get(group ? `${plural}.${group}` : plural)?.find((d) =>
        d.version === version
      );
    }
    return this.#defs.get(ref)?.[0];
  }

  /** Subscribes to every committed write. */
  onWrite(hook: WriteHook): void {
    this.#hooks.push(hook);
  }

  #def(ref: string | ResourceDef): StoreResult<ResourceDef> {
    const d = this.resolve(ref);
    if (d?.kind === "Secret" && !this.#cleaning) {
      this.#cleaning = true;
      try {
        cleanExpiredTokens(this);
      } finally {
        this.#cleaning = false;
      }
    }
    return d
      ? ok(d)
      : err(failure(404, "NotFound", "the server could not find the requested resource", {}));
  }

  #coll(def: ResourceDef): Collection {
    return this.#collections.get(resourceKey(def))!;
  }

  #entry(def: ResourceDef, ns: string | undefined, name: string): Entry | undefined {
    return this.#coll(def).byNs.get(def.namespaced ? ns ?? "" : "")?.get(name);
  }

  /** Direct read of the stored object (no copy): for controllers and serializers only. */
  peek(ref: string | ResourceDef, ns: string | undefined, name: string): KObj | undefined {
    const d = this.resolve(ref);
    return d ? this.#entry(d, ns, name)?.obj : undefined;
  }

  /** Every stored entry of a resource, optionally in one namespace (no copies). */
  *entries(def: ResourceDef, namespace?: string): Iterable<Entry> {
    const c = this.#coll(def);
    if (!c) return;
    if (namespace !== undefined && def.namespaced) {
      const m = c.byNs.get(namespace);
      if (m) yield* m.values();
      return;
    }
    for (const m of c.byNs.values()) yield* m.values();
  }

  #withVersion(def: ResourceDef, o: KObj): KObj {
    const apiVersion = apiVersionOf(def);
    return o.apiVersion === apiVersion ? o : { ...o, apiVersion };
  }

  /** Commits a write: bumps the counter, stores, records history, notifies watchers and hooks. */
  #commit(def: ResourceDef, type: HistoryEvent["type"], obj: KObj, prev?: KObj): KObj {
    const c = this.#coll(def);
    const rv = ++this.#rv;
    if (rv > KubeStore.#highWater) KubeStore.#highWater = rv;
    const stored: KObj = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    const ns = def.namespaced ? stored.metadata.namespace ?? "" : "";
    const name = stored.metadata.name!;
    if (type === "DELETED") {
      const m = c.byNs.get(ns);
      m?.delete(name);
      if (m && m.size === 0) c.byNs.delete(ns);
    } else {
      let m = c.byNs.get(ns);
      if (!m) c.byNs.set(ns, m = new Map());
      m.set(name, { obj: stored });
    }
    const ev: HistoryEvent = prev ? { type, rv, obj: stored, prev } : { type, rv, obj: stored };
    c.history.push(ev);
    if (
      c.history.length > this.#historyLimit * 2 || (this.#historyLimit === 0 && c.history.length)
    ) {
      const drop = c.history.length - this.#historyLimit;
      c.droppedUpTo = c.history[drop - 1]!.rv;
      c.history.splice(0, drop);
    }
    for (const w of c.watchers) this.#deliver(def, w, ev);
    for (const h of this.#hooks) h(def, type, stored, prev);
    return stored;
  }

  /** Drops a resource's watch history (or all of them), so older watches get 410. */
  compactHistory(ref?: string): void {
    const keys = ref ? [resourceKey(this.resolve(ref)!)] : [...this.#collections.keys()];
    for (const k of keys) {
      const c = this.#collections.get(k)!;
      c.droppedUpTo = Math.max(c.droppedUpTo, this.#rv);
      c.history = [];
    }
  }

  #matches(def: ResourceDef, w: Watcher, o: KObj): boolean {
    if (w.namespace !== undefined && def.namespaced && o.metadata.namespace !== w.namespace) {
      return false;
    }
    return matchLabels(w.labels, o.metadata.labels) &&
      matchFields(w.fields, (f) => fieldValue(def, o, f));
  }

  #deliver(def: ResourceDef, w: Watcher, ev: HistoryEvent): void {
    if (ev.rv <= w.fromRv) return;
    const now = this.#matches(def, w, ev.obj);
    if (ev.type === "ADDED") {
      if (now) w.send({ type: "ADDED", object: ev.obj });
    } else if (ev.type === "DELETED") {
      if (now) w.send({ type: "DELETED", object: ev.obj });
    } else {
      const before = ev.prev ? this.#matches(def, w, ev.prev) : false;
      if (before && now) w.send({ type: "MODIFIED", object: ev.obj });
      else if (now) w.send({ type: "ADDED", object: ev.obj });
      else if (before) {
        const gone = {
          ...ev.prev!,
          metadata: { ...ev.prev!.metadata, resourceVersion: String(ev.rv) },
        };
        w.send({ type: "DELETED", object: gone });
      }
    }
  }

  #selectors(
    def: ResourceDef,
    opts: ListOptions,
  ): StoreResult<{ labels: LabelRequirement[]; fields: FieldRequirement[] }> {
    const labels = parseLabelSelector(opts.labelSelector ?? "");
    if (!labels.ok) return err(badRequest(labels.error));
    const fields = parseFieldSelector(opts.fieldSelector ?? "");
    if (!fields.ok) return err(badRequest(fields.error));
    for (const f of fields.value) {
      const allowed = f.field === "metadata.name" ||
        (def.namespaced && f.field === "metadata.namespace") ||
        def.fieldLabels.includes(f.field);
      if (!allowed) return err(badRequest(`field label not supported: ${f.field}`));
    }
    return ok({ labels: labels.value, fields: fields.value });
  }

  /** Matching entries without copying; server.ts serializes these directly. */
  listEntries(
    ref: string | ResourceDef,
    opts: ListOptions = {},
  ): StoreResult<{ def: ResourceDef; entries: Entry[]; resourceVersion: string }> {
    const d = this.#def(ref);
    if (!d.ok) return d;
    const def = d.value;
    const sel = this.#selectors(def, opts);
    if (!sel.ok) return sel;
    const { labels, fields } = sel.value;
    const out: Entry[] = [];
    for (const e of this.entries(def, opts.namespace)) {
      if (labels.length && !matchLabels(labels, e.obj.metadata.labels)) continue;
      if (fields.length && !matchFields(fields, (f) => fieldValue(def, e.obj, f))) continue;
      out.push(e);
    }
    return ok({ def, entries: out, resourceVersion: this.resourceVersion() });
  }

  /** Lists copies of the matching objects and the current resourceVersion. */
  list(
    ref: string | ResourceDef,
    opts: ListOptions = {},
  ): StoreResult<{ items: KObj[]; resourceVersion: string }> {
    const r = this.listEntries(ref, opts);
    if (!r.ok) return r;
    const def = r.value.def;
    return ok({
      items: r.value.entries.map((e) => structuredClone(this.#withVersion(def, e.obj))),
      resourceVersion: r.value.resourceVersion,
    });
  }

  /** Reads a copy of one object. */
  get(ref: string | ResourceDef, namespace: string | undefined, name: string): StoreResult<KObj> {
    const d = this.#def(ref);
    if (!d.ok) return d;
    const e = this.#entry(d.value, namespace, name);
    return e
      ? ok(structuredClone(this.#withVersion(d.value, e.obj)))
      : err(notFound(d.value, name));
  }

  /**
   * Starts a watch. `resourceVersion` unset/"0": synthetic ADDED for current objects first;
   * "n": replay of history after n, or a single ERROR 410 event when n is too old.
   * Events are delivered synchronously; call `stop` to unsubscribe.
   */
  watch(
    ref: string | ResourceDef,
    opts: WatchOptions,
    send: (e: WatchEvent) => void,
  ): StoreResult<{ stop: () => void }> {
    const d = this.#def(ref);
    if (!d.ok) return d;
    const def = d.value;
    const sel = this.#selectors(def, opts);
    if (!sel.ok) return sel;
    const c = this.#coll(def);
    const w: Watcher = { namespace: opts.namespace, ...sel.value, fromRv: 0, send };
    const rvText = opts.resourceVersion ?? "";
    if (rvText === "" || rvText === "0") {
      for (const e of this.entries(def, opts.namespace)) {
        if (this.#matches(def, w, e.obj)) {
          send({ type: "ADDED", object: this.#withVersion(def, e.obj) });
        }
      }
      w.fromRv = this.#rv;
    } else {
      const n = Number(rvText);
      if (!/^\d+$/.test(rvText)) return err(badRequest(`invalid resource version: ${rvText}`));
      if (n < c.droppedUpTo) {
        send({ type: "ERROR", object: expired(rvText, c.droppedUpTo) });
        return ok({ stop: () => {} });
      }
      w.fromRv = n;
      for (const ev of c.history) this.#deliver(def, w, ev);
      w.fromRv = Math.max(n, this.#rv);
    }
    // Live events must pass the rv filter only for replays; from now on everything is new.
    const live: Watcher = { ...w, fromRv: Math.max(w.fromRv, this.#rv) };
    c.watchers.add(live);
    return ok({ stop: () => c.watchers.delete(live) });
  }

  #namespaceCheck(def: ResourceDef, ns: string, name: string): Status | undefined {
    if (!def.namespaced) return undefined;
    const n = this.peek("namespaces", undefined, ns);
    if (!n) return notFound(this.resolve("namespaces")!, ns);
    if (n.status?.phase === "Terminating") {
      return failure(
        403,
        "Forbidden",
        `${
          def.group ? `${def.plural}.${def.group}` : def.plural
        } "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        {
          name,
          kind: def.plural,
          causes: [{
            reason: "NamespaceTerminating",
            message: `namespace ${ns} is being terminated`,
            field: "metadata.namespace",
          }],
        },
      );
    }
    return undefined;
  }

  /** Creates an object (POST). `namespace` from the URL wins over the body's. */
  create(
    ref: string | ResourceDef,
    input: object,
    opts: WriteOptions & { namespace?: string } = {},
  ): StoreResult<WriteResult> {
    const body = input as KObj;
    const d = this.#def(ref);
    if (!d.ok) return d;
    const def = d.value;
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return err(badRequest("the body must be a JSON object"));
    }
    // A JSON round trip: callers may pass client-node objects holding Dates.
    const obj: KObj = JSON.parse(JSON.stringify(body));
    obj.metadata = obj.metadata && typeof obj.metadata === "object" ? obj.metadata : {};
    const meta = obj.metadata;
    if (
      !def.builtin &&
      ((obj.kind && obj.kind !== def.kind) ||
        (obj.apiVersion && obj.apiVersion !== apiVersionOf(def)))
    ) {
      return err(
        badRequest(
          `the API version in the data (${obj.apiVersion}) does not match the expected API version (${
            apiVersionOf(def)
          })`,
        ),
      );
    }
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    if (def.namespaced) {
      const ns = opts.namespace ?? meta.namespace ?? "default";
      if (meta.namespace && meta.namespace !== ns) {
        return err(
          badRequest(
            "the namespace of the provided object does not match the namespace sent on the request",
          ),
        );
      }
      meta.namespace = ns;
    } else delete meta.namespace;
    if (meta.resourceVersion) {
      return err(
        failure(500, undefined, "resourceVersion should not be set on objects to be created"),
      );
    }
    if (!meta.name && meta.generateName) meta.name = meta.generateName + nameSuffix(this.random);
    if (!meta.name) {
      return err(
        invalidFor(def, "", [{
          reason: "FieldValueRequired",
          field: "metadata.name",
          message: "Required value: name or generateName is required",
        }]),
      );
    }
    const nameErr = nameErrors(def, meta.name);
    if (nameErr.length) return err(invalidFor(def, meta.name, nameErr));
    const nsErr = def.namespaced
      ? this.#namespaceCheck(def, meta.namespace!, meta.name)
      : undefined;
    if (nsErr) return err(nsErr);
    if (this.#entry(def, meta.namespace, meta.name)) return err(alreadyExists(def, meta.name));
    meta.uid = uuid(this.random);
    meta.creationTimestamp = formatTime(this.now());
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (def.generation) meta.generation = 1;
    else delete meta.generation;
    // Status is ignored on create when a status subresource exists; Nodes register with it (§3.4).
    if (def.status && def.kind !== "Node") delete obj.status;
    const a = admit(def, obj, undefined, {
      op: "create",
      fieldValidation: opts.fieldValidation ?? "Warn",
      ...this.#celOpt(),
    });
    if (!a.ok) return a;
    if (opts.dryRun) {
      return ok({
        object: { ...a.value.obj, metadata: { ...a.value.obj.metadata } },
        created: true,
        warnings: a.value.warnings,
      });
    }
    const stored = this.#commit(def, "ADDED", a.value.obj);
    return ok({ object: structuredClone(stored), created: true, warnings: a.value.warnings });
  }

  #celOpt(): { cel?: CelEvaluator } {
    return this.#cel ? { cel: this.#cel } : {};
  }

  /**
   * Replaces an object (PUT), or its status with `subresource: "status"`. A body
   * resourceVersion is a precondition (409 on mismatch); an empty one is allowed only for
   * kinds with unconditional update. Leases are created when missing.
   */
  update(
    ref: string | ResourceDef,
    input: object,
    opts: WriteOptions & { namespace?: string; name?: string } = {},
  ): StoreResult<WriteResult> {
    const body = input as KObj;
    const d = this.#def(ref);
    if (!d.ok) return d;
    const def = d.value;
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return err(badRequest("the body must be a JSON object"));
    }
    const meta = body.metadata ?? {};
    const name = opts.name ?? meta.name ?? "";
    if (opts.name !== undefined && meta.name !== undefined && meta.name !== opts.name) {
      return err(
        badRequest(
          `the name of the object (${meta.name}) does not match the name on the URL (${opts.name})`,
        ),
      );
    }
    const ns = def.namespaced ? opts.namespace ?? meta.namespace ?? "default" : undefined;
    if (def.namespaced && meta.namespace && meta.namespace !== ns) {
      return err(
        badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        ),
      );
    }
    const current = this.#entry(def, ns, name)?.obj;
    if (!current) {
      if (def.createOnUpdate && !opts.subresource) {
        const { resourceVersion: _rv, ...rest } = meta;
        return this.create(def, { ...body, metadata: { ...rest, name } }, {
          ...opts,
          ...(ns ? { namespace: ns } : {}),
        });
      }
      return err(notFound(def, name));
    }
    const rv = meta.resourceVersion;
    if (rv === undefined || rv === "") {
      if (!def.unconditionalUpdate) return this.#rvRequired(def, name);
    } else if (rv !== current.metadata.resourceVersion) return err(conflict(def, name));
    return this.#updateFrom(def, current, JSON.parse(JSON.stringify(body)), opts);
  }

  #rvRequired(def: ResourceDef, name: string): StoreResult<never> {
    // This one message uses the resource-style qualifier (§3.2).
    const s = invalidFor(def, name, [{
      reason: "FieldValueInvalid",
      field: "metadata.resourceVersion",
      message: "Invalid value: 0x0: must be specified for an update",
    }]);
    s.message = s.message!.replace(
      /^[^"]*"/,
      `${def.group ? `${def.plural}.${def.group}` : def.plural} "`,
    );
    return err(s);
  }

  /** The update path shared by PUT, PATCH and apply, after preconditions are checked. */
  updateFrom(
    def: ResourceDef,
    current: KObj,
    next: KObj,
    opts: WriteOptions = {},
  ): StoreResult<WriteResult> {
    return this.#updateFrom(def, current, next, opts);
  }

  #updateFrom(
    def: ResourceDef,
    current: KObj,
    nextIn: KObj,
    opts: WriteOptions,
  ): StoreResult<WriteResult> {
    let next: KObj = nextIn;
    if (opts.subresource === "status") {
      next = { ...structuredClone(current), status: nextIn.status };
      if (next.status === undefined) delete next.status;
    } else if (def.status) {
      next = { ...next };
      if (current.status === undefined) delete next.status;
      else next.status = structuredClone(current.status);
    }
    next.apiVersion = apiVersionOf(def);
    next.kind = def.kind;
    const cm = current.metadata;
    const nm = { ...(next.metadata ?? {}) };
    for (
      const k of [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
      ]
    ) {
      if (cm[k] === undefined) delete nm[k];
      else nm[k] = cm[k];
    }
    nm.resourceVersion = cm.resourceVersion!;
    next.metadata = nm;
    if (isDeleting(current)) {
      const added = (nm.finalizers ?? []).filter((f: string) => !(cm.finalizers ?? []).includes(f));
      if (added.length) {
        return err(invalidFor(def, cm.name!, [{
          reason: "FieldValueForbidden",
          field: "metadata.finalizers",
          message:
            `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${
              added.map((f: string) => JSON.stringify(f)).join(", ")
            }}`,
        }]));
      }
    }
    const a = admit(def, next, current, {
      op: "update",
      fieldValidation: opts.fieldValidation ?? "Warn",
      ...this.#celOpt(),
    });
    if (!a.ok) return a;
    next = a.value.obj;
    if (def.generation && opts.subresource !== "status" && specChanged(def, current, next)) {
      next.metadata.generation = (cm.generation ?? 0) + 1;
    }
    const strip = (o: KObj) =>
      canonicalJson({ ...o, metadata: { ...o.metadata, managedFields: undefined } });
    if (strip(next) === strip(current)) {
      return ok({ object: structuredClone(current), created: false, warnings: a.value.warnings });
    }
    if (opts.dryRun) return ok({ object: next, created: false, warnings: a.value.warnings });
    const removable = isDeleting(next) && !(next.metadata.finalizers?.length) &&
      !(next.metadata.deletionGracePeriodSeconds ?? 0);
    if (Array.isArray(next.metadata.finalizers) && next.metadata.finalizers.length === 0) {
      delete next.metadata.finalizers;
    }
    const stored = this.#commit(def, removable ? "DELETED" : "MODIFIED", next, current);
    return ok({ object: structuredClone(stored), created: false, warnings: a.value.warnings });
  }

  /** Deletes (or marks for deletion) one object, with DeleteOptions semantics of §3.5-§3.6. */
  delete(
    ref: string | ResourceDef,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): StoreResult<DeleteResult> {
    const d = this.#def(ref);
    if (!d.ok) return d;
    const def = d.value;
    const current = this.#entry(def, namespace, name)?.obj;
    if (!current) return err(notFound(def, name));
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== current.metadata.uid) {
      return err(preconditionConflict(def.kind, def, name, "UID", pre.uid, current.metadata.uid!));
    }
    if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      return err(
        preconditionConflict(
          def.kind,
          def,
          name,
          "ResourceVersion",
          pre.resourceVersion,
          current.metadata.resourceVersion!,
        ),
      );
    }
    const answer = (o: KObj): DeleteResult =>
      def.returnDeletedObject ? { object: structuredClone(o) } : {
        status: success({
          name,
          ...(def.group ? { group: def.group } : {}),
          kind: def.plural,
          uid: current.metadata.uid!,
        }),
      };
    let grace = 0;
    if (def.kind === "Pod") {
      grace = opts.gracePeriodSeconds ?? current.spec?.terminationGracePeriodSeconds ?? 30;
      if (grace < 0) grace = 1;
      if (!current.spec?.nodeName || ZERO_GRACE_PHASES.has(current.status?.phase)) grace = 0;
    }
    const finalizers = current.metadata.finalizers ?? [];
    if (isDeleting(current)) {
      const left = current.metadata.deletionGracePeriodSeconds ?? 0;
      if (grace >= left || def.kind !== "Pod") return ok({ object: structuredClone(current) });
    }
    if (grace === 0 && finalizers.length === 0 && def.kind !== "Namespace") {
      if (opts.dryRun) return ok(answer(current));
      this.#clearTimer(def, current);
      const gone = this.#commit(def, "DELETED", current, current);
      return ok(answer(gone));
    }
    const now = this.now();
    const marked: KObj = {
      ...current,
      metadata: {
        ...current.metadata,
        deletionTimestamp: formatTime(now + grace * 1000),
        deletionGracePeriodSeconds: grace,
      },
    };
    if (def.generation) marked.metadata.generation = (current.metadata.generation ?? 0) + 1;
    if (def.kind === "Namespace") {
      marked.status = { ...(current.status ?? {}), phase: "Terminating" };
    }
    if (opts.dryRun) return ok({ object: marked });
    const stored = this.#commit(def, "MODIFIED", marked, current);
    if (grace > 0) this.#scheduleFinish(def, stored, grace);
    return ok({ object: structuredClone(stored) });
  }

  #timerKey(def: ResourceDef, o: KObj): string {
    return `${resourceKey(def)}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  }

  #clearTimer(def: ResourceDef, o: KObj): void {
    const k = this.#timerKey(def, o);
    const t = this.#timers.get(k);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(k);
  }

  /** The fake kubelet: finishes a graceful pod deletion after its (scaled) grace period. */
  #scheduleFinish(def: ResourceDef, o: KObj, grace: number): void {
    if (this.#graceful === "hold") return;
    this.#clearTimer(def, o);
    const k = this.#timerKey(def, o);
    const uid = o.metadata.uid;
    const t = setTimeout(() => {
      this.#timers.delete(k);
      this.finishDeletion(def, o.metadata.namespace, o.metadata.name!, uid);
    }, grace * 1000 * this.#graceful.scale);
    this.#timers.set(k, t);
  }

  /** What kubelet does once containers stopped: grace 0, removed unless finalizers remain. */
  finishDeletion(
    ref: string | ResourceDef,
    namespace: string | undefined,
    name: string,
    uid?: string,
  ): void {
    const def = this.resolve(ref);
    if (!def) return;
    const cur = this.#entry(def, namespace, name)?.obj;
    if (!cur || !isDeleting(cur) || (uid && cur.metadata.uid !== uid)) return;
    if (cur.metadata.finalizers?.length) {
      if (cur.metadata.deletionGracePeriodSeconds) {
        this.#commit(def, "MODIFIED", {
          ...cur,
          metadata: { ...cur.metadata, deletionGracePeriodSeconds: 0 },
        }, cur);
      }
      return;
    }
    this.#commit(def, "DELETED", cur, cur);
  }

  /** Stops the fake kubelet's timers (server shutdown). */
  close(): void {
    this.#stopControllers();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const c of this.#collections.values()) c.watchers.clear();
  }
}

/** Did anything outside metadata (and outside status for kinds with the subresource) change? */
function specChanged(def: ResourceDef, a: KObj, b: KObj): boolean {
  const body = (o: KObj) => {
    const { metadata: _m, status, apiVersion: _a, kind: _k, ...rest } = o;
    return canonicalJson(def.status ? rest : { ...rest, status });
  };
  return body(a) !== body(b);
}
