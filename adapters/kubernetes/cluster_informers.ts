/**
 * The informer factory: one self-healing informer per kind the core reads (Pods, Nodes,
 * PodDisruptionBudgets, NodeClaims, DaemonSets, PersistentVolumeClaims, PersistentVolumes,
 * StorageClasses), each translating to core/model.ts types at the boundary,
 * and a `snapshot()` that hands the core plain arrays.
 */
import type {
  Node,
  NodeClaim,
  PersistentVolume,
  Pod,
  PodDisruptionBudget,
  StorageClass,
  VolumeClaim,
} from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type { Backoff } from "./backoff.ts";
import type { KubeClient } from "./client.ts";
import { Informer } from "./informer.ts";
import { Interner, internPod } from "./intern.ts";
import type { Log } from "./log.ts";
import { nodeClaimFromKube, nodeFromKube, pdbFromKube, podFromKube } from "./translate.ts";
import {
  daemonSetFromKube,
  persistentVolumeFromKube,
  storageClassFromKube,
  volumeClaimFromKube,
} from "./translate_workloads.ts";

export type ClusterInformerOptions = {
  log?: Log;
  backoff?: Backoff;
  watchdogMs?: number;
  random?: () => number;
  now?: () => number;
};

/** The caches the daemon builds its Snapshot from. */
export type ClusterInformers = {
  pods: Informer<Pod>;
  nodes: Informer<Node>;
  pdbs: Informer<PodDisruptionBudget>;
  nodeClaims: Informer<NodeClaim>;
  /** DaemonSets as the pod each matching node runs (per-node overhead of a new VM). */
  daemonSets: Informer<Pod>;
  persistentVolumeClaims: Informer<VolumeClaim>;
  persistentVolumes: Informer<PersistentVolume>;
  storageClasses: Informer<StorageClass>;
  /** Namespaces as name and labels, for Tenants that select namespaces by label. */
  namespaces: Informer<NamespaceLabels>;
  /** Starts all of them; returns at once. */
  start(): void;
  /** Resolves when every informer has completed its first list. */
  synced(): Promise<void>;
  /** Whether every informer has listed at least once (the daemon must not decide before). */
  hasSynced(): boolean;
  stop(): Promise<void>;
  /** Current contents as plain arrays for core.reconcile's Snapshot. */
  snapshot(): {
    pods: Pod[];
    nodes: Node[];
    pdbs: PodDisruptionBudget[];
    nodeClaims: NodeClaim[];
    daemonSets: Pod[];
    volumeClaims: VolumeClaim[];
    volumes: PersistentVolume[];
    storageClasses: StorageClass[];
    namespaces: NamespaceLabels[];
  };
};

/** A Namespace as the core reads it: its name and labels. */
export type NamespaceLabels = { name: string; labels: Record<string, string> };

function namespaceFromKube(obj: unknown): Result<NamespaceLabels, string> {
  const m = (obj as { metadata?: { name?: unknown; labels?: unknown } })?.metadata;
  if (typeof m?.name !== "string") return err("namespace without a name");
  const labels: Record<string, string> = {};
  if (m.labels && typeof m.labels === "object") {
    for (const [k, v] of Object.entries(m.labels)) if (typeof v === "string") labels[k] = v;
  }
  return ok({ name: m.name, labels });
}

/** Builds (does not start) the informers for one cluster. */
export function createClusterInformers(
  client: KubeClient,
  opts: ClusterInformerOptions = {},
): ClusterInformers {
  const common = {
    client,
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    ...(opts.watchdogMs !== undefined ? { watchdogMs: opts.watchdogMs } : {}),
    ...(opts.random ? { random: opts.random } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  };
  // Replicas repeat their namespace, labels, requests and tolerations: the cache shares them.
  const interner = new Interner();
  const pods = new Informer<Pod>({
    ...common,
    path: "/api/v1/pods",
    resource: "pods",
    translate: (obj) => {
      const r = podFromKube(obj);
      return r.ok ? { ok: true, value: internPod(r.value, interner) } : r;
    },
  });
  const nodes = new Informer<Node>({
    ...common,
    path: "/api/v1/nodes",
    resource: "nodes",
    translate: nodeFromKube,
  });
  const pdbs = new Informer<PodDisruptionBudget>({
    ...common,
    path: "/apis/policy/v1/poddisruptionbudgets",
    resource: "poddisruptionbudgets",
    translate: pdbFromKube,
  });
  const nodeClaims = new Informer<NodeClaim>({
    ...common,
    path: "/apis/proxscale.io/v1alpha1/nodeclaims",
    resource: "nodeclaims",
    translate: nodeClaimFromKube,
  });
  // Kinds a minimal API server may not serve: a 404 list counts as an empty, synced cache.
  const daemonSets = new Informer<Pod>({
    ...common,
    path: "/apis/apps/v1/daemonsets",
    resource: "daemonsets",
    translate: daemonSetFromKube,
    optional: true,
  });
  const persistentVolumeClaims = new Informer<VolumeClaim>({
    ...common,
    path: "/api/v1/persistentvolumeclaims",
    resource: "persistentvolumeclaims",
    translate: volumeClaimFromKube,
    optional: true,
  });
  const persistentVolumes = new Informer<PersistentVolume>({
    ...common,
    path: "/api/v1/persistentvolumes",
    resource: "persistentvolumes",
    translate: persistentVolumeFromKube,
    optional: true,
  });
  const storageClasses = new Informer<StorageClass>({
    ...common,
    path: "/apis/storage.k8s.io/v1/storageclasses",
    resource: "storageclasses",
    translate: storageClassFromKube,
    optional: true,
  });
  // Read only for Tenants' namespace selectors; a cluster whose RBAC does not allow it has none.
  const namespaces = new Informer<NamespaceLabels>({
    ...common,
    path: "/api/v1/namespaces",
    resource: "namespaces",
    translate: namespaceFromKube,
    optional: true,
    forbiddenAsEmpty: true,
  });
  const all = [
    pods,
    nodes,
    pdbs,
    nodeClaims,
    daemonSets,
    persistentVolumeClaims,
    persistentVolumes,
    storageClasses,
    namespaces,
  ] as Informer<unknown>[];
  return {
    pods,
    nodes,
    pdbs,
    nodeClaims,
    daemonSets,
    persistentVolumeClaims,
    persistentVolumes,
    storageClasses,
    namespaces,
    start: () => all.forEach((i) => i.start()),
    synced: async () => {
      await Promise.all(all.map((i) => i.synced()));
    },
    hasSynced: () => all.every((i) => i.hasSynced),
    stop: async () => {
      await Promise.all(all.map((i) => i.stop()));
    },
    snapshot: () => ({
      pods: pods.list(),
      nodes: nodes.list(),
      pdbs: pdbs.list(),
      nodeClaims: nodeClaims.list(),
      daemonSets: daemonSets.list(),
      volumeClaims: persistentVolumeClaims.list(),
      volumes: persistentVolumes.list(),
      storageClasses: storageClasses.list(),
      namespaces: namespaces.list(),
    }),
  };
}
