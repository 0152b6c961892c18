/**
 * The independent judge of "could this pod run?": the fake cluster's kube-scheduler filters
 * (written from Kubernetes' rules, never from proxscale's core) asked about the nodes that
 * exist now, and about one brand-new node of each VM size the pool's MachineTemplate offers on
 * each Proxmox host, carrying the labels a proxscale node gets and the DaemonSet pods that would
 * land on it. A pending pod no existing node and no such new node can take is one no autoscaler
 * could help; any other pending pod is one proxscale should have helped.
 *
 * May import: core/ (types), fakes/.
 */
import type { Config } from "../../core/model.ts";
import type { KObj } from "../../fakes/fake_kube/objects.ts";
import type { KubeStore } from "../../fakes/fake_kube/store.ts";
import { clusterState } from "../../fakes/cluster/scheduler/cluster_state.ts";
import { nodeVerdicts } from "../../fakes/cluster/scheduler/schedule_one.ts";
import {
  allocatableOf,
  allocatableQuantities,
  DEFAULT_RESERVATION,
  vmCapacity,
} from "../../fakes/cluster/kubelet/node_status.ts";

/** Where the oracle could put a pod: on a node that exists, on a new VM, or nowhere. */
export type Placeability = "existing" | "new-node" | "nowhere";

const ZONE = "topology.kubernetes.io/zone";
const HOSTNAME = "kubernetes.io/hostname";
const HOST = "proxscale.io/host";
const POOL = "proxscale.io/nodepool";

const items = (store: KubeStore, resource: string): KObj[] => {
  const r = store.list(resource);
  return r.ok ? r.value.items : [];
};

/** True for a pod that waits for the scheduler (unbound, not terminating, not finished). */
export function isPending(p: KObj): boolean {
  const phase = p.status?.phase;
  return !p.spec?.nodeName && !p.metadata.deletionTimestamp && phase !== "Succeeded" &&
    phase !== "Failed";
}

/** "namespace/name" of an object. */
export const keyOf = (o: KObj): string => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** The new nodes one launch could add: each shape of the pool's template on each host. */
function hypotheticalNodes(config: Config, existing: readonly KObj[]): KObj[] {
  const pool = config.nodePools[0]!;
  const template = config.machineTemplates.find((t) => t.name === pool.machineTemplate)!;
  const provider = config.providers.find((p) => p.name === template.provider)!;
  const sample = existing.find((n) => n.metadata.labels?.[POOL] === pool.name);
  const out: KObj[] = [];
  for (const h of provider.hosts) {
    for (const s of template.shapes) {
      const name = `oracle-${h.name}-${s.name}`;
      const cap = vmCapacity(
        new Map([["cores", String(s.cpu / 1000)], ["memory", String(s.memory / 2 ** 20)]]),
      );
      const labels: Record<string, string> = {
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        ...pool.labels,
        ...template.labels,
        ...(sample?.metadata.labels ?? {}),
        [POOL]: pool.name,
        [HOSTNAME]: name,
        [ZONE]: h.zone ?? h.name,
        [HOST]: h.name,
      };
      delete labels["proxscale.io/nodeclaim"];
      out.push({
        apiVersion: "v1",
        kind: "Node",
        metadata: { name, labels },
        spec: {},
        status: { allocatable: allocatableQuantities(allocatableOf(cap, DEFAULT_RESERVATION)) },
      });
    }
  }
  return out;
}

/** The pods every DaemonSet would run on `node` (none of the generated ones select nodes). */
function daemonPods(daemonSets: readonly KObj[], node: string): KObj[] {
  return daemonSets.map((ds) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${ds.metadata.name}-${node}`,
      namespace: ds.metadata.namespace ?? "default",
      labels: ds.spec?.template?.metadata?.labels ?? {},
    },
    spec: { ...(ds.spec?.template?.spec ?? {}), nodeName: node },
    status: { phase: "Running" },
  }));
}

/** A judge over the store's current objects (take a new one whenever the cluster changed). */
export function placeabilityJudge(store: KubeStore, config: Config): (pod: KObj) => Placeability {
  const nodes = items(store, "nodes");
  const pods = items(store, "pods");
  const rest = {
    namespaces: items(store, "namespaces"),
    pvcs: items(store, "persistentvolumeclaims"),
    pvs: items(store, "persistentvolumes"),
    storageClasses: items(store, "storageclasses.storage.k8s.io"),
  };
  const daemonSets = items(store, "daemonsets.apps");
  const now = clusterState({ nodes, pods, ...rest });
  const fresh = hypotheticalNodes(config, nodes).map((n) => ({
    name: n.metadata.name!,
    state: clusterState({
      nodes: [...nodes, n],
      pods: [...pods, ...daemonPods(daemonSets, n.metadata.name!)],
      ...rest,
    }),
  }));
  const fits = (pod: KObj, state: typeof now, only?: string): boolean => {
    const v = nodeVerdicts(pod, state);
    if (v.preFilter !== undefined) return false;
    for (const [name, reasons] of v.byNode) {
      if ((only === undefined || name === only) && reasons.length === 0) return true;
    }
    return false;
  };
  return (pod) => {
    if (fits(pod, now)) return "existing";
    return fresh.some((f) => fits(pod, f.state, f.name)) ? "new-node" : "nowhere";
  };
}

/** Pending pods now, each with the oracle's verdict. */
export function pendingVerdicts(
  store: KubeStore,
  config: Config,
): { pod: KObj; verdict: Placeability }[] {
  const judge = placeabilityJudge(store, config);
  return items(store, "pods").filter(isPending).map((pod) => ({ pod, verdict: judge(pod) }));
}
