/**
 * The pod garbage collector's orphan rule: a pod bound to a node that does not exist (the
 * Node was deleted) is force-deleted (grace 0, with the DisruptionTarget condition, reason
 * DeletionByPodGC) once the node has been missing for the quarantine time, so that its
 * controller can replace it. kube uses a fixed 40 s quarantine; here it is the node monitor
 * grace period, whose default is the same 40 s.
 *
 * May import: fakes/fake_kube/, ./runtime.ts.
 */
import { formatTime } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { type Controller, keyOf, type Loop, splitKey } from "./runtime.ts";

const NAME = "pod-gc";

/** The orphaned-pod collector over `store`; `quarantineMs` after a node went missing. */
export function podGcController(store: KubeStore, quarantineMs: number): Controller {
  const pods = store.resolve("pods")!;
  /** When each missing node was first found missing (epoch ms). */
  const missingSince = new Map<string, number>();
  const orphans = () => {
    const out: string[] = [];
    for (const e of store.entries(pods)) {
      const n = e.obj.spec?.nodeName;
      if (n && !store.peek("nodes", undefined, n)) out.push(keyOf(e.obj));
    }
    return out;
  };
  return {
    name: NAME,
    watches: [
      { ref: "pods", keys: (o) => (o.spec?.nodeName ? [keyOf(o)] : []) },
      {
        ref: "nodes",
        keys: (o) => {
          if (store.peek("nodes", undefined, o.metadata.name!)) return [];
          const out: string[] = [];
          for (const e of store.entries(pods)) {
            if (e.obj.spec?.nodeName === o.metadata.name) out.push(keyOf(e.obj));
          }
          return out;
        },
      },
    ],
    all: () => {
      const keys = orphans();
      for (const n of [...missingSince.keys()]) {
        if (store.peek("nodes", undefined, n)) missingSince.delete(n);
      }
      return keys;
    },
    sync: (key, loop) => syncPod(store, key, quarantineMs, missingSince, loop),
  };
}

function syncPod(
  store: KubeStore,
  key: string,
  quarantineMs: number,
  missingSince: Map<string, number>,
  loop: Loop,
): void {
  const { namespace, name } = splitKey(key);
  const pod = store.peek("pods", namespace, name);
  const node = pod?.spec?.nodeName;
  if (!pod || !node) return;
  if (store.peek("nodes", undefined, node)) {
    missingSince.delete(node);
    return;
  }
  const now = store.now();
  if (!missingSince.has(node)) missingSince.set(node, now);
  const due = missingSince.get(node)! + quarantineMs;
  if (due > now) {
    loop.after(NAME, key, due - now);
    return;
  }
  const conditions: Json[] = (pod.status?.conditions ?? []).filter((c: Json) =>
    c?.type !== "DisruptionTarget"
  );
  conditions.push({
    type: "DisruptionTarget",
    status: "True",
    lastProbeTime: null,
    lastTransitionTime: formatTime(now),
    reason: "DeletionByPodGC",
    message: "PodGC: node no longer exists",
  });
  store.update("pods", { ...structuredClone(pod), status: { ...pod.status, conditions } }, {
    subresource: "status",
    namespace: namespace!,
    fieldManager: "kube-controller-manager",
  });
  store.delete("pods", namespace, name, { gracePeriodSeconds: 0 });
}
