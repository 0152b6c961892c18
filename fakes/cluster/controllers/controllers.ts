/**
 * The fake cluster's kube-controller-manager: starts every controller of this folder on one
 * KubeStore. Deployment -> ReplicaSet -> Pods, DaemonSet, StatefulSet, Job, the local-path
 * provisioner and PV binder, the garbage collector, the node lifecycle health monitor, the
 * NoExecute taint eviction and the pod GC of pods whose node was deleted. They react to the store's watches (and its write hook for the
 * garbage collector), resync periodically, and write through the store so that every client
 * watching the API sees what they do. Binding pods is the scheduler's job, running them the
 * kubelets'; neither is here.
 *
 * May import: fakes/fake_kube/, this folder.
 */
import { seededRandom } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { daemonSetController } from "./daemonset.ts";
import { deploymentController } from "./deployment.ts";
import { garbageCollector } from "./garbage_collector.ts";
import { jobController } from "./job.ts";
import { nodeLifecycleController } from "./node_lifecycle.ts";
import { podGcController } from "./pod_gc.ts";
import { provisionerController } from "./provisioner.ts";
import { replicaSetController } from "./replicaset.ts";
import { Loop } from "./runtime.ts";
import { statefulSetController } from "./statefulset.ts";
import { taintEvictionController } from "./taint_eviction.ts";

/**
 * nodeMonitorGracePeriodMs: heartbeat age after which a node becomes Unknown (default 40 s);
 * also how long pods of a deleted node wait before the pod GC removes them.
 * defaultTolerationSeconds: seconds of the not-ready/unreachable tolerations admission adds to
 * new pods (default 300). seed: the random source of generated pod names.
 */
export type ClusterControllerOptions = {
  nodeMonitorGracePeriodMs?: number;
  defaultTolerationSeconds?: number;
  seed?: number;
};

/** Starts the controllers on `store`; `stop` ends their watches and timers. */
export function startControllers(
  store: KubeStore,
  opts: ClusterControllerOptions = {},
): { stop(): void } {
  const graceMs = opts.nodeMonitorGracePeriodMs ?? 40_000;
  if (opts.defaultTolerationSeconds !== undefined) {
    store.defaultTolerationSeconds = opts.defaultTolerationSeconds;
  }
  const random = seededRandom(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
  const gc = garbageCollector(store);
  const loop = new Loop(store, [
    deploymentController(store),
    replicaSetController(store, random),
    daemonSetController(store, random),
    statefulSetController(store),
    jobController(store, random),
    provisionerController(store),
    nodeLifecycleController(store, graceMs),
    taintEvictionController(store),
    podGcController(store, graceMs),
    gc.controller,
  ], Math.min(1000, Math.max(50, graceMs / 8)));
  const stopGc = gc.install(loop);
  return {
    stop() {
      stopGc();
      loop.stop();
    },
  };
}
