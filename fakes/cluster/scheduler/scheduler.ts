/**
 * fakes/cluster/scheduler: the fake cluster's own kube-scheduler, written from Kubernetes'
 * documented behaviour and never from proxscale's code (it is the oracle proxscale is judged
 * by; tests/scheduler_differential_test.ts compares the two).
 *
 * `startScheduler(store, opts)` runs against a fake API server's in-process KubeStore. It
 * takes the pods with no spec.nodeName, no deletionTimestamp, a phase other than
 * Succeeded or Failed, and spec.schedulerName unset or equal to `opts.schedulerName`
 * (default "default-scheduler"), one at a time in creation order, each seeing the binds made
 * before it. For each pod it runs (schedule_one.ts):
 *
 * - pod-wide checks: the pod's PersistentVolumeClaims (volume_binding.ts);
 * - per-node filters in kube-scheduler's order, the first rejecting filter giving the node's
 *   reasons: NodeUnschedulable, TaintToleration, NodeAffinity (nodeSelector and required
 *   terms), NodePorts, NodeResourcesFit (cpu, memory, ephemeral-storage, hugepages-*, extended
 *   resources, overhead, init containers, pod count), VolumeBinding, PodTopologySpread,
 *   InterPodAffinity. Node conditions are not read: an unready node repels pods only through
 *   its node.kubernetes.io/not-ready or unreachable taints, as in a real cluster;
 * - a deterministic score over the nodes that passed (node_score.ts), ties to the first name.
 *
 * A pod that fits is bound through `store.bind` (the pods/binding subresource, so the API
 * server's own checks run); WaitForFirstConsumer claims it uses are first annotated
 * `volume.kubernetes.io/selected-node: <node>` for a provisioner. A pod that fits nowhere gets
 * PodScheduled=False, reason Unschedulable, with kube-scheduler's message (fit_message.ts), e.g.
 * "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {k: v}.
 * preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.", written
 * only when the message changed. A pass runs shortly after any change to nodes, pods,
 * namespaces, claims, volumes or storage classes, and every `retryMs` (default 1000).
 *
 * Not modelled: preemption (no pod is ever evicted to make room; the message's preemption part
 * always says it would not help), priority order (creation order only), scheduling gates,
 * nominated nodes, static PV matching and CSI capacity, waiting for
 * a provisioner to bind a WaitForFirstConsumer claim before binding the pod (it is bound at
 * once), inter-pod matchLabelKeys, the NodeAffinity pre-filter's node-name shortcut, image
 * locality, and the existing pods' preferred terms in the inter-pod affinity score.
 *
 * kube-scheduler's Events (FailedScheduling once per message, Scheduled) are written by
 * scheduler_events.ts.
 *
 * May import: fakes/fake_kube/ (the store and object types), fakes/cluster/quantity.ts. Never
 * core/: the oracle must not share the code it judges.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import { formatTime } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { bindInState, clusterState, isTerminal } from "./cluster_state.ts";
import { scheduleOne } from "./schedule_one.ts";
import { SELECTED_NODE_ANNOTATION } from "./volume_binding.ts";
import { schedulerEvent } from "./scheduler_events.ts";

/** How often unschedulable pods are retried (ms) and which schedulerName this one serves. */
export type SchedulerOptions = { retryMs?: number; schedulerName?: string };

const WATCHED = [
  "nodes",
  "pods",
  "namespaces",
  "persistentvolumeclaims",
  "persistentvolumes",
  "storageclasses.storage.k8s.io",
];

function read(store: KubeStore, ref: string): KObj[] {
  if (!store.resolve(ref)) return [];
  const r = store.listEntries(ref);
  return r.ok ? r.value.entries.map((e) => e.obj) : [];
}

/** Is this pod waiting for this scheduler? */
export function awaitsScheduling(pod: KObj, schedulerName = "default-scheduler"): boolean {
  return !pod.spec?.nodeName && !pod.metadata.deletionTimestamp && !isTerminal(pod) &&
    (pod.spec?.schedulerName || "default-scheduler") === schedulerName;
}

function creationOrder(a: KObj, b: KObj): number {
  const x = a.metadata.creationTimestamp ?? "", y = b.metadata.creationTimestamp ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
}

function markUnschedulable(
  store: KubeStore,
  pod: KObj,
  message: string,
  schedulerName: string,
): void {
  const conds: KObj[] = pod.status?.conditions ?? [];
  const prev = conds.find((c) => c?.type === "PodScheduled");
  if (prev?.status === "False" && prev.reason === "Unschedulable" && prev.message === message) {
    return;
  }
  const next = {
    type: "PodScheduled",
    status: "False",
    lastProbeTime: null,
    lastTransitionTime: prev?.status === "False" && prev.lastTransitionTime
      ? prev.lastTransitionTime
      : formatTime(store.now()),
    reason: "Unschedulable",
    message,
  };
  const conditions = [...conds.filter((c) => c?.type !== "PodScheduled"), next];
  store.patch("pods", pod.metadata.namespace, pod.metadata.name!, "merge", {
    status: { conditions },
  }, { subresource: "status" });
  schedulerEvent(store, pod, "Warning", "FailedScheduling", message, schedulerName);
}

/** One pass over every waiting pod; returns how many were bound. */
export function schedulePass(store: KubeStore, schedulerName = "default-scheduler"): number {
  const pods = read(store, "pods");
  const cluster = clusterState({
    nodes: read(store, "nodes"),
    pods,
    namespaces: read(store, "namespaces"),
    pvcs: read(store, "persistentvolumeclaims"),
    pvs: read(store, "persistentvolumes"),
    storageClasses: read(store, "storageclasses.storage.k8s.io"),
  });
  const waiting = pods.filter((p) => awaitsScheduling(p, schedulerName)).sort(creationOrder);
  let bound = 0;
  // Pods alike in namespace, labels and spec (a Deployment's replicas) get the same verdict
  // until the next bind changes the cluster, so a failure is computed once per run of them.
  const failed = new Map<string, string>();
  for (const pod of waiting) {
    const ns = pod.metadata.namespace ?? "default";
    const name = pod.metadata.name!;
    const alike = JSON.stringify([ns, pod.metadata.labels ?? {}, pod.spec]);
    const known = failed.get(alike);
    if (known !== undefined) {
      markUnschedulable(store, pod, known, schedulerName);
      continue;
    }
    const d = scheduleOne(pod, cluster);
    if (!d.ok) {
      failed.set(alike, d.message);
      markUnschedulable(store, pod, d.message, schedulerName);
      continue;
    }
    for (const pvc of d.claimsToSelect) {
      if (pvc.metadata.annotations?.[SELECTED_NODE_ANNOTATION] === d.node.name) continue;
      store.patch("persistentvolumeclaims", ns, pvc.metadata.name!, "merge", {
        metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: d.node.name } },
      });
    }
    const r = store.bind(ns, name, {
      metadata: { name },
      target: { kind: "Node", name: d.node.name },
    });
    if (r.ok) {
      schedulerEvent(
        store,
        pod,
        "Normal",
        "Scheduled",
        `Successfully assigned ${ns}/${name} to ${d.node.name}`,
        schedulerName,
      );
      bindInState(cluster, d.node, pod, d.requests);
      failed.clear();
      bound++;
    }
  }
  return bound;
}

/**
 * Starts scheduling pods in `store` until `stop()`: a pass after each change of what the
 * filters read (coalesced) and every `retryMs`.
 */
export function startScheduler(store: KubeStore, opts: SchedulerOptions = {}): { stop(): void } {
  const schedulerName = opts.schedulerName ?? "default-scheduler";
  let stopped = false;
  let inPass = false;
  let queued: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    queued = undefined;
    if (stopped) return;
    inPass = true;
    try {
      schedulePass(store, schedulerName);
    } finally {
      inPass = false;
    }
  };
  // A pass is synchronous, so events during it are its own writes: they need no new pass.
  const kick = () => {
    if (!stopped && !inPass && queued === undefined) queued = setTimeout(run, 0);
  };
  const watches: { stop(): void }[] = [];
  for (const ref of WATCHED) {
    if (!store.resolve(ref)) continue;
    const w = store.watch(ref, { resourceVersion: store.resourceVersion() }, kick);
    if (w.ok) watches.push(w.value);
  }
  const timer = setInterval(kick, opts.retryMs ?? 1000);
  kick();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      if (queued !== undefined) clearTimeout(queued);
      for (const w of watches) w.stop();
    },
  };
}
