/**
 * Which unbound pods provisioning should act for. A pod a new node cannot help is left out
 * with the reason, so `proxscale plan` and the Events explain why nothing happened for it.
 */
import type { Pod } from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import { NODEPOOL_LABEL_KEY } from "./labels.ts";

/** Undefined when a new node could help the pod; otherwise why it is ignored. */
export function eligibility(pod: Pod): Reason | undefined {
  if (pod.deleting) return reason("PodNotManaged", "pod is being deleted");
  if (pod.ownerKind === "DaemonSet") {
    return reason("DaemonSetPod", "DaemonSet pods follow nodes; a new node brings its own copy");
  }
  if (pod.phase !== "Pending") {
    return reason("PodNotManaged", `pod phase is ${pod.phase}, not Pending`);
  }
  if (pod.waitsForVolume !== undefined) {
    return reason(
      "VolumeNotBound",
      `PersistentVolumeClaim ${pod.waitsForVolume} is not bound yet and its StorageClass binds immediately; the pod waits for the volume, not for a node`,
    );
  }
  if (!pod.unschedulable) {
    return reason("PodNotUnschedulable", "the scheduler has not marked the pod Unschedulable yet");
  }
  for (const term of pod.requiredNodeAffinity ?? []) {
    for (const e of term.matchExpressions ?? []) {
      if (
        e.key === NODEPOOL_LABEL_KEY && e.operator === "DoesNotExist" &&
        (pod.requiredNodeAffinity?.length ?? 0) === 1
      ) {
        return reason(
          "PodNotManaged",
          `pod opts out of proxscale nodes (${NODEPOOL_LABEL_KEY} DoesNotExist)`,
        );
      }
    }
  }
  return undefined;
}
