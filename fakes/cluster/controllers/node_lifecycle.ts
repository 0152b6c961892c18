/**
 * The node lifecycle controller's health monitor: a Node whose last heartbeat (the renewTime
 * of its Lease in kube-node-lease, or its Ready condition's lastHeartbeatTime, whichever is
 * newer, and never earlier than when this controller first saw the node) is older than
 * nodeMonitorGracePeriod gets its Ready, MemoryPressure, DiskPressure and PIDPressure
 * conditions set to Unknown (reason NodeStatusUnknown, "Kubelet stopped posting node
 * status."); a node that never posted a Ready condition gets Ready Unknown with reason
 * NodeStatusNeverUpdated. The taints that follow from the Ready condition
 * (`node.kubernetes.io/unreachable` for Unknown and `not-ready` for False, NoSchedule and
 * NoExecute) are kept by the fake API server's own node-taint hook (fakes/fake_kube/
 * controllers.ts), which this controller relies on rather than duplicating; eviction is
 * taint_eviction.ts.
 *
 * May import: fakes/fake_kube/, ./runtime.ts.
 */
import { formatTime, type KObj } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { type Controller, type Loop, timeOf } from "./runtime.ts";

const NAME = "node-lifecycle";
const LEASE_NS = "kube-node-lease";
const PRESSURES = ["MemoryPressure", "DiskPressure", "PIDPressure"];

/** The health monitor over `store` with the given grace period (ms). */
export function nodeLifecycleController(store: KubeStore, graceMs: number): Controller {
  const nodes = store.resolve("nodes")!;
  const firstSeen = new Map<string, number>();
  return {
    name: NAME,
    watches: [
      { ref: "nodes", keys: (o) => [o.metadata.name!] },
      {
        ref: "leases.coordination.k8s.io",
        keys: (o) => (o.metadata.namespace === LEASE_NS ? [o.metadata.name!] : []),
      },
    ],
    all: () => [...store.entries(nodes)].map((e) => e.obj.metadata.name!),
    sync: (name, loop) => syncNode(store, name, graceMs, firstSeen, loop),
  };
}

/** The newest heartbeat of a node (epoch ms), 0 if it never sent one. */
export function lastHeartbeat(store: KubeStore, node: KObj): number {
  const lease = store.peek("leases.coordination.k8s.io", LEASE_NS, node.metadata.name!);
  const ready = (node.status?.conditions ?? []).find((c: Json) => c?.type === "Ready");
  return Math.max(timeOf(lease?.spec?.renewTime), timeOf(ready?.lastHeartbeatTime));
}

function syncNode(
  store: KubeStore,
  name: string,
  graceMs: number,
  firstSeen: Map<string, number>,
  loop: Loop,
): void {
  const node = store.peek("nodes", undefined, name);
  const now = store.now();
  if (!node) {
    firstSeen.delete(name);
    return;
  }
  if (!firstSeen.has(name)) firstSeen.set(name, now);
  const last = Math.max(lastHeartbeat(store, node), firstSeen.get(name)!);
  const conditions: Json[] = node.status?.conditions ?? [];
  const ready = conditions.find((c) => c?.type === "Ready");
  if (now - last <= graceMs) {
    loop.after(NAME, name, last + graceMs - now + 1);
    return;
  }
  if (ready?.status === "Unknown") return;
  const stamp = formatTime(now);
  const unknown = (c: Json, reason: string, message: string) => ({
    ...c,
    status: "Unknown",
    reason,
    message,
    lastTransitionTime: stamp,
  });
  let next: Json[];
  if (!ready) {
    next = [
      ...conditions,
      unknown(
        { type: "Ready", lastHeartbeatTime: node.metadata.creationTimestamp },
        "NodeStatusNeverUpdated",
        "Kubelet never posted node status.",
      ),
    ];
  } else {
    next = conditions.map((c) =>
      c?.type === "Ready" || PRESSURES.includes(c?.type)
        ? unknown(c, "NodeStatusUnknown", "Kubelet stopped posting node status.")
        : c
    );
  }
  store.update(
    "nodes",
    { ...structuredClone(node), status: { ...node.status, conditions: next } },
    {
      subresource: "status",
      fieldManager: "kube-controller-manager",
    },
  );
}
