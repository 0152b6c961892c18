/**
 * A backlog of pending pods written straight into the store: pods another scheduler
 * (`backlog-scheduler`) already found no node for, so they carry PodScheduled=False with reason
 * Unschedulable as kube-scheduler would write it. Written directly (one store write each, no
 * API round trip) because a test of 100,000 pending pods cannot wait for 100,000 POSTs, and
 * marked for another scheduler because the fake's own would retry each of them on every node
 * change. What an autoscaler sees of them is what it sees of any unschedulable pod.
 *
 * May import: fakes/.
 */
import type { KubeStore } from "../fake_kube/store.ts";

/** The schedulerName the backlog's pods carry (the fake scheduler leaves them alone). */
export const BACKLOG_SCHEDULER = "backlog-scheduler";

/** Writes `count` pending, unschedulable pods `backlog-0..` into `namespace`. */
export function seedPendingPods(
  store: KubeStore,
  count: number,
  o: { namespace?: string; cpu?: string; memory?: string; now?: () => number } = {},
): number {
  const namespace = o.namespace ?? "default";
  const at = new Date((o.now ?? Date.now)()).toISOString().replace(/\.\d{3}Z$/, "Z");
  let written = 0;
  for (let i = 0; i < count; i++) {
    const r = store.create("pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `backlog-${i}`, namespace, labels: { app: "backlog" } },
      spec: {
        schedulerName: BACKLOG_SCHEDULER,
        containers: [{
          name: "c",
          image: "app:1",
          resources: { requests: { cpu: o.cpu ?? "250m", memory: o.memory ?? "256Mi" } },
        }],
      },
    }, { namespace });
    if (!r.ok) continue;
    // Status is a subresource: a create ignores it, as the API server does.
    const s = store.patch("pods", namespace, `backlog-${i}`, "merge", {
      status: {
        conditions: [{
          type: "PodScheduled",
          status: "False",
          lastProbeTime: null,
          reason: "Unschedulable",
          message: "0/0 nodes are available: no node fits the pod.",
          lastTransitionTime: at,
        }],
      },
    }, { subresource: "status" });
    if (s.ok) written++;
  }
  return written;
}
