/**
 * Defaulting the apiserver applies to the workload and storage kinds the fake cluster's
 * controllers run: Deployment, ReplicaSet, StatefulSet, DaemonSet and Job specs (replicas,
 * strategies, history limits, the Job's generated selector and labels), CronJob specs
 * (concurrency policy, suspend, history limits), and the initial
 * Pending phase of PersistentVolumes and PersistentVolumeClaims. Mutates the object in place.
 *
 * May import: ./objects.ts.
 */
import type { KObj } from "./objects.ts";

/** Applies the v1.32 defaults of `kind` to `obj` (create and update). */
export function defaultWorkload(kind: string, obj: KObj, op: "create" | "update"): void {
  if (kind === "StorageClass") {
    obj.reclaimPolicy ??= "Delete";
    obj.volumeBindingMode ??= "Immediate";
    return;
  }
  const spec = obj.spec ?? (obj.spec = {});
  switch (kind) {
    case "Deployment":
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= { type: "RollingUpdate" };
      if (spec.strategy.type === undefined) spec.strategy.type = "RollingUpdate";
      if (spec.strategy.type === "RollingUpdate") {
        spec.strategy.rollingUpdate = {
          maxUnavailable: "25%",
          maxSurge: "25%",
          ...(spec.strategy.rollingUpdate ?? {}),
        };
      }
      break;
    case "ReplicaSet":
      spec.replicas ??= 1;
      break;
    case "StatefulSet":
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= "OrderedReady";
      spec.revisionHistoryLimit ??= 10;
      spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
      spec.persistentVolumeClaimRetentionPolicy ??= {
        whenDeleted: "Retain",
        whenScaled: "Retain",
      };
      break;
    case "DaemonSet":
      spec.revisionHistoryLimit ??= 10;
      spec.updateStrategy ??= {
        type: "RollingUpdate",
        rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
      };
      break;
    case "Job":
      if (spec.completions === undefined && spec.parallelism === undefined) {
        spec.completions = 1;
        spec.parallelism = 1;
      }
      spec.parallelism ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= "NonIndexed";
      spec.suspend ??= false;
      spec.podReplacementPolicy ??= "TerminatingOrFailed";
      if (op === "create" && spec.manualSelector !== true) jobSelector(obj);
      break;
    case "CronJob":
      spec.concurrencyPolicy ??= "Allow";
      spec.suspend ??= false;
      spec.successfulJobsHistoryLimit ??= 3;
      spec.failedJobsHistoryLimit ??= 1;
      break;
    case "PersistentVolumeClaim":
      spec.volumeMode ??= "Filesystem";
      if (op === "create") obj.status = { phase: "Pending", ...(obj.status ?? {}) };
      break;
    case "PersistentVolume":
      spec.persistentVolumeReclaimPolicy ??= "Retain";
      spec.volumeMode ??= "Filesystem";
      if (op === "create") obj.status = { phase: "Pending", ...(obj.status ?? {}) };
      break;
  }
}

/** A Job's generated selector: its own uid, also set on the pod template's labels. */
function jobSelector(job: KObj): void {
  const uid = job.metadata.uid;
  const name = job.metadata.name;
  if (!uid || !name) return;
  const labels = {
    "batch.kubernetes.io/controller-uid": uid,
    "batch.kubernetes.io/job-name": name,
    "controller-uid": uid,
    "job-name": name,
  };
  job.spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
  const template = job.spec.template ?? (job.spec.template = {});
  const meta = template.metadata ?? (template.metadata = {});
  meta.labels = { ...(meta.labels ?? {}), ...labels };
}
