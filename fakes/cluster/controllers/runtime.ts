/**
 * The machinery every controller of the fake cluster shares: a keyed work queue fed by store
 * watches, a periodic resync, delayed requeues, and the small readers of owner references
 * and pod state that kube-controller-manager's controllers all use.
 *
 * Watch events arrive synchronously inside the store's write, so controllers never write from
 * the callback: keys are queued and synced on a later timer tick, like an informer's queue.
 *
 * May import: fakes/fake_kube/.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";
import type { KubeStore } from "../../fake_kube/store.ts";

/** What the loop needs from one controller. */
export type Controller = {
  name: string;
  /** Resources to watch, and the keys an event on one of their objects makes dirty. */
  watches: { ref: string; keys: (obj: KObj) => string[] }[];
  /** Every key worth looking at again (periodic resync). */
  all: () => string[];
  /** Brings one key's world towards its desired state; `loop` requeues or schedules. */
  sync: (key: string, loop: Loop) => void;
};

/** The running work queue of a set of controllers. */
export class Loop {
  readonly store: KubeStore;
  #controllers = new Map<string, Controller>();
  #dirty = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #later = new Map<string, ReturnType<typeof setTimeout>>();
  #stops: (() => void)[] = [];
  #stopped = false;

  /** A loop over `store`; `resyncMs` is the period of the full resync. */
  constructor(store: KubeStore, controllers: Controller[], resyncMs: number) {
    this.store = store;
    for (const c of controllers) this.#controllers.set(c.name, c);
    for (const c of controllers) {
      for (const w of c.watches) {
        const r = store.watch(w.ref, {}, (e) => {
          if (e.type === "ADDED" || e.type === "MODIFIED" || e.type === "DELETED") {
            for (const k of w.keys(e.object as KObj)) this.enqueue(c.name, k);
          }
        });
        if (r.ok) this.#stops.push(r.value.stop);
      }
    }
    const iv = setInterval(() => {
      for (const c of controllers) for (const k of c.all()) this.enqueue(c.name, k);
    }, resyncMs);
    this.#stops.push(() => clearInterval(iv));
  }

  /** Marks a controller's key dirty; it is synced on the next tick. */
  enqueue(controller: string, key: string): void {
    if (this.#stopped) return;
    this.#dirty.add(`${controller}\u0000${key}`);
    this.#timer ??= setTimeout(() => this.#flush(), 0);
  }

  /** Syncs the key again after `ms` (tolerationSeconds, grace periods). */
  after(controller: string, key: string, ms: number): void {
    if (this.#stopped) return;
    const id = `${controller}\u0000${key}`;
    const old = this.#later.get(id);
    if (old !== undefined) clearTimeout(old);
    this.#later.set(
      id,
      setTimeout(() => {
        this.#later.delete(id);
        this.enqueue(controller, key);
      }, Math.max(0, ms)),
    );
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const batch = [...this.#dirty];
    this.#dirty.clear();
    for (const id of batch) {
      const [name, key] = id.split("\u0000") as [string, string];
      const c = this.#controllers.get(name);
      try {
        c?.sync(key, this);
      } catch (e) {
        // A controller bug must not stop the others; it is retried on the next resync.
        console.error(`controller ${name} ${key}: ${e instanceof Error ? e.stack : e}`);
      }
    }
  }

  /** Stops watches and timers; queued work is dropped. */
  stop(): void {
    this.#stopped = true;
    for (const s of this.#stops) s();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const t of this.#later.values()) clearTimeout(t);
    this.#later.clear();
  }
}

/** `namespace/name` key of a namespaced object (`name` for cluster-scoped ones). */
export function keyOf(o: KObj): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
}

/** Splits a key back into namespace and name. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf("/");
  return i < 0
    ? { namespace: undefined, name: key }
    : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The controller ownerReference of an object, if any. */
export function controllerRef(o: KObj): Json | undefined {
  return (o.metadata.ownerReferences ?? []).find((r: Json) => r?.controller === true);
}

/** Keys of the object's controller owner of `kind` (for pod → ReplicaSet fan-in). */
export function ownerKeys(kind: string): (o: KObj) => string[] {
  return (o) => {
    const r = controllerRef(o);
    return r?.kind === kind ? [`${o.metadata.namespace}/${r.name}`] : [];
  };
}

/** The ownerReference a controller puts on what it creates. */
export function ownerRefTo(owner: KObj, apiVersion: string, kind: string): Json {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Objects of `ref` in `namespace` whose controller is `owner`. */
export function ownedBy(store: KubeStore, ref: string, namespace: string, owner: KObj): KObj[] {
  const def = store.resolve(ref)!;
  const out: KObj[] = [];
  for (const e of store.entries(def, namespace)) {
    if (controllerRef(e.obj)?.uid === owner.metadata.uid) out.push(e.obj);
  }
  return out;
}

/** Is the pod counted by its controller: not terminating and not finished? */
export function isActivePod(p: KObj): boolean {
  const phase = p.status?.phase;
  return !p.metadata.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed";
}

/** The pod's Ready condition is True. */
export function isPodReady(p: KObj): boolean {
  return (p.status?.conditions ?? []).some((c: Json) => c?.type === "Ready" && c.status === "True");
}

/** Ready for at least `minReadySeconds` at `now` (ms). */
export function isPodAvailable(p: KObj, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(p)) return false;
  if (!minReadySeconds) return true;
  const c = (p.status?.conditions ?? []).find((x: Json) => x?.type === "Ready");
  const since = Date.parse(c?.lastTransitionTime ?? "");
  return Number.isNaN(since) || since + minReadySeconds * 1000 <= now;
}

/** Milliseconds since the epoch of a timestamp, or 0. */
export function timeOf(s: Json): number {
  const t = typeof s === "string" ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/** A deep copy of `o` with `status` replaced, for a status write. */
export function withStatus(o: KObj, status: Json): KObj {
  return { ...structuredClone(o), status };
}

/** Writes `status` when it differs from the stored one (status subresource). */
export function writeStatus(store: KubeStore, ref: string, o: KObj, status: Json): void {
  if (JSON.stringify(o.status ?? {}) === JSON.stringify(status)) return;
  store.update(ref, withStatus(o, status), {
    subresource: "status",
    fieldManager: "kube-controller-manager",
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  });
}

/** Copies a pod template into a new pod body with the given name parts and owner. */
export function podFromTemplate(
  template: Json,
  namespace: string,
  owner: Json,
  extra: { name?: string; generateName?: string; labels?: Record<string, string> } = {},
): KObj {
  const t = structuredClone(template ?? {});
  const meta = t.metadata ?? {};
  const metadata: Json = {
    namespace,
    labels: { ...(meta.labels ?? {}), ...(extra.labels ?? {}) },
    ownerReferences: [owner],
  };
  if (meta.annotations) metadata.annotations = meta.annotations;
  if (meta.finalizers) metadata.finalizers = meta.finalizers;
  if (extra.name) metadata.name = extra.name;
  else metadata.generateName = extra.generateName;
  return { apiVersion: "v1", kind: "Pod", metadata, spec: t.spec ?? {} };
}

/** A generated-name suffix drawn from the controllers' own seeded random source. */
export function suffix(random: () => number): string {
  const chars = "bcdfghjklmnpqrstvwxz2456789";
  let s = "";
  for (let i = 0; i < 5; i++) s += chars[Math.floor(random() * chars.length)];
  return s;
}
