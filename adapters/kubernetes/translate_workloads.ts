/**
 * Kubernetes JSON -> core/model.ts for the kinds that shape where pods can run without being
 * pods or nodes themselves: DaemonSets (their pod template becomes per-node overhead),
 * PersistentVolumeClaims, PersistentVolumes (node affinity of local and zonal volumes) and
 * StorageClasses (binding mode, allowed topologies).
 * Malformed objects come back as reasons, as in translate.ts.
 *
 * May import: core/, adapters/kubernetes/.
 */
import { z } from "zod";
import type { PersistentVolume, Pod, StorageClass, VolumeClaim } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { boundedDecode, type Malformed, podFromKube } from "./translate.ts";

const meta = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().nullish(),
  uid: z.string().nullish(),
  creationTimestamp: z.union([z.string(), z.date()]).nullish(),
});

const kubeDaemonSet = z.looseObject({
  metadata: meta,
  spec: z.looseObject({
    template: z.looseObject({
      metadata: z.looseObject({ labels: z.record(z.string(), z.string()).nullish() }).nullish(),
      spec: z.looseObject({}),
    }),
  }),
});

function issue(e: z.ZodError): Malformed {
  const i = e.issues[0]!;
  return `${i.path.map(String).join(".") || "object"}: ${i.message}`;
}

/** A DaemonSet as the pod each node of a matching pool will run (requests, selector, tolerations). */
export function daemonSetFromKube(obj: unknown): Result<Pod, Malformed> {
  return boundedDecode(() => daemonSetFromKubeUnbounded(obj));
}

function daemonSetFromKubeUnbounded(obj: unknown): Result<Pod, Malformed> {
  const d = kubeDaemonSet.safeParse(obj);
  if (!d.success) return err(issue(d.error));
  const m = d.data.metadata;
  const pod = podFromKube({
    metadata: {
      name: m.name,
      namespace: m.namespace ?? "default",
      uid: m.uid ?? `${m.namespace ?? "default"}/${m.name}`,
      labels: d.data.spec.template.metadata?.labels ?? undefined,
      creationTimestamp: m.creationTimestamp ?? undefined,
    },
    spec: d.data.spec.template.spec,
  });
  if (!pod.ok) return err(`spec.template.${pod.error}`);
  return ok({ ...pod.value, ownerKind: "DaemonSet", ownerName: m.name });
}

const kubePvc = z.looseObject({
  metadata: meta,
  spec: z.looseObject({
    volumeName: z.string().nullish(),
    storageClassName: z.string().nullish(),
  }).nullish(),
});

/** A PersistentVolumeClaim: which volume it is bound to and its StorageClass. */
export function volumeClaimFromKube(obj: unknown): Result<VolumeClaim, Malformed> {
  return boundedDecode(() => volumeClaimFromKubeUnbounded(obj));
}

function volumeClaimFromKubeUnbounded(obj: unknown): Result<VolumeClaim, Malformed> {
  const c = kubePvc.safeParse(obj);
  if (!c.success) return err(issue(c.error));
  const out: VolumeClaim = {
    namespace: c.data.metadata.namespace ?? "default",
    name: c.data.metadata.name,
  };
  if (c.data.spec?.volumeName) out.volumeName = c.data.spec.volumeName;
  if (c.data.spec?.storageClassName) out.storageClassName = c.data.spec.storageClassName;
  return ok(out);
}

const requirement = z.looseObject({
  key: z.string(),
  operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte"]),
  values: z.array(z.string()).nullish(),
});
const kubePv = z.looseObject({
  metadata: meta,
  spec: z.looseObject({
    nodeAffinity: z.looseObject({
      required: z.looseObject({
        nodeSelectorTerms: z.array(z.looseObject({
          matchExpressions: z.array(requirement).nullish(),
        })),
      }).nullish(),
    }).nullish(),
  }).nullish(),
});

/** A PersistentVolume with the node affinity that ties it to some nodes (if any). */
export function persistentVolumeFromKube(obj: unknown): Result<PersistentVolume, Malformed> {
  return boundedDecode(() => persistentVolumeFromKubeUnbounded(obj));
}

function persistentVolumeFromKubeUnbounded(obj: unknown): Result<PersistentVolume, Malformed> {
  const v = kubePv.safeParse(obj);
  if (!v.success) return err(issue(v.error));
  const terms = v.data.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  const out: PersistentVolume = { name: v.data.metadata.name };
  if (terms?.length) {
    out.nodeAffinity = terms.map((t) => ({
      matchExpressions: (t.matchExpressions ?? []).map((r) => ({
        key: r.key,
        operator: r.operator,
        ...(r.values ? { values: r.values } : {}),
      })),
    }));
  }
  return ok(out);
}

const kubeStorageClass = z.looseObject({
  metadata: meta,
  volumeBindingMode: z.enum(["Immediate", "WaitForFirstConsumer"]).nullish(),
  allowedTopologies: z.array(z.looseObject({
    matchLabelExpressions: z.array(z.looseObject({
      key: z.string(),
      values: z.array(z.string()),
    })).nullish(),
  })).nullish(),
});

/** A StorageClass: binding mode (Immediate when absent, as the API defaults) and allowed topologies. */
export function storageClassFromKube(obj: unknown): Result<StorageClass, Malformed> {
  return boundedDecode(() => storageClassFromKubeUnbounded(obj));
}

function storageClassFromKubeUnbounded(obj: unknown): Result<StorageClass, Malformed> {
  const c = kubeStorageClass.safeParse(obj);
  if (!c.success) return err(issue(c.error));
  const out: StorageClass = {
    name: c.data.metadata.name,
    volumeBindingMode: c.data.volumeBindingMode ?? "Immediate",
  };
  const topo = c.data.allowedTopologies ?? [];
  if (topo.length) {
    out.allowedTopologies = topo.map((t) => ({
      matchExpressions: (t.matchLabelExpressions ?? []).map((e) => ({
        key: e.key,
        operator: "In" as const,
        values: e.values,
      })),
    }));
  }
  return ok(out);
}
