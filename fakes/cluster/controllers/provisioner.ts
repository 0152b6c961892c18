/**
 * A local-path provisioner and the PV binder around it, as Rancher's local-path-provisioner
 * and kube's PV controller behave together. For a PVC whose StorageClass (named, or the class
 * annotated `storageclass.kubernetes.io/is-default-class: "true"` when the claim names none)
 * has provisioner `rancher.io/local-path`: with volumeBindingMode WaitForFirstConsumer it waits
 * for the scheduler's `volume.kubernetes.io/selected-node` annotation, then creates PV
 * `pvc-<claim uid>` with a hostPath under /opt/local-path-provisioner and required node
 * affinity `kubernetes.io/hostname In [node]`, and binds both ways (PV claimRef and phase Bound,
 * PVC volumeName, bind annotations and phase Bound). Immediate classes stay Pending, as a local
 * volume needs a node. When a bound claim is deleted, its PV is deleted (reclaimPolicy Delete)
 * or marked Released (Retain).
 *
 * May import: fakes/fake_kube/, ./runtime.ts.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { type Controller, keyOf, splitKey } from "./runtime.ts";

const NAME = "local-path-provisioner";
/** The provisioner name this controller serves. */
export const LOCAL_PATH_PROVISIONER = "rancher.io/local-path";
/** The annotation the scheduler sets on a WaitForFirstConsumer claim. */
export const SELECTED_NODE = "volume.kubernetes.io/selected-node";
const PVC = "persistentvolumeclaims";
const PV = "persistentvolumes";
const SC = "storageclasses.storage.k8s.io";
const MANAGER = { fieldManager: "kube-controller-manager" };

/** The provisioner/binder over `store`. */
export function provisionerController(store: KubeStore): Controller {
  const pvcDef = store.resolve(PVC)!;
  const pvDef = store.resolve(PV)!;
  const claims = () => [...store.entries(pvcDef)].map((e) => `claim:${keyOf(e.obj)}`);
  return {
    name: NAME,
    watches: [
      {
        ref: PVC,
        keys: (o) => [
          `claim:${keyOf(o)}`,
          ...(o.spec?.volumeName ? [`volume:${o.spec.volumeName}`] : []),
        ],
      },
      { ref: PV, keys: (o) => [`volume:${o.metadata.name}`] },
      { ref: SC, keys: () => claims() },
    ],
    all:
      () => [...claims(), ...[...store.entries(pvDef)].map((e) => `volume:${e.obj.metadata.name}`)],
    sync: (key) => {
      if (key.startsWith("claim:")) syncClaim(store, key.slice(6));
      else syncVolume(store, key.slice(7));
    },
  };
}

function classOf(store: KubeStore, pvc: KObj): KObj | undefined {
  const named = pvc.spec?.storageClassName;
  if (named) return store.peek(SC, undefined, named);
  if (named === "") return undefined;
  return [...store.entries(store.resolve(SC)!)].map((e) => e.obj).find((c) =>
    c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true"
  );
}

function syncClaim(store: KubeStore, key: string): void {
  const { namespace, name } = splitKey(key);
  const pvc = store.peek(PVC, namespace, name);
  if (!pvc || pvc.metadata.deletionTimestamp || !namespace) return;
  const volumeName = pvc.spec?.volumeName;
  if (volumeName) {
    const pv = store.peek(PV, undefined, volumeName);
    if (pv && pv.spec?.claimRef?.uid === pvc.metadata.uid) markClaimBound(store, pvc, pv);
    return;
  }
  const sc = classOf(store, pvc);
  if (!sc || sc.provisioner !== LOCAL_PATH_PROVISIONER) return;
  if (sc.volumeBindingMode !== "WaitForFirstConsumer") return;
  const node = pvc.metadata.annotations?.[SELECTED_NODE];
  if (!node) return;
  const pvName = `pvc-${pvc.metadata.uid}`;
  let pv = store.peek(PV, undefined, pvName);
  if (!pv) {
    const r = store.create(PV, {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: {
        name: pvName,
        annotations: {
          "pv.kubernetes.io/provisioned-by": LOCAL_PATH_PROVISIONER,
          "local.path.provisioner/selected-node": node,
        },
        finalizers: ["kubernetes.io/pv-protection"],
      },
      spec: {
        capacity: { storage: pvc.spec?.resources?.requests?.storage ?? "1Gi" },
        accessModes: pvc.spec?.accessModes ?? ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
        storageClassName: sc.metadata.name,
        volumeMode: pvc.spec?.volumeMode ?? "Filesystem",
        hostPath: {
          path: `/opt/local-path-provisioner/${pvName}_${namespace}_${name}`,
          type: "DirectoryOrCreate",
        },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [{
              matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }],
            }],
          },
        },
        claimRef: {
          kind: "PersistentVolumeClaim",
          namespace,
          name,
          uid: pvc.metadata.uid,
          apiVersion: "v1",
          resourceVersion: pvc.metadata.resourceVersion,
        },
      },
    }, MANAGER);
    if (!r.ok) return;
    pv = r.value.object;
  }
  const boundPv = { ...structuredClone(pv), status: { phase: "Bound" } };
  store.update(PV, boundPv, { ...MANAGER, subresource: "status" });
  const annotations = {
    ...(pvc.metadata.annotations ?? {}),
    "pv.kubernetes.io/bind-completed": "yes",
    "pv.kubernetes.io/bound-by-controller": "yes",
    "volume.beta.kubernetes.io/storage-provisioner": LOCAL_PATH_PROVISIONER,
    "volume.kubernetes.io/storage-provisioner": LOCAL_PATH_PROVISIONER,
  };
  const claimed = store.update(PVC, {
    ...structuredClone(pvc),
    metadata: { ...structuredClone(pvc.metadata), annotations },
    spec: { ...structuredClone(pvc.spec), volumeName: pvName },
  }, { ...MANAGER, namespace });
  if (claimed.ok) markClaimBound(store, claimed.value.object, pv);
}

function markClaimBound(store: KubeStore, pvc: KObj, pv: KObj): void {
  const status: Json = {
    phase: "Bound",
    accessModes: pv.spec?.accessModes ?? [],
    capacity: pv.spec?.capacity ?? {},
  };
  if (JSON.stringify(pvc.status) === JSON.stringify(status)) return;
  store.update(PVC, { ...structuredClone(pvc), status }, {
    ...MANAGER,
    subresource: "status",
    namespace: pvc.metadata.namespace!,
  });
}

function syncVolume(store: KubeStore, name: string): void {
  const pv = store.peek(PV, undefined, name);
  if (!pv) return;
  const ref = pv.spec?.claimRef;
  if (pv.metadata.deletionTimestamp) {
    // pv-protection: released once no claim uses it any more.
    const claim = ref ? store.peek(PVC, ref.namespace, ref.name) : undefined;
    if (!claim || claim.metadata.uid !== ref.uid) {
      const finalizers = (pv.metadata.finalizers ?? []).filter((f: string) =>
        f !== "kubernetes.io/pv-protection"
      );
      store.update(
        PV,
        { ...structuredClone(pv), metadata: { ...pv.metadata, finalizers } },
        MANAGER,
      );
    }
    return;
  }
  if (!ref?.uid) return;
  const claim = store.peek(PVC, ref.namespace, ref.name);
  if (claim && claim.metadata.uid === ref.uid) return;
  if (pv.spec?.persistentVolumeReclaimPolicy === "Delete") {
    store.delete(PV, undefined, name);
  } else if (pv.status?.phase !== "Released") {
    store.update(PV, { ...structuredClone(pv), status: { phase: "Released" } }, {
      ...MANAGER,
      subresource: "status",
    });
  }
}
