/**
 * StatefulSet controller behaviour with the local-path provisioner: ordered pods, a claim per
 * volumeClaimTemplate created before its pod, volumes pinned to the node where the pod first
 * ran, and claims kept when the set scales down.
 */
import assert from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import {
  addNode,
  bind,
  livePods,
  playCluster,
  podsOf,
  run,
  until,
  withControllers,
} from "./testing/cluster.ts";

/** What the scheduler does for a pod with WaitForFirstConsumer claims: pick, annotate, bind. */
function schedule(s: KubeStore, pod: KObj, node: string): void {
  for (const v of pod.spec.volumes ?? []) {
    const claim = v.persistentVolumeClaim?.claimName;
    if (!claim) continue;
    const pvc = s.peek("persistentvolumeclaims", "default", claim);
    if (pvc && !pvc.spec.volumeName) {
      s.patch("persistentvolumeclaims", "default", claim, "merge", {
        metadata: { annotations: { "volume.kubernetes.io/selected-node": node } },
      });
    }
  }
  bind(s, pod, node);
}

Deno.test("a StatefulSet creates pods in order with a claim each, and the provisioner pins each volume to the node its pod first ran on", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    addNode(s, "n1");
    addNode(s, "n2");
    s.create("storageclasses.storage.k8s.io", {
      metadata: { name: "local-path" },
      provisioner: "rancher.io/local-path",
      volumeBindingMode: "WaitForFirstConsumer",
      reclaimPolicy: "Delete",
    });
    assert.ok(
      s.create("statefulsets.apps", {
        metadata: { name: "db", namespace: "default" },
        spec: {
          replicas: 2,
          serviceName: "db",
          selector: { matchLabels: { app: "db" } },
          template: {
            metadata: { labels: { app: "db" } },
            spec: { containers: [{ name: "c", image: "db:1" }] },
          },
          volumeClaimTemplates: [{
            metadata: { name: "data" },
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName: "local-path",
              resources: { requests: { storage: "2Gi" } },
            },
          }],
        },
      }).ok,
    );
    const first = await until("db-0", () => s.peek("pods", "default", "db-0"));
    const claim0 = s.peek("persistentvolumeclaims", "default", "data-db-0");
    assert.ok(claim0, "the claim exists before (or with) its pod");
    assert.equal(claim0.status.phase, "Pending");
    assert.equal(first.spec.hostname, "db-0");
    assert.equal(first.spec.subdomain, "db");
    assert.deepEqual(first.spec.volumes, [{
      name: "data",
      persistentVolumeClaim: { claimName: "data-db-0" },
    }]);
    // OrderedReady: db-1 waits until db-0 is Running and Ready.
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(s.peek("pods", "default", "db-1"), undefined);

    schedule(s, first, "n2");
    const pv = await until("a bound PV", () => {
      const c = s.peek("persistentvolumeclaims", "default", "data-db-0");
      return c?.status?.phase === "Bound"
        ? s.peek("persistentvolumes", undefined, c.spec.volumeName)
        : undefined;
    });
    assert.deepEqual(pv.spec.nodeAffinity, {
      required: {
        nodeSelectorTerms: [{
          matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n2"] }],
        }],
      },
    });
    assert.equal(pv.status.phase, "Bound");
    assert.equal(pv.spec.claimRef.name, "data-db-0");
    assert.equal(pv.spec.capacity.storage, "2Gi");
    assert.equal(pv.spec.storageClassName, "local-path");
    assert.ok(pv.spec.hostPath.path.startsWith("/opt/local-path-provisioner/"));
    run(s, s.peek("pods", "default", "db-0")!);

    const second = await until("db-1", () => s.peek("pods", "default", "db-1"));
    assert.ok(s.peek("persistentvolumeclaims", "default", "data-db-1"));
    schedule(s, second, "n1");
    run(s, s.peek("pods", "default", "db-1")!);
    await until(
      "2 ready",
      () => s.peek("statefulsets.apps", "default", "db")?.status?.readyReplicas === 2,
    );

    s.patch("statefulsets.apps", "default", "db", "merge", { spec: { replicas: 1 } });
    await until("db-1 gone", () => livePods(s).length === 1);
    assert.equal(livePods(s)[0]!.metadata.name, "db-0");
    const kept = s.peek("persistentvolumeclaims", "default", "data-db-1");
    assert.equal(kept?.status?.phase, "Bound", "the claim survives the scale-down");
  });
});

Deno.test("a changed StatefulSet template replaces pods from the highest ordinal down, one at a time", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    addNode(s, "n1");
    const play = playCluster(s, () => "n1");
    try {
      s.create("statefulsets.apps", {
        metadata: { name: "kv", namespace: "default" },
        spec: {
          replicas: 3,
          serviceName: "kv",
          selector: { matchLabels: { app: "kv" } },
          template: {
            metadata: { labels: { app: "kv" } },
            spec: { containers: [{ name: "c", image: "kv:1" }] },
          },
        },
      });
      await until(
        "3 ready",
        () => s.peek("statefulsets.apps", "default", "kv")?.status?.readyReplicas === 3,
      );
      const order: string[] = [];
      let maxTerminating = 0;
      const w = s.watch("pods", { namespace: "default" }, (e) => {
        const p = e.object as { metadata: { name: string; deletionTimestamp?: string } };
        if (
          e.type === "MODIFIED" && p.metadata.deletionTimestamp && !order.includes(p.metadata.name)
        ) {
          order.push(p.metadata.name);
        }
        const terminating = podsOf(s).filter((x) => x.metadata.deletionTimestamp).length;
        maxTerminating = Math.max(maxTerminating, terminating);
      });
      assert.ok(w.ok);
      s.patch("statefulsets.apps", "default", "kv", "merge", {
        spec: { template: { spec: { containers: [{ name: "c", image: "kv:2" }] } } },
      });
      await until("all on kv:2", () => {
        const pods = livePods(s);
        return pods.length === 3 &&
          pods.every((p) => p.spec.containers[0].image === "kv:2" && p.status?.phase === "Running");
      }, 5000);
      w.value.stop();
      assert.deepEqual(order, ["kv-2", "kv-1", "kv-0"]);
      assert.equal(maxTerminating, 1);
    } finally {
      play.stop();
    }
  });
});
