/**
 * The StatefulSet controller: pods `<sts>-0 … <sts>-(N-1)` with stable identities (hostname,
 * subdomain = serviceName, the `statefulset.kubernetes.io/pod-name` and
 * `apps.kubernetes.io/pod-index` labels). Each volumeClaimTemplate becomes a PVC
 * `<template>-<sts>-<i>` created before its pod and mounted as the template's volume; PVCs are
 * kept when the set scales down (retention policy Retain), or deleted with policy Delete.
 * OrderedReady (the default) creates pod i only once pods 0..i-1 are Running and Ready and
 * removes the highest ordinal first, one at a time; Parallel does all at once. Failed pods are
 * deleted and recreated. A changed template is rolled out from the highest ordinal down (pods
 * whose `controller-revision-hash` differs are deleted one at a time once the rest are ready).
 *
 * May import: fakes/fake_kube/, ./runtime.ts.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { templateHash } from "./deployment.ts";
import {
  type Controller,
  isPodAvailable,
  isPodReady,
  keyOf,
  ownedBy,
  ownerKeys,
  ownerRefTo,
  podFromTemplate,
  splitKey,
  writeStatus,
} from "./runtime.ts";

const NAME = "statefulset";
const STS = "statefulsets.apps";
const REVISION_LABEL = "controller-revision-hash";

/** The StatefulSet controller over `store`. */
export function statefulSetController(store: KubeStore): Controller {
  const def = store.resolve(STS)!;
  return {
    name: NAME,
    watches: [
      { ref: STS, keys: (o) => [keyOf(o)] },
      { ref: "pods", keys: ownerKeys("StatefulSet") },
    ],
    all: () => [...store.entries(def)].map((e) => keyOf(e.obj)),
    sync: (key) => syncStatefulSet(store, key),
  };
}

/** Name of the claim for template `claim` of pod ordinal `i`. */
export function claimName(claim: string, sts: string, i: number): string {
  return `${claim}-${sts}-${i}`;
}

function ordinalOf(sts: string, pod: string): number {
  const m = pod.match(/-(\d+)$/);
  return m && pod === `${sts}-${m[1]}` ? Number(m[1]) : -1;
}

const runningAndReady = (p: KObj) => p.status?.phase === "Running" && isPodReady(p);

function ensureClaims(store: KubeStore, sts: KObj, i: number): void {
  const namespace = sts.metadata.namespace!;
  const name = sts.metadata.name!;
  for (const t of sts.spec?.volumeClaimTemplates ?? []) {
    const claim = claimName(t.metadata?.name, name, i);
    if (store.peek("persistentvolumeclaims", namespace, claim)) continue;
    const labels = {
      ...(t.metadata?.labels ?? {}),
      ...(sts.spec?.selector?.matchLabels ?? {}),
    };
    const metadata: Json = { name: claim, namespace, labels };
    if (t.metadata?.annotations) metadata.annotations = t.metadata.annotations;
    if (sts.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === "Delete") {
      metadata.ownerReferences = [{
        ...ownerRefTo(sts, "apps/v1", "StatefulSet"),
        controller: true,
      }];
    }
    store.create("persistentvolumeclaims", {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata,
      spec: structuredClone(t.spec ?? {}),
    }, { namespace, fieldManager: "kube-controller-manager" });
  }
}

function newPod(sts: KObj, i: number, revision: string): KObj {
  const namespace = sts.metadata.namespace!;
  const name = `${sts.metadata.name}-${i}`;
  const pod = podFromTemplate(
    sts.spec?.template,
    namespace,
    ownerRefTo(sts, "apps/v1", "StatefulSet"),
    {
      name,
      labels: {
        "statefulset.kubernetes.io/pod-name": name,
        "apps.kubernetes.io/pod-index": String(i),
        [REVISION_LABEL]: revision,
      },
    },
  );
  pod.spec.hostname = name;
  if (sts.spec?.serviceName) pod.spec.subdomain = sts.spec.serviceName;
  const templates: Json[] = sts.spec?.volumeClaimTemplates ?? [];
  const volumes: Json[] = (pod.spec.volumes ?? []).filter((v: Json) =>
    !templates.some((t) => t.metadata?.name === v?.name)
  );
  for (const t of templates) {
    volumes.push({
      name: t.metadata?.name,
      persistentVolumeClaim: { claimName: claimName(t.metadata?.name, sts.metadata.name!, i) },
    });
  }
  if (volumes.length) pod.spec.volumes = volumes;
  return pod;
}

function syncStatefulSet(store: KubeStore, key: string): void {
  const { namespace, name } = splitKey(key);
  const sts = store.peek(STS, namespace, name);
  if (!sts || sts.metadata.deletionTimestamp || !namespace) return;
  const replicas = Math.max(0, sts.spec?.replicas ?? 1);
  const ordered = sts.spec?.podManagementPolicy !== "Parallel";
  const revision = `${name}-${templateHash(sts.spec?.template)}`;
  const pods = new Map<number, KObj>();
  for (const p of ownedBy(store, "pods", namespace, sts)) {
    const i = ordinalOf(name, p.metadata.name!);
    if (i >= 0) pods.set(i, p);
  }
  let blocked = false;
  for (let i = 0; i < replicas && !blocked; i++) {
    const p = pods.get(i);
    if (!p) {
      ensureClaims(store, sts, i);
      store.create("pods", newPod(sts, i, revision), {
        namespace,
        fieldManager: "kube-controller-manager",
      });
      if (ordered) blocked = true;
      continue;
    }
    if (p.metadata.deletionTimestamp) {
      if (ordered) blocked = true;
      continue;
    }
    if (p.status?.phase === "Failed") {
      store.delete("pods", namespace, p.metadata.name!);
      if (ordered) blocked = true;
      continue;
    }
    if (ordered && !runningAndReady(p)) blocked = true;
  }
  // Scale down: highest ordinal first; OrderedReady waits for the rest to be ready.
  const extra = [...pods.entries()].filter(([i, p]) =>
    i >= replicas && !p.metadata.deletionTimestamp
  )
    .sort((a, b) => b[0] - a[0]);
  const terminating = [...pods.values()].some((p) => p.metadata.deletionTimestamp);
  const allReady = [...pods.entries()].filter(([i]) => i < replicas).every(([, p]) =>
    runningAndReady(p)
  );
  if (extra.length && (!ordered || (!terminating && allReady))) {
    for (const [i, p] of ordered ? extra.slice(0, 1) : extra) {
      store.delete("pods", namespace, p.metadata.name!);
      if (sts.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === "Delete") {
        for (const t of sts.spec?.volumeClaimTemplates ?? []) {
          store.delete("persistentvolumeclaims", namespace, claimName(t.metadata?.name, name, i));
        }
      }
    }
  }
  // Rolling update: the highest outdated ordinal goes once every other pod is ready.
  if (sts.spec?.updateStrategy?.type !== "OnDelete" && !terminating && allReady) {
    const partition = sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    const stale = [...pods.entries()].filter(([i, p]) =>
      i < replicas && i >= partition && p.metadata.labels?.[REVISION_LABEL] !== revision
    ).sort((a, b) => b[0] - a[0]);
    if (stale.length) store.delete("pods", namespace, stale[0]![1].metadata.name!);
  }
  const live = [...pods.values()].filter((p) => !p.metadata.deletionTimestamp);
  const now = store.now();
  const status: Json = {
    observedGeneration: sts.metadata.generation ?? 1,
    replicas: live.length,
    readyReplicas: live.filter(isPodReady).length,
    currentReplicas: live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === revision).length,
    updatedReplicas: live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === revision).length,
    availableReplicas: live.filter((p) => isPodAvailable(p, sts.spec?.minReadySeconds ?? 0, now))
      .length,
    currentRevision: revision,
    updateRevision: revision,
    collisionCount: 0,
  };
  for (const k of ["readyReplicas", "currentReplicas", "updatedReplicas"]) {
    if (status[k] === 0) delete status[k];
  }
  const cur = store.peek(STS, namespace, name);
  if (cur) writeStatus(store, STS, cur, status);
}
