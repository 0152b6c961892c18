/**
 * KubeStore: the fake API server's state, usable in-process (tests and the demo seed
 * thousands of objects through it) and served over HTTP by server.ts. One global
 * resourceVersion counter, per-resource bounded watch history (410 when a watch starts
 * before it), optimistic concurrency, generation, finalizers and graceful pod deletion,
 * all as a v1.32 API server does them. Failures are `Status` values, never exceptions.
 */
import { err, ok } from "../result.ts";
import { admit, invalidFor } from "./admission.ts";
import { ADMISSION_GROUP, checkAdmissionPolicies, type PolicyView } from "./admission_policy.ts";
import { applyMutatingPolicies } from "./mutating_policy.ts";
import { fieldValue, formatTime, isDeleting, type KObj } from "./objects.ts";
import { canonicalJson, type Json } from "./patch.ts";
import { patchObject, type PatchOptions, type PatchType } from "./patch_request.ts";
import { evict, type Eviction, installPdbController } from "./pdb.ts";
import { type Binding, bindPod } from "./binding.ts";
import { FakeKubelet } from "./kubelet.ts";
import { prepareCreate } from "./create.ts";
import { deliver, watcherMatches } from "./watchers.ts";
import { afterUpdate, managedWithoutTimes, readManaged, writeManaged } from "./ownership.ts";
import { fieldsOf } from "./field_set.ts";
import { applyListRules } from "./list_types.ts";
import { cleanExpiredTokens, installControllers } from "./controllers.ts";
import { apiVersionOf, builtinResources, type ResourceDef, resourceKey } from "./resources.ts";
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

import type {
  Collection,
  DeleteOptions,
  DeleteResult,
  Entry,
  HistoryEvent,
  ListOptions,
  StoreOptions,
  StoreResult,
  Watcher,
  WatchEvent,
  WatchOptions,
  WriteHook,
  WriteOptions,
  WriteResult,
} from "./store_types.ts";

export type {
  DeleteOptions,
  DeleteResult,
  Entry,
  ListOptions,
  StoreOptions,
  StoreResult,
  WatchEvent,
  WatchEventType,
  WatchOptions,
  WriteHook,
  WriteOptions,
  WriteResult,
} from "./store_types.ts";

const ZERO_GRACE_PHASES = new Set(["Succeeded", "Failed"]);

/** The stateful object store behind the fake API server. */
export class KubeStore {
  readonly now: () => number;
  readonly random: () => number;
  /** Seconds of the not-ready/unreachable tolerations admission adds to new pods. */
  defaultTolerationSeconds = 300;
  static #highWater = 0;
  #rv: number;
  #startRv: number;
  #historyLimit: number;
  #ownership: boolean;
  #kubelet: FakeKubelet;
  #defs = new Map<string, ResourceDef[]>();
  #defsRevision = 0;
  #cleaning = false;
  #collections = new Map<string, Collection>();
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
    this.#ownership = opts.applyOwnership ?? true;
    this.#kubelet = new FakeKubelet(opts.gracefulDeletion ?? { scale: 1 }, (o) => {
      this.finishDeletion("pods", o.metadata.namespace, o.metadata.name!, o.metadata.uid);
    });
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
   * evictions 429 "still being processed" after a PDB edit (a realistic fault: the
   * disruption controller has not observed the new generation yet).
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

  /** `POST pods/<name>/binding` (what kube-scheduler does); see binding.ts. */
  bind(
    namespace: string,
    name: string,
    body: Binding,
    opts: { dryRun?: boolean } = {},
  ): StoreResult<Status> {
    return bindPod(this, namespace, name, body, opts);
  }

  /**
   * Commits `next` over `prev` as one MODIFIED write without admission, for subresources
   * whose server-side logic lives in their own module (pods/binding). Returns a copy.
   */
  writeThrough(def: ResourceDef, prev: KObj, next: KObj): KObj {
    return structuredClone(this.#commit(def, "MODIFIED", next, prev));
  }

  /** `POST pods/<name>/eviction`: 201 Status, or 429/404/409/500 as the apiserver answers. */
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
    const storage = def.storage ?? key;
    if (!this.#collections.has(storage)) {
      this.#collections.set(storage, {
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
    return this.#collections.get(def.storage ?? resourceKey(def))!;
  }

  #entry(def: ResourceDef, ns: string | undefined, name: string): Entry | undefined {
    return this.#coll(def).byNs.get(def.namespaced ? ns ?? "" : "")?.get(name);
  }

  /** Direct read of the stored object (no copy): for controllers and serializers only. */
  peek(ref: string | ResourceDef, ns: string | undefined, name: string): KObj | undefined {
    const d = this.resolve(ref);
    const o = d ? this.#entry(d, ns, name)?.obj : undefined;
    return o && d?.fromStorage ? d.fromStorage(o) : o;
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

  /** The stored object as `def` serves it: converted (Events) or with its apiVersion (CRs). */
  #withVersion(def: ResourceDef, o: KObj): KObj {
    if (def.fromStorage) return def.fromStorage(o);
    const apiVersion = apiVersionOf(def);
    return o.apiVersion === apiVersion ? o : { ...o, apiVersion };
  }

  /** Commits a write: bumps the counter, stores, records history, notifies watchers and hooks. */
  #commit(def: ResourceDef, type: HistoryEvent["type"], input: KObj, before?: KObj): KObj {
    const obj = def.toStorage ? def.toStorage(input) : input;
    const prev = before && def.toStorage ? def.toStorage(before) : before;
    const c = this.#coll(def);
    const rv = ++this.#rv;
    if (rv > KubeStore.#highWater) KubeStore.#highWater = rv;
    // kind and apiVersion first, as the apiserver prints them.
    const stored: KObj = {
      kind: obj.kind ?? def.kind,
      apiVersion: obj.apiVersion ?? apiVersionOf(def),
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: String(rv) },
    };
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
    for (const w of c.watchers) deliver(def, w, ev);
    for (const h of this.#hooks) h(def, type, stored, prev);
    return stored;
  }

  /** The oldest resourceVersion still readable for a resource (older continue tokens: 410). */
  compactedUpTo(ref: string | ResourceDef): number {
    const d = this.resolve(ref);
    return d ? this.#coll(d).droppedUpTo : 0;
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
    // Objects leave the store in the watched resource's own shape (events.k8s.io Events).
    const out = def.fromStorage
      ? (e: WatchEvent) =>
        send(
          e.type === "ERROR" || e.type === "BOOKMARK"
            ? e
            : { ...e, object: def.fromStorage!(e.object as KObj) },
        )
      : send;
    const w: Watcher = { namespace: opts.namespace, ...sel.value, fromRv: 0, send: out };
    const rvText = opts.resourceVersion ?? "";
    if (rvText === "" || rvText === "0") {
      for (const e of this.entries(def, opts.namespace)) {
        if (watcherMatches(def, w, e.obj)) {
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
      for (const ev of c.history) deliver(def, w, ev);
      w.fromRv = Math.max(n, this.#rv);
    }
    // Live events must pass the rv filter only for replays; from now on everything is new.
    const live: Watcher = { ...w, fromRv: Math.max(w.fromRv, this.#rv) };
    c.watchers.add(live);
    return ok({ stop: () => c.watchers.delete(live) });
  }

  /** Creates an object (POST). `namespace` from the URL wins over the body's. */
  create(
    ref: string | ResourceDef,
    input: object,
    opts: WriteOptions & { namespace?: string } = {},
  ): StoreResult<WriteResult> {
    const d = this.#def(ref);
    if (!d.ok) return d;
    const def = d.value;
    const prepared = prepareCreate(def, input, {
      ...(opts.namespace !== undefined ? { urlNamespace: opts.namespace } : {}),
      random: this.random,
      now: this.now(),
      namespace: (name) => this.peek("namespaces", undefined, name),
    });
    if (!prepared.ok) return prepared;
    let obj = prepared.value;
    const mutated = this.#mutations(def, "CREATE", obj, undefined, opts);
    if (mutated.denied) return err(mutated.denied);
    obj = mutated.object;
    const meta = obj.metadata;
    const name = meta.name!;
    if (this.#entry(def, meta.namespace, name)) return err(alreadyExists(def, name));
    const a = admit(def, obj, undefined, {
      op: "create",
      fieldValidation: opts.fieldValidation ?? "Warn",
      defaultTolerationSeconds: this.defaultTolerationSeconds,
    });
    if (!a.ok) return a;
    const denied = this.#policies(def, "CREATE", a.value.obj, undefined, opts, a.value.warnings);
    if (denied) return err(denied);
    if (opts.dryRun) {
      return ok({
        object: { ...a.value.obj, metadata: { ...a.value.obj.metadata } },
        created: true,
        warnings: a.value.warnings,
      });
    }
    this.#manage(def, opts, undefined, a.value.obj);
    const stored = this.#commit(def, "ADDED", a.value.obj);
    return ok({
      object: structuredClone(this.#withVersion(def, stored)),
      created: true,
      warnings: a.value.warnings,
    });
  }

  /** MutatingAdmissionPolicies on a write (before validation): the object they leave. */
  #mutations(
    def: ResourceDef,
    operation: "CREATE" | "UPDATE",
    object: KObj,
    oldObject: KObj | undefined,
    opts: WriteOptions,
  ): { object: KObj; denied?: Status } {
    const bindings = this.resolve(`mutatingadmissionpolicybindings.${ADMISSION_GROUP}`);
    if (!bindings || [...this.entries(bindings)].length === 0) return { object };
    return applyMutatingPolicies(this.#policyView(), {
      def,
      operation,
      object,
      oldObject,
      user: opts.user,
      subresource: opts.subresource,
    });
  }

  #policyView(): PolicyView {
    return {
      all: (ref) => {
        const d = this.resolve(ref);
        return d ? [...this.entries(d)].map((e) => e.obj) : [];
      },
      get: (ref, ns, name) => this.peek(ref, ns, name),
      resources: () => this.resources(),
    };
  }

  /** ValidatingAdmissionPolicies on a write: the denial, if any (warnings are appended). */
  #policies(
    def: ResourceDef,
    operation: "CREATE" | "UPDATE",
    object: KObj,
    oldObject: KObj | undefined,
    opts: WriteOptions,
    warnings: string[],
  ): Status | undefined {
    const bindings = this.resolve(`validatingadmissionpolicybindings.${ADMISSION_GROUP}`);
    if (!bindings || [...this.entries(bindings)].length === 0) return undefined;
    const v = checkAdmissionPolicies(this.#policyView(), {
      def,
      operation,
      object,
      oldObject,
      user: opts.user,
      subresource: opts.subresource,
    });
    warnings.push(...v.warnings);
    return v.denied;
  }

  /** Does the store track field ownership (managedFields, apply conflicts)? */
  ownership(): boolean {
    return this.#ownership;
  }

  /**
   * Sets `next.metadata.managedFields` for a write from `current`: the entries apply computed,
   * or an Update entry for what the writer changed. The base is the request's own
   * managedFields when it sends some (an empty list resets them), else the live object's.
   */
  #manage(def: ResourceDef, opts: WriteOptions, current: KObj | undefined, next: KObj): void {
    if (!this.#ownership) return;
    const rules = applyListRules(def);
    const sent = next.metadata.managedFields;
    const base = Array.isArray(sent) && sent.length
      ? readManaged(next)
      : Array.isArray(sent)
      ? []
      : readManaged(current);
    // The fake's own controllers write without a manager: nothing to record or prune.
    if (!opts.owners && !opts.fieldManager && base.length === 0) {
      delete next.metadata.managedFields;
      return;
    }
    let entries = opts.owners;
    if (!entries) {
      const w = opts.fieldManager
        ? {
          manager: opts.fieldManager,
          subresource: opts.subresource ?? "",
          apiVersion: apiVersionOf(def),
          time: formatTime(this.now()),
        }
        : undefined;
      entries = afterUpdate(base, w, current ?? {}, next, rules);
    } else {
      const now = fieldsOf(next, rules, true);
      entries = entries.map((e) => ({
        ...e,
        fields: new Map([...e.fields].filter(([p]) => now.has(p))),
      }));
    }
    const managed = writeManaged(entries);
    if (managed.length) next.metadata.managedFields = managed;
    else delete next.metadata.managedFields;
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
    const current = this.peek(def, ns, name);
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
    // This one message names the resource (`leases.coordination.k8s.io`), not the Kind, as a
    // real server's does.
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
    const mutated = this.#mutations(def, "UPDATE", next, current, opts);
    if (mutated.denied) return err(mutated.denied);
    next = mutated.object;
    const a = admit(def, next, current, {
      op: "update",
      fieldValidation: opts.fieldValidation ?? "Warn",
      defaultTolerationSeconds: this.defaultTolerationSeconds,
    });
    if (!a.ok) return a;
    const denied = this.#policies(def, "UPDATE", a.value.obj, current, opts, a.value.warnings);
    if (denied) return err(denied);
    next = a.value.obj;
    if (def.generation && opts.subresource !== "status" && specChanged(def, current, next)) {
      next.metadata.generation = (cm.generation ?? 0) + 1;
    }
    this.#manage(def, opts, current, next);
    const strip = (o: KObj) =>
      canonicalJson({ ...o, metadata: { ...o.metadata, managedFields: undefined } }) +
      managedWithoutTimes(o);
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
    return ok({
      object: structuredClone(this.#withVersion(def, stored)),
      created: false,
      warnings: a.value.warnings,
    });
  }

  /**
   * Deletes (or marks for deletion) one object, with DeleteOptions, finalizers and graceful pod
   * deletion as the real server applies them.
   */
  delete(
    ref: string | ResourceDef,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): StoreResult<DeleteResult> {
    const d = this.#def(ref);
    if (!d.ok) return d;
    const def = d.value;
    const current = this.peek(def, namespace, name);
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
      def.returnDeletedObject ? { object: structuredClone(this.#withVersion(def, o)) } : {
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
    const gcFinalizer = opts.propagationPolicy === "Orphan"
      ? "orphan"
      : opts.propagationPolicy === "Foreground"
      ? "foregroundDeletion"
      : undefined;
    const had = current.metadata.finalizers ?? [];
    const finalizers = gcFinalizer && !had.includes(gcFinalizer) && !isDeleting(current)
      ? [...had, gcFinalizer]
      : had;
    if (isDeleting(current)) {
      const left = current.metadata.deletionGracePeriodSeconds ?? 0;
      if (grace >= left || def.kind !== "Pod") return ok({ object: structuredClone(current) });
    }
    if (grace === 0 && finalizers.length === 0 && def.kind !== "Namespace") {
      if (opts.dryRun) return ok(answer(current));
      if (def.kind === "Pod") this.#kubelet.cancel(current);
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
        ...(finalizers.length ? { finalizers } : {}),
      },
    };
    if (def.generation) marked.metadata.generation = (current.metadata.generation ?? 0) + 1;
    if (def.kind === "Namespace") {
      marked.status = { ...(current.status ?? {}), phase: "Terminating" };
    }
    if (opts.dryRun) return ok({ object: marked });
    const stored = this.#commit(def, "MODIFIED", marked, current);
    if (grace > 0) this.#kubelet.schedule(stored, grace);
    return ok({ object: structuredClone(this.#withVersion(def, stored)) });
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
    this.#kubelet.close();
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
