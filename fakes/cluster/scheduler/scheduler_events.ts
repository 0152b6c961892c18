/**
 * The Events kube-scheduler leaves on a pod, which `kubectl describe pod` shows: `Scheduled`
 * (Normal, "Successfully assigned NS/NAME to NODE") when it binds the pod, and
 * `FailedScheduling` (Warning, the same "0/N nodes are available: ..." text as the PodScheduled
 * condition) when no node fits. As the real scheduler's event recorder aggregates a repeated
 * failure into one Event, the fake writes a FailedScheduling Event when the message changes
 * and lets the condition carry the rest. Reported by `default-scheduler` (or the profile's
 * name), as the real one is.
 *
 * May import: fakes/fake_kube/ (the store and object types).
 */
import type { KObj } from "../../fake_kube/objects.ts";
import { formatTime } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";

let seq = 0;

/** Writes one core/v1 Event about `pod`; a write the store refuses is not retried. */
export function schedulerEvent(
  store: KubeStore,
  pod: KObj,
  type: "Normal" | "Warning",
  reason: "Scheduled" | "FailedScheduling",
  message: string,
  schedulerName: string,
): void {
  const namespace = pod.metadata.namespace ?? "default";
  const name = pod.metadata.name!;
  const now = formatTime(store.now());
  seq = (seq + 1) % 0x10000;
  store.create("events", {
    apiVersion: "v1",
    kind: "Event",
    metadata: {
      name: `${name}.${store.now().toString(16)}${seq.toString(16).padStart(4, "0")}`,
      namespace,
    },
    involvedObject: {
      apiVersion: "v1",
      kind: "Pod",
      namespace,
      name,
      ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
    },
    reason,
    message,
    type,
    source: { component: schedulerName },
    reportingComponent: schedulerName,
    reportingInstance: `${schedulerName}-fake`,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  }, { namespace });
}
