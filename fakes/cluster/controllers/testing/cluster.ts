/**
 * Test helpers for the controllers: a fake API server with the controllers running, Nodes,
 * polling until a condition holds, and a stand-in for the scheduler and kubelets (binds
 * pending pods where the test says and makes bound pods Running and Ready, or Succeeded for
 * restartPolicy Never/OnFailure), so controller tests run without those components.
 *
 * May import: fakes/fake_kube/, fakes/cluster/controllers/.
 */
import { formatTime, type KObj } from "../../../fake_kube/objects.ts";
import type { Json } from "../../../fake_kube/patch.ts";
import { type FakeKube, type FakeKubeOptions, startFakeKube } from "../../../fake_kube/server.ts";
import type { KubeStore } from "../../../fake_kube/store.ts";
import { type ClusterControllerOptions, startControllers } from "../controllers.ts";

/** Runs `fn` against a plain-HTTP fake with the controllers started; always cleans up. */
export async function withControllers<T>(
  opts: ClusterControllerOptions & { kube?: FakeKubeOptions },
  fn: (k: FakeKube) => Promise<T>,
): Promise<T> {
  const k = await startFakeKube({
    tls: false,
    seed: 7,
    gracefulDeletion: { scale: 0.002 },
    ...(opts.kube ?? {}),
  });
  const c = startControllers(k.store, { seed: 11, ...opts });
  try {
    return await fn(k);
  } finally {
    c.stop();
    await k.close();
  }
}

/** Polls `f` every 10 ms until it returns a truthy value; fails with `what` after `ms`. */
export async function until<T>(what: string, f: () => T, ms = 5000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  while (true) {
    const v = f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Creates a Ready Node (labels include kubernetes.io/hostname). */
export function addNode(
  store: KubeStore,
  name: string,
  opts: { labels?: Record<string, string>; taints?: Json[]; ready?: string } = {},
): KObj {
  const now = formatTime(store.now());
  const r = store.create("nodes", {
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...(opts.labels ?? {}) } },
    spec: opts.taints ? { taints: opts.taints } : {},
    status: {
      conditions: [{
        type: "Ready",
        status: opts.ready ?? "True",
        reason: "KubeletReady",
        message: "kubelet is posting ready status",
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      }],
    },
  });
  if (!r.ok) throw new Error(r.error.message);
  return r.value.object;
}

/** Pods of a namespace, optionally only those matching a label selector string. */
export function podsOf(store: KubeStore, namespace = "default", labelSelector?: string): KObj[] {
  const r = store.list("pods", { namespace, ...(labelSelector ? { labelSelector } : {}) });
  if (!r.ok) throw new Error(r.error.message);
  return r.value.items;
}

/** Live (not terminating) pods of a namespace. */
export function livePods(store: KubeStore, namespace = "default", selector?: string): KObj[] {
  return podsOf(store, namespace, selector).filter((p) => !p.metadata.deletionTimestamp);
}

/** Binds a pod to a node, as the scheduler would. */
export function bind(store: KubeStore, pod: KObj, node: string): void {
  store.bind(pod.metadata.namespace!, pod.metadata.name!, {
    metadata: { name: pod.metadata.name! },
    target: { kind: "Node", name: node },
  });
}

/** Makes a bound pod Running and Ready (or Succeeded when it is a run-to-completion pod). */
export function run(store: KubeStore, pod: KObj): void {
  const now = formatTime(store.now());
  const done = pod.spec?.restartPolicy === "Never" || pod.spec?.restartPolicy === "OnFailure";
  const status = done
    ? { phase: "Succeeded", conditions: [{ type: "Ready", status: "False" }], startTime: now }
    : {
      phase: "Running",
      startTime: now,
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: now },
        { type: "Ready", status: "True", lastTransitionTime: now },
      ],
    };
  store.update("pods", { ...structuredClone(pod), status }, {
    subresource: "status",
    namespace: pod.metadata.namespace!,
  });
}

/**
 * A stand-in scheduler and kubelet: every 10 ms, pending pods go to `nodeFor(pod)` (no binding
 * when it answers undefined) and bound pods that are not yet running start.
 */
export function playCluster(
  store: KubeStore,
  nodeFor: (pod: KObj) => string | undefined,
): { stop(): void } {
  const iv = setInterval(() => {
    for (const p of podsAll(store)) {
      if (p.metadata.deletionTimestamp) continue;
      if (!p.spec?.nodeName) {
        const n = nodeFor(p);
        if (n) bind(store, p, n);
        continue;
      }
      if (p.status?.phase === "Pending") {
        run(store, store.peek("pods", p.metadata.namespace, p.metadata.name!)!);
      }
    }
  }, 10);
  return { stop: () => clearInterval(iv) };
}

function podsAll(store: KubeStore): KObj[] {
  const r = store.list("pods");
  return r.ok ? r.value.items : [];
}

/** The node a DaemonSet pod asks for through its matchFields node affinity. */
export function affinityNode(pod: KObj): string | undefined {
  const term = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms?.[0];
  return term?.matchFields?.[0]?.values?.[0];
}
