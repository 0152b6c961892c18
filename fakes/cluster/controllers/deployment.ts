/**
 * The Deployment controller: one ReplicaSet per pod template, named `<deploy>-<hash>` with the
 * `pod-template-hash` label on its selector, template and itself, and the
 * `deployment.kubernetes.io/revision` annotation (highest for the current template).
 * RollingUpdate scales the new ReplicaSet up within maxSurge and old ones down while keeping
 * `replicas - maxUnavailable` available (both 25% by default, surge rounded up, unavailable
 * down, and unavailable 1 when both are 0); Recreate scales old ones to 0 and waits for their
 * pods to go before scaling the new one up. The Deployment carries its current revision too. Paused Deployments only scale. Old ReplicaSets
 * beyond revisionHistoryLimit are deleted. Status sums the ReplicaSets' counts and carries the
 * Available and Progressing conditions.
 *
 * May import: fakes/fake_kube/, ./runtime.ts.
 */
import { canonicalJson, type Json } from "../../fake_kube/patch.ts";
import { formatTime, type KObj } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import {
  type Controller,
  isActivePod,
  keyOf,
  ownedBy,
  ownerKeys,
  ownerRefTo,
  splitKey,
  timeOf,
  writeStatus,
} from "./runtime.ts";

const NAME = "deployment";
const HASH_LABEL = "pod-template-hash";
const REVISION = "deployment.kubernetes.io/revision";
const RS = "replicasets.apps";
const DEPLOY = "deployments.apps";

/** The Deployment controller over `store`. */
export function deploymentController(store: KubeStore): Controller {
  const def = store.resolve(DEPLOY)!;
  return {
    name: NAME,
    watches: [
      { ref: DEPLOY, keys: (o) => [keyOf(o)] },
      { ref: RS, keys: ownerKeys("Deployment") },
    ],
    all: () => [...store.entries(def)].map((e) => keyOf(e.obj)),
    sync: (key) => syncDeployment(store, key),
  };
}

/** kube's encoding of a hash: each decimal digit mapped into a vowel-free alphabet. */
export function templateHash(template: Json, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const text = canonicalJson(template) + (collisionCount ? String(collisionCount) : "");
  for (const b of new TextEncoder().encode(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const chars = "bcdfghjklmnpqrstvwxz2456789";
  return [...String(h)].map((c) => chars[c.charCodeAt(0) % chars.length]).join("");
}

/** maxSurge/maxUnavailable: an int, or a percentage of `total` rounded up or down. */
export function resolveIntOrPercent(v: Json, total: number, roundUp: boolean): number {
  if (typeof v === "number") return v;
  const m = typeof v === "string" ? v.match(/^(\d+)%$/) : null;
  if (!m) return Number(v) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

function withoutHash(template: Json): Json {
  const t = structuredClone(template ?? {});
  if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
  return t;
}

const replicasOf = (rs: KObj) => rs.spec?.replicas ?? 0;
const available = (rs: KObj) => rs.status?.availableReplicas ?? 0;
const revisionOf = (rs: KObj) => Number(rs.metadata.annotations?.[REVISION] ?? 0);

function scale(store: KubeStore, rs: KObj, replicas: number, d: KObj): void {
  if (replicasOf(rs) === replicas) return;
  const annotations = {
    ...(rs.metadata.annotations ?? {}),
    "deployment.kubernetes.io/desired-replicas": String(d.spec?.replicas ?? 1),
    "deployment.kubernetes.io/max-replicas": String(
      (d.spec?.replicas ?? 1) + maxSurgeOf(d),
    ),
  };
  store.patch(RS, rs.metadata.namespace, rs.metadata.name!, "merge", {
    metadata: { annotations },
    spec: { replicas },
  }, { fieldManager: "kube-controller-manager" });
}

function maxSurgeOf(d: KObj): number {
  if (d.spec?.strategy?.type === "Recreate") return 0;
  return resolveIntOrPercent(
    d.spec?.strategy?.rollingUpdate?.maxSurge ?? "25%",
    d.spec?.replicas ?? 1,
    true,
  );
}

function syncDeployment(store: KubeStore, key: string): void {
  const { namespace, name } = splitKey(key);
  const d = store.peek(DEPLOY, namespace, name);
  if (!d || d.metadata.deletionTimestamp || !namespace) return;
  const replicas = d.spec?.replicas ?? 1;
  const all = ownedBy(store, RS, namespace, d).filter((r) => !r.metadata.deletionTimestamp);
  const plain = canonicalJson(withoutHash(d.spec?.template));
  let newRs = all.find((r) => canonicalJson(withoutHash(r.spec?.template)) === plain);
  const old = all.filter((r) => r !== newRs);
  const maxOldRevision = Math.max(0, ...old.map(revisionOf));
  if (!newRs && !d.spec?.paused) {
    newRs = createNewRs(store, d, replicas, old);
  } else if (newRs && revisionOf(newRs) <= maxOldRevision) {
    // A rollback to an older template: it becomes the newest revision again.
    store.patch(RS, namespace, newRs.metadata.name!, "merge", {
      metadata: { annotations: { [REVISION]: String(maxOldRevision + 1) } },
    }, { fieldManager: "kube-controller-manager" });
  }
  if (newRs) {
    if (d.spec?.paused) scale(store, newRs, replicas, d);
    else if (d.spec?.strategy?.type === "Recreate") recreate(store, d, newRs, old);
    else rollingUpdate(store, d, newRs, old);
  }
  const revision = newRs
    ? store.peek(RS, namespace, newRs.metadata.name!)?.metadata.annotations?.[REVISION]
    : undefined;
  if (revision && d.metadata.annotations?.[REVISION] !== revision) {
    store.patch(DEPLOY, namespace, name, "merge", {
      metadata: { annotations: { [REVISION]: revision } },
    }, { fieldManager: "kube-controller-manager" });
  }
  cleanup(store, d, old);
  updateStatus(store, namespace, name, newRs?.metadata.name);
}

function createNewRs(store: KubeStore, d: KObj, replicas: number, old: KObj[]): KObj | undefined {
  const namespace = d.metadata.namespace!;
  const hash = templateHash(d.spec?.template, d.status?.collisionCount ?? 0);
  const template = structuredClone(d.spec?.template ?? {});
  template.metadata ??= {};
  template.metadata.labels = { ...(template.metadata.labels ?? {}), [HASH_LABEL]: hash };
  const selector = structuredClone(d.spec?.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
  const oldActive = old.some((r) => replicasOf(r) > 0);
  // With old pods still running, the rolling update decides how far the new one may go.
  const initial = oldActive ? 0 : replicas;
  const r = store.create(RS, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace,
      labels: template.metadata.labels,
      annotations: {
        [REVISION]: String(Math.max(0, ...old.map(revisionOf)) + 1),
        "deployment.kubernetes.io/desired-replicas": String(replicas),
        "deployment.kubernetes.io/max-replicas": String(replicas + maxSurgeOf(d)),
      },
      ownerReferences: [ownerRefTo(d, "apps/v1", "Deployment")],
    },
    spec: {
      replicas: initial,
      ...(d.spec?.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}),
      selector,
      template,
    },
  }, { namespace, fieldManager: "kube-controller-manager" });
  if (r.ok) return store.peek(RS, namespace, r.value.object.metadata.name!);
  // A same-named ReplicaSet with another template: kube bumps collisionCount and retries.
  const cur = store.peek(DEPLOY, namespace, d.metadata.name!);
  if (cur && r.error.code === 409) {
    writeStatus(store, DEPLOY, cur, {
      ...(cur.status ?? {}),
      collisionCount: (cur.status?.collisionCount ?? 0) + 1,
    });
  }
  return undefined;
}

function recreate(store: KubeStore, d: KObj, newRs: KObj, old: KObj[]): void {
  for (const r of old) scale(store, r, 0, d);
  const podsLeft = old.some((r) =>
    ownedBy(store, "pods", d.metadata.namespace!, r).some((p) =>
      isActivePod(p) || p.metadata.deletionTimestamp
    )
  );
  if (!podsLeft) scale(store, newRs, d.spec?.replicas ?? 1, d);
}

function rollingUpdate(store: KubeStore, d: KObj, newRs: KObj, old: KObj[]): void {
  const replicas = d.spec?.replicas ?? 1;
  const surge = maxSurgeOf(d);
  let unavailable = resolveIntOrPercent(
    d.spec?.strategy?.rollingUpdate?.maxUnavailable ?? "25%",
    replicas,
    false,
  );
  if (surge === 0 && unavailable === 0) unavailable = 1;
  const total = (rs: KObj[]) => rs.reduce((s, r) => s + replicasOf(r), 0);
  // Scale the new ReplicaSet up within the surge (or down to replicas).
  let newCount = replicasOf(newRs);
  if (newCount > replicas) newCount = replicas;
  else if (newCount < replicas) {
    const room = replicas + surge - total([newRs, ...old]);
    if (room > 0) newCount += Math.min(room, replicas - newCount);
  }
  scale(store, newRs, newCount, d);
  // Scale old ones down while keeping replicas - maxUnavailable available.
  let oldTotal = total(old);
  if (oldTotal === 0) return;
  const minAvailable = replicas - unavailable;
  const newUnavailable = newCount - available(newRs);
  let room = newCount + oldTotal - minAvailable - newUnavailable;
  if (room <= 0) return;
  const byAge = [...old].sort((a, b) =>
    timeOf(a.metadata.creationTimestamp) - timeOf(b.metadata.creationTimestamp)
  );
  const counts = new Map(byAge.map((r) => [r, replicasOf(r)]));
  // First the old pods that are not available anyway.
  for (const r of byAge) {
    if (room <= 0) break;
    const unhealthy = counts.get(r)! - available(r);
    if (unhealthy <= 0) continue;
    const cut = Math.min(unhealthy, room);
    counts.set(r, counts.get(r)! - cut);
    room -= cut;
    oldTotal -= cut;
  }
  // Then available ones, down to the minimum available.
  const availableNow = available(newRs) + byAge.reduce((s, r) => s + available(r), 0);
  let down = Math.min(availableNow - minAvailable, room);
  for (const r of byAge) {
    if (down <= 0) break;
    const cut = Math.min(counts.get(r)!, down);
    counts.set(r, counts.get(r)! - cut);
    down -= cut;
  }
  for (const [r, n] of counts) scale(store, r, n, d);
}

function cleanup(store: KubeStore, d: KObj, old: KObj[]): void {
  const limit = d.spec?.revisionHistoryLimit ?? 10;
  const idle = old.filter((r) =>
    replicasOf(r) === 0 && (r.status?.replicas ?? 0) === 0 && !r.metadata.deletionTimestamp
  ).sort((a, b) => revisionOf(a) - revisionOf(b));
  for (const r of idle.slice(0, Math.max(0, idle.length - limit))) {
    store.delete(RS, r.metadata.namespace, r.metadata.name!);
  }
}

function updateStatus(store: KubeStore, namespace: string, name: string, newName?: string): void {
  const d = store.peek(DEPLOY, namespace, name);
  if (!d) return;
  const all = ownedBy(store, RS, namespace, d);
  const newRs = all.find((r) => r.metadata.name === newName);
  const sum = (f: (r: KObj) => number) => all.reduce((s, r) => s + f(r), 0);
  const replicas = d.spec?.replicas ?? 1;
  const unavailableMax = d.spec?.strategy?.type === "Recreate" ? 0 : resolveIntOrPercent(
    d.spec?.strategy?.rollingUpdate?.maxUnavailable ?? "25%",
    replicas,
    false,
  );
  const availableReplicas = sum(available);
  const updated = newRs?.status?.replicas ?? 0;
  const now = formatTime(store.now());
  const prior = (type: string) => (d.status?.conditions ?? []).find((c: Json) => c.type === type);
  const condition = (type: string, status: string, reason: string, message: string) => {
    const p = prior(type);
    const same = p?.status === status;
    return {
      type,
      status,
      lastUpdateTime: same && p?.reason === reason ? p.lastUpdateTime : now,
      lastTransitionTime: same ? p.lastTransitionTime : now,
      reason,
      message,
    };
  };
  const isAvailable = availableReplicas >= replicas - unavailableMax;
  const complete = newRs && updated === replicas && (newRs.status?.availableReplicas ?? 0) ===
      replicas &&
    sum((r) => r.status?.replicas ?? 0) === replicas;
  const status: Json = {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: sum((r) => r.status?.replicas ?? 0),
    updatedReplicas: updated,
    readyReplicas: sum((r) => r.status?.readyReplicas ?? 0),
    availableReplicas,
    unavailableReplicas: Math.max(0, sum(replicasOf) - availableReplicas),
    conditions: [
      isAvailable
        ? condition(
          "Available",
          "True",
          "MinimumReplicasAvailable",
          "Deployment has minimum availability.",
        )
        : condition(
          "Available",
          "False",
          "MinimumReplicasUnavailable",
          "Deployment does not have minimum availability.",
        ),
      complete
        ? condition(
          "Progressing",
          "True",
          "NewReplicaSetAvailable",
          `ReplicaSet "${newName}" has successfully progressed.`,
        )
        : condition(
          "Progressing",
          "True",
          "ReplicaSetUpdated",
          `ReplicaSet "${newName ?? ""}" is progressing.`,
        ),
    ],
  };
  if (d.status?.collisionCount) status.collisionCount = d.status.collisionCount;
  for (const k of ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas"]) {
    if (status[k] === 0) delete status[k];
  }
  if (status.unavailableReplicas === 0) delete status.unavailableReplicas;
  writeStatus(store, DEPLOY, d, status);
}
