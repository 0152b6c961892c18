/**
 * The few controllers a real cluster runs that clients can observe through the API, imitated
 * inside the fake: CRD naming/establishing (a CRD's resource is served only once it is
 * Established), CRD deletion removing its custom resources, namespace deletion removing its
 * contents before the namespace goes, and the node-lifecycle taints for cordoned, not-ready
 * and unreachable nodes, the bootstrap-token cleaner and, optionally, pod GC for deleted nodes.
 */
import { formatTime, type KObj } from "./objects.ts";
import type { Json } from "./patch.ts";
import { type CrdObject, resourceKey, resourcesFromCrd } from "./resources.ts";
import type { KubeStore } from "./store.ts";

/** Options for the CRD controllers. */
export type ControllerOptions = {
  /** Delay before a new CRD becomes Established (default 0 = synchronously after create). */
  crdEstablishDelayMs?: number;
  /** Pod GC: deleting a Node deletes the pods bound to it, as the real pod GC soon does (default false). */
  podGcOnNodeDelete?: boolean;
};

const UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable";
const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
const UNREACHABLE_TAINT = "node.kubernetes.io/unreachable";
const CONTROLLER_TAINTS = new Set([UNSCHEDULABLE_TAINT, NOT_READY_TAINT, UNREACHABLE_TAINT]);

/** Installs the controllers; returns a function cancelling pending timers. */
export function installControllers(store: KubeStore, opts: ControllerOptions = {}): () => void {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const crdDef = store.resolve("customresourcedefinitions.apiextensions.k8s.io")!;

  const establish = (name: string) => {
    const crd = store.peek(crdDef, undefined, name);
    if (!crd) return;
    const c = crd as unknown as CrdObject;
    const now = formatTime(store.now());
    const names = c.spec.names;
    const accepted = {
      ...names,
      listKind: names.listKind ?? `${names.kind}List`,
      singular: names.singular ?? names.kind.toLowerCase(),
    };
    const status = {
      acceptedNames: accepted,
      conditions: [
        {
          type: "NamesAccepted",
          status: "True",
          reason: "NoConflicts",
          message: "no conflicts found",
          lastTransitionTime: now,
        },
        {
          type: "Established",
          status: "True",
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
          lastTransitionTime: now,
        },
      ],
      storedVersions: c.spec.versions.filter((v) => v.storage).map((v) => v.name),
    };
    for (const def of resourcesFromCrd(c)) store.addResource(def);
    store.updateFrom(crdDef, crd, { ...crd, status }, { subresource: "status" });
  };

  store.onWrite((def, type, obj, prev) => {
    if (def === crdDef || def.kind === "CustomResourceDefinition") {
      const c = obj as unknown as CrdObject;
      const key = resourceKey({ group: c.spec.group, plural: c.spec.names.plural });
      if (type === "DELETED") {
        // Instances go first (their watchers see DELETED), then the resource stops being served.
        removeInstances(store, key);
        store.removeResource(key);
      } else if (type === "ADDED") {
        const delay = opts.crdEstablishDelayMs ?? 0;
        if (delay <= 0) queueMicrotaskOrNow(() => establish(obj.metadata.name!));
        else {
          const t = setTimeout(() => {
            timers.delete(t);
            establish(obj.metadata.name!);
          }, delay);
          timers.add(t);
        }
      } else if (prev && JSON.stringify(prev.spec) !== JSON.stringify(obj.spec)) {
        const established = (obj.status?.conditions ?? []).some((x: Json) =>
          x?.type === "Established" && x?.status === "True"
        );
        if (established) { for (const d of resourcesFromCrd(c)) store.addResource(d); }
      }
      if (
        type === "MODIFIED" && obj.metadata.deletionTimestamp && !prev?.metadata.deletionTimestamp
      ) {
        removeInstances(store, key);
      }
    }
    if (def.kind === "Namespace" && type === "MODIFIED" && obj.metadata.deletionTimestamp) {
      finishNamespace(store, obj);
    }
    if (def.kind === "Node" && def.group === "" && type !== "DELETED") syncNodeTaints(store, obj);
    if (def.kind === "Node" && def.group === "" && type === "DELETED" && opts.podGcOnNodeDelete) {
      collectPods(store, obj.metadata.name!);
    }
  });

  return () => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
  };
}

// Establishing synchronously keeps "apply CRD, then create a resource" race-free for
// clients, which is what kubectl users observe within a few milliseconds on a real server.
function queueMicrotaskOrNow(f: () => void): void {
  f();
}

function removeInstances(store: KubeStore, key: string): void {
  const def = store.resolve(key);
  if (!def) return;
  for (const e of [...store.entries(def)]) {
    const ns = e.obj.metadata.namespace;
    const name = e.obj.metadata.name!;
    store.delete(def, ns, name);
    const left = store.peek(def, ns, name);
    if (left) {
      store.updateFrom(def, left, { ...left, metadata: { ...left.metadata, finalizers: [] } });
    }
  }
}

function collectPods(store: KubeStore, node: string): void {
  const pods = store.resolve("pods")!;
  const bound = [...store.entries(pods)].filter((e) => e.obj.spec?.nodeName === node);
  for (const e of bound) {
    store.delete(pods, e.obj.metadata.namespace, e.obj.metadata.name!, { gracePeriodSeconds: 0 });
  }
}

/**
 * The token cleaner (kube-controller-manager's tokencleaner): deletes kube-system bootstrap-token
 * Secrets whose `expiration` has passed. Run lazily whenever Secrets are read, so no timer outlives
 * the store.
 */
export function cleanExpiredTokens(store: KubeStore): void {
  const secrets = store.resolve("secrets")!;
  const now = store.now();
  for (const e of [...store.entries(secrets, "kube-system")]) {
    if (e.obj.type !== "bootstrap.kubernetes.io/token") continue;
    const raw = e.obj.data?.expiration;
    if (typeof raw !== "string") continue;
    let when: number;
    try {
      when = Date.parse(atob(raw));
    } catch {
      continue;
    }
    if (!Number.isNaN(when) && when < now) {
      store.delete(secrets, "kube-system", e.obj.metadata.name!);
    }
  }
}

function finishNamespace(store: KubeStore, ns: KObj): void {
  const name = ns.metadata.name!;
  for (const def of store.resources()) {
    if (!def.namespaced) continue;
    for (const e of [...store.entries(def, name)]) {
      store.delete(def, name, e.obj.metadata.name!, { gracePeriodSeconds: 0 });
      const left = store.peek(def, name, e.obj.metadata.name!);
      if (left?.metadata.finalizers?.length) {
        store.updateFrom(def, left, { ...left, metadata: { ...left.metadata, finalizers: [] } });
      }
    }
  }
  store.finishDeletion("namespaces", undefined, name);
}

/**
 * The node-lifecycle controller's taints: `unschedulable:NoSchedule` while cordoned,
 * `not-ready` (Ready=False) or `unreachable` (Ready=Unknown) as NoSchedule and NoExecute.
 * Nodes without a Ready condition are left alone.
 */
function syncNodeTaints(store: KubeStore, node: KObj): void {
  const taints: Json[] = node.spec?.taints ?? [];
  const ready = (node.status?.conditions ?? []).find((c: Json) => c?.type === "Ready")?.status;
  const want: { key: string; effect: string }[] = [];
  if (node.spec?.unschedulable === true) {
    want.push({ key: UNSCHEDULABLE_TAINT, effect: "NoSchedule" });
  }
  const lifecycle = ready === "False"
    ? NOT_READY_TAINT
    : ready === "Unknown"
    ? UNREACHABLE_TAINT
    : undefined;
  if (lifecycle) {
    want.push({ key: lifecycle, effect: "NoSchedule" }, { key: lifecycle, effect: "NoExecute" });
  }
  const managed = (t: Json) => CONTROLLER_TAINTS.has(t?.key);
  const same = (a: Json, b: { key: string; effect: string }) =>
    a?.key === b.key && a?.effect === b.effect;
  const kept = taints.filter((t) => !managed(t) || want.some((w) => same(t, w)));
  const added = want.filter((w) => !taints.some((t) => same(t, w)))
    .map((w) => ({ ...w, timeAdded: formatTime(store.now()) }));
  if (kept.length === taints.length && added.length === 0) return;
  const next = [...kept, ...added];
  const spec = { ...node.spec };
  if (next.length) spec.taints = next;
  else delete spec.taints;
  store.updateFrom(store.resolve("nodes")!, node, { ...node, spec });
}
