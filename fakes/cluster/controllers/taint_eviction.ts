/**
 * The taint eviction controller (kube's NoExecute taint manager): a pod bound to a node with
 * a NoExecute taint it does not tolerate is deleted at once; one that tolerates every such
 * taint but with tolerationSeconds is deleted that many seconds after the taints were first
 * seen (the smallest of the matching tolerations' seconds; zero or negative means now);
 * tolerations without seconds keep the pod for ever. Before deleting, the pod gets the
 * DisruptionTarget condition (reason DeletionByTaintManager). PodDisruptionBudgets do not
 * apply: this is a delete, not an eviction.
 *
 * May import: fakes/fake_kube/, ./runtime.ts, ./node_match.ts.
 */
import { formatTime, type KObj } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { tolerationMatches } from "./node_match.ts";
import { type Controller, keyOf, type Loop, splitKey } from "./runtime.ts";

const NAME = "taint-eviction";

const noExecuteTaints = (node: KObj | undefined): Json[] =>
  (node?.spec?.taints ?? []).filter((t: Json) => t?.effect === "NoExecute");

const taintId = (node: string, t: Json) => `${node}|${t.key}|${t.value ?? ""}`;

/** The taint eviction controller over `store`. */
export function taintEvictionController(store: KubeStore): Controller {
  const nodes = store.resolve("nodes")!;
  const pods = store.resolve("pods")!;
  /** When each NoExecute taint was first seen (epoch ms). */
  const seen = new Map<string, number>();
  const podsOn = (names: Set<string>) => {
    const out: string[] = [];
    for (const e of store.entries(pods)) {
      if (names.has(e.obj.spec?.nodeName)) out.push(`pod:${keyOf(e.obj)}`);
    }
    return out;
  };
  return {
    name: NAME,
    watches: [
      { ref: "nodes", keys: (o) => [`node:${o.metadata.name}`] },
      { ref: "pods", keys: (o) => (o.spec?.nodeName ? [`pod:${keyOf(o)}`] : []) },
    ],
    all: () => {
      const tainted = new Set<string>();
      for (const e of store.entries(nodes)) {
        if (noExecuteTaints(e.obj).length) tainted.add(e.obj.metadata.name!);
      }
      return tainted.size ? podsOn(tainted) : [];
    },
    sync: (key, loop) => {
      if (key.startsWith("node:")) {
        const name = key.slice(5);
        const taints = noExecuteTaints(store.peek("nodes", undefined, name));
        const now = store.now();
        const current = new Set(taints.map((t) => taintId(name, t)));
        for (const id of [...seen.keys()]) {
          if (id.startsWith(`${name}|`) && !current.has(id)) seen.delete(id);
        }
        for (const id of current) if (!seen.has(id)) seen.set(id, now);
        if (taints.length) { for (const k of podsOn(new Set([name]))) loop.enqueue(NAME, k); }
      } else syncPod(store, key.slice(4), seen, loop);
    },
  };
}

/** Seconds a pod may stay under these taints: 0 now, Infinity for ever. */
export function tolerationSecondsFor(tolerations: Json[], taints: Json[]): number {
  let min = Infinity;
  for (const taint of taints) {
    const t = tolerations.find((x) => tolerationMatches(x, taint));
    if (!t) return 0;
    if (typeof t.tolerationSeconds === "number") {
      min = Math.min(min, Math.max(0, t.tolerationSeconds));
    }
  }
  return min;
}

function syncPod(store: KubeStore, key: string, seen: Map<string, number>, loop: Loop): void {
  const { namespace, name } = splitKey(key);
  const pod = store.peek("pods", namespace, name);
  if (!pod || pod.metadata.deletionTimestamp || !pod.spec?.nodeName) return;
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return;
  const node = pod.spec.nodeName;
  const taints = noExecuteTaints(store.peek("nodes", undefined, node));
  if (!taints.length) return;
  const seconds = tolerationSecondsFor(pod.spec?.tolerations ?? [], taints);
  if (seconds === Infinity) return;
  const now = store.now();
  const since = Math.max(
    ...taints.map((t) => {
      const id = taintId(node, t);
      if (!seen.has(id)) seen.set(id, now);
      return seen.get(id)!;
    }),
  );
  const due = since + seconds * 1000;
  if (due > now) {
    loop.after(NAME, `pod:${key}`, due - now);
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
    reason: "DeletionByTaintManager",
    message: "Taint manager: deleting due to NoExecute taint",
  });
  store.update("pods", { ...structuredClone(pod), status: { ...pod.status, conditions } }, {
    subresource: "status",
    namespace: namespace!,
    fieldManager: "kube-controller-manager",
  });
  store.delete("pods", namespace, name);
}
