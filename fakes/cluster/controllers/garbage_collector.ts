/**
 * The garbage collector: ownerReferences across every served resource (custom ones too).
 * - Background: a dependent all of whose owners are gone (no object of that kind and name, or
 *   one with another uid) is deleted; references to gone owners are removed from a dependent
 *   that still has a live owner.
 * - Orphan: an owner marked for deletion with the `orphan` finalizer has its reference removed
 *   from every dependent, then the finalizer, so it goes and they stay.
 * - Foreground: an owner marked with `foregroundDeletion` has its dependents deleted (in turn
 *   in the foreground) and loses the finalizer once none is left.
 * It follows every write through the store's write hook (watches are per resource, and custom
 * resources come and go), keeping an index from owner uid to dependents.
 *
 * May import: fakes/fake_kube/, ./runtime.ts.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";
import { apiVersionOf, type ResourceDef } from "../../fake_kube/resources.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import type { Controller, Loop } from "./runtime.ts";

const NAME = "garbage-collector";
const ORPHAN = "orphan";
const FOREGROUND = "foregroundDeletion";

/** `group/version/plural|namespace|name`: enough to find an object again. */
type Id = string;

function refOf(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.version}/${def.plural}` : `${def.version}/${def.plural}`;
}

function idOf(def: ResourceDef, o: KObj): Id {
  return `${refOf(def)}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;
}

function parseId(id: Id): { ref: string; namespace: string | undefined; name: string } {
  const [ref, ns, name] = id.split("|") as [string, string, string];
  return { ref, namespace: ns || undefined, name };
}

/** The collector over `store`; `install` hooks it to the store's writes and the loop. */
export function garbageCollector(store: KubeStore): {
  controller: Controller;
  install: (loop: Loop) => () => void;
} {
  const dependents = new Map<string, Set<Id>>();
  const index = (id: Id, o: KObj | undefined, prev: KObj | undefined) => {
    for (const r of prev?.metadata.ownerReferences ?? []) dependents.get(r?.uid)?.delete(id);
    for (const r of o?.metadata.ownerReferences ?? []) {
      if (!r?.uid) continue;
      let s = dependents.get(r.uid);
      if (!s) dependents.set(r.uid, s = new Set());
      s.add(id);
    }
  };
  const scan = (): Id[] => {
    const out: Id[] = [];
    for (const def of store.resources()) {
      if (def.storage) continue;
      if (store.resolve(refOf(def)) !== def) continue;
      for (const e of store.entries(def)) {
        const o = e.obj;
        const id = idOf(def, o);
        if (o.metadata.ownerReferences?.length) {
          index(id, o, undefined);
          out.push(`dep:${id}`);
        }
        const f: string[] = o.metadata.finalizers ?? [];
        if (o.metadata.deletionTimestamp && (f.includes(ORPHAN) || f.includes(FOREGROUND))) {
          out.push(`owner:${id}`);
        }
      }
    }
    return out;
  };
  const controller: Controller = {
    name: NAME,
    watches: [],
    all: scan,
    sync: (key, loop) => {
      if (key.startsWith("dep:")) checkDependent(store, key.slice(4));
      else finishOwner(store, key.slice(6), dependents, loop);
    },
  };
  const install = (loop: Loop) => {
    let on = true;
    scan();
    store.onWrite((def, type, obj, prev) => {
      if (!on || def.storage) return;
      const id = idOf(def, obj);
      index(id, type === "DELETED" ? undefined : obj, prev);
      if (type === "DELETED") {
        for (const d of dependents.get(obj.metadata.uid!) ?? []) loop.enqueue(NAME, `dep:${d}`);
        return;
      }
      if (obj.metadata.ownerReferences?.length) loop.enqueue(NAME, `dep:${id}`);
      const f: string[] = obj.metadata.finalizers ?? [];
      if (obj.metadata.deletionTimestamp && (f.includes(ORPHAN) || f.includes(FOREGROUND))) {
        loop.enqueue(NAME, `owner:${id}`);
      }
    });
    // A dependent going away may be what a foreground owner waits for.
    store.onWrite((_def, type, obj) => {
      if (!on || type !== "DELETED") return;
      for (const r of obj.metadata.ownerReferences ?? []) {
        const owner = findByUid(store, r, obj.metadata.namespace);
        if (owner) loop.enqueue(NAME, `owner:${owner}`);
      }
    });
    return () => {
      on = false;
    };
  };
  return { controller, install };
}

/** The resource of an ownerReference's apiVersion and kind. */
function ownerDef(store: KubeStore, ref: Json): ResourceDef | undefined {
  const defs = store.resources().filter((d) => d.kind === ref?.kind && !d.storage);
  return defs.find((d) => apiVersionOf(d) === ref?.apiVersion) ??
    defs.find((d) => d.group === String(ref?.apiVersion ?? "").split("/").slice(0, -1).join("/"));
}

/** The owner an ownerReference points at, if it exists with that uid. */
function lookupOwner(store: KubeStore, ref: Json, namespace: string | undefined): KObj | undefined {
  const def = ownerDef(store, ref);
  if (!def) return undefined;
  const o = store.peek(def, def.namespaced ? namespace : undefined, ref.name);
  return o && o.metadata.uid === ref.uid ? o : undefined;
}

function findByUid(store: KubeStore, ref: Json, namespace: string | undefined): Id | undefined {
  const def = ownerDef(store, ref);
  const o = lookupOwner(store, ref, namespace);
  return def && o ? idOf(def, o) : undefined;
}

function checkDependent(store: KubeStore, id: Id): void {
  const { ref, namespace, name } = parseId(id);
  const dep = store.peek(ref, namespace, name);
  const refs: Json[] = dep?.metadata.ownerReferences ?? [];
  if (!dep || !refs.length) return;
  const owners = refs.map((r) => ({ r, owner: lookupOwner(store, r, namespace) }));
  const gone = owners.filter((x) => !x.owner);
  const foreground = owners.filter((x) =>
    x.owner?.metadata.deletionTimestamp &&
    (x.owner.metadata.finalizers ?? []).includes(FOREGROUND)
  );
  const solid = owners.length - gone.length - foreground.length;
  if (solid === 0) {
    if (dep.metadata.deletionTimestamp) return;
    store.delete(ref, namespace, name, {
      propagationPolicy: foreground.length ? "Foreground" : "Background",
    });
  } else if (gone.length) {
    const keep = refs.filter((r) => !gone.some((g) => g.r === r));
    store.patch(ref, namespace, name, "merge", {
      metadata: { ownerReferences: keep, resourceVersion: dep.metadata.resourceVersion },
    }, { fieldManager: "kube-controller-manager" });
  }
}

function finishOwner(store: KubeStore, id: Id, dependents: Map<string, Set<Id>>, loop: Loop): void {
  const { ref, namespace, name } = parseId(id);
  const owner = store.peek(ref, namespace, name);
  if (!owner || !owner.metadata.deletionTimestamp) return;
  const finalizers: string[] = owner.metadata.finalizers ?? [];
  const uid = owner.metadata.uid!;
  const deps = [...(dependents.get(uid) ?? [])].flatMap((d) => {
    const p = parseId(d);
    const o = store.peek(p.ref, p.namespace, p.name);
    return o && (o.metadata.ownerReferences ?? []).some((r: Json) => r?.uid === uid)
      ? [{ ...p, o }]
      : [];
  });
  let done: string | undefined;
  if (finalizers.includes(ORPHAN)) {
    for (const d of deps) {
      const keep = (d.o.metadata.ownerReferences ?? []).filter((r: Json) => r?.uid !== uid);
      store.patch(d.ref, d.namespace, d.name, "merge", {
        metadata: { ownerReferences: keep.length ? keep : null },
      }, { fieldManager: "kube-controller-manager" });
    }
    done = ORPHAN;
  } else if (finalizers.includes(FOREGROUND)) {
    for (const d of deps) {
      if (!d.o.metadata.deletionTimestamp) {
        loop.enqueue(NAME, `dep:${d.ref}|${d.namespace ?? ""}|${d.name}`);
      }
    }
    if (deps.length === 0) done = FOREGROUND;
  }
  if (!done) return;
  const cur = store.peek(ref, namespace, name)!;
  store.update(ref, {
    ...structuredClone(cur),
    metadata: {
      ...structuredClone(cur.metadata),
      finalizers: finalizers.filter((f) => f !== done),
    },
  }, { fieldManager: "kube-controller-manager", ...(namespace ? { namespace } : {}) });
}
