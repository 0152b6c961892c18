/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods matching the selector, owned by
 * the ReplicaSet (controller ownerReference), named `<rs>-<5 random chars>`. Orphan pods that
 * match are adopted; terminating or finished pods do not count, so an evicted or deleted pod is
 * replaced at once. Extra pods are deleted in kube's order: unscheduled first, then pending
 * before running, not ready before ready, newest first. Status counts replicas, fully
 * labelled, ready and available pods.
 *
 * May import: fakes/fake_kube/, ./runtime.ts.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";
import { matchLabelSelector } from "../../fake_kube/selectors.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import {
  type Controller,
  controllerRef,
  isActivePod,
  isPodAvailable,
  isPodReady,
  keyOf,
  ownerKeys,
  ownerRefTo,
  podFromTemplate,
  splitKey,
  suffix,
  timeOf,
  writeStatus,
} from "./runtime.ts";

const NAME = "replicaset";
/** Pods created per sync at most (kube's burstReplicas). */
const BURST = 500;

/** The ReplicaSet controller over `store`; names draw on `random`. */
export function replicaSetController(store: KubeStore, random: () => number): Controller {
  const rsDef = store.resolve("replicasets.apps")!;
  return {
    name: NAME,
    watches: [
      { ref: "replicasets.apps", keys: (o) => [keyOf(o)] },
      { ref: "pods", keys: ownerKeys("ReplicaSet") },
    ],
    all: () => [...store.entries(rsDef)].map((e) => keyOf(e.obj)),
    sync: (key, loop) => {
      const wait = syncReplicaSet(store, key, random);
      if (wait !== undefined) loop.after(NAME, key, wait);
    },
  };
}

/** Deletion preference: lower sorts first (deleted first). */
function deletionRank(a: KObj, b: KObj): number {
  const assigned = (p: KObj) => (p.spec?.nodeName ? 1 : 0);
  const phase = (p: KObj) => ({ Pending: 0, Unknown: 1, Running: 2 } as Json)[p.status?.phase] ?? 0;
  const ready = (p: KObj) => (isPodReady(p) ? 1 : 0);
  return assigned(a) - assigned(b) || phase(a) - phase(b) || ready(a) - ready(b) ||
    timeOf(b.metadata.creationTimestamp) - timeOf(a.metadata.creationTimestamp) ||
    (b.metadata.name! < a.metadata.name! ? -1 : 1);
}

/** Syncs one ReplicaSet; returns ms until a ready pod becomes available, if one will. */
function syncReplicaSet(store: KubeStore, key: string, random: () => number): number | undefined {
  const { namespace, name } = splitKey(key);
  const rs = store.peek("replicasets.apps", namespace, name);
  if (!rs || rs.metadata.deletionTimestamp || !namespace) return undefined;
  const selector = rs.spec?.selector ?? {};
  const podsDef = store.resolve("pods")!;
  const mine: KObj[] = [];
  for (const e of [...store.entries(podsDef, namespace)]) {
    const p = e.obj;
    const ref = controllerRef(p);
    if (ref?.uid === rs.metadata.uid) {
      mine.push(p);
    } else if (
      !ref && !p.metadata.deletionTimestamp && matchLabelSelector(selector, p.metadata.labels)
    ) {
      // Adoption: an orphan matching the selector becomes ours.
      const refs = [...(p.metadata.ownerReferences ?? []), ownerRefTo(rs, "apps/v1", "ReplicaSet")];
      const r = store.patch("pods", namespace, p.metadata.name!, "merge", {
        metadata: { ownerReferences: refs, resourceVersion: p.metadata.resourceVersion },
      }, { fieldManager: "kube-controller-manager" });
      if (r.ok) mine.push(r.value.object);
    }
  }
  let active = mine.filter(isActivePod);
  const want = Math.max(0, rs.spec?.replicas ?? 1);
  if (active.length < want) {
    const owner = ownerRefTo(rs, "apps/v1", "ReplicaSet");
    const n = Math.min(BURST, want - active.length);
    for (let i = 0; i < n; i++) {
      const pod = podFromTemplate(rs.spec?.template, namespace, owner, {
        name: `${name}-${suffix(random)}`,
      });
      store.create("pods", pod, { namespace, fieldManager: "kube-controller-manager" });
    }
  } else if (active.length > want) {
    const doomed = [...active].sort(deletionRank).slice(0, active.length - want);
    for (const p of doomed) store.delete("pods", namespace, p.metadata.name!);
    // Status counts what remains, so the Deployment never sees deleted pods as available.
    active = active.filter((p) => !doomed.includes(p));
  }
  const now = store.now();
  const minReady = rs.spec?.minReadySeconds ?? 0;
  const tmplLabels: Record<string, string> = rs.spec?.template?.metadata?.labels ?? {};
  const status: Json = {
    replicas: active.length,
    fullyLabeledReplicas:
      active.filter((p) =>
        Object.entries(tmplLabels).every(([k, v]) => p.metadata.labels?.[k] === v)
      ).length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((p) => isPodAvailable(p, minReady, now)).length,
    observedGeneration: rs.metadata.generation ?? 1,
  };
  // Go omits zero counts (omitempty), except replicas.
  for (const k of ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"]) {
    if (status[k] === 0) delete status[k];
  }
  const cur = store.peek("replicasets.apps", namespace, name);
  if (cur) writeStatus(store, "replicasets.apps", cur, status);
  const pendingAvailable = minReady > 0 &&
    active.some((p) => isPodReady(p) && !isPodAvailable(p, minReady, now));
  return pendingAvailable ? 200 : undefined;
}
