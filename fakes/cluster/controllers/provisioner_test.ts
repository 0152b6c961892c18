/**
 * The local-path provisioner and binder: waits for the scheduler's node choice, then creates a
 * PV pinned to that node and binds both ways; deleting the claim deletes the volume.
 */
import assert from "node:assert/strict";
import { until, withControllers } from "./testing/cluster.ts";

Deno.test("a WaitForFirstConsumer claim stays Pending until a node is selected, then gets a PV pinned to it and both are Bound", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    s.create("storageclasses.storage.k8s.io", {
      metadata: {
        name: "local-path",
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
      },
      provisioner: "rancher.io/local-path",
      volumeBindingMode: "WaitForFirstConsumer",
    });
    // No storageClassName: the default class applies.
    s.create("persistentvolumeclaims", {
      metadata: { name: "cache", namespace: "default" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.peek("persistentvolumeclaims", "default", "cache")!.status.phase, "Pending");
    const pvs = s.list("persistentvolumes");
    assert.ok(pvs.ok);
    assert.equal(pvs.value.items.length, 0, "no volume before a node is chosen");

    s.patch("persistentvolumeclaims", "default", "cache", "merge", {
      metadata: { annotations: { "volume.kubernetes.io/selected-node": "worker-3" } },
    });
    const pvc = await until("Bound", () => {
      const c = s.peek("persistentvolumeclaims", "default", "cache");
      return c?.status?.phase === "Bound" ? c : undefined;
    });
    assert.equal(pvc.spec.volumeName, `pvc-${pvc.metadata.uid}`);
    assert.equal(pvc.metadata.annotations?.["pv.kubernetes.io/bind-completed"], "yes");
    assert.equal(pvc.status.capacity.storage, "1Gi");
    const pv = s.peek("persistentvolumes", undefined, pvc.spec.volumeName)!;
    assert.equal(pv.status.phase, "Bound");
    assert.equal(pv.spec.claimRef.uid, pvc.metadata.uid);
    assert.deepEqual(
      pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values,
      ["worker-3"],
    );
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Delete");

    s.delete("persistentvolumeclaims", "default", "cache");
    await until("PV deleted", () => !s.peek("persistentvolumes", undefined, pvc.spec.volumeName));
  });
});
