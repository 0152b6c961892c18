/**
 * The workload and storage kinds the fake serves for the cluster's controllers: discovery
 * lists them (with `/scale` on the replicated kinds), the scale subresource answers GET, PUT
 * and PATCH as autoscaling/v1 Scale, the apiserver's defaults apply, and Orphan/Foreground
 * deletes leave their finalizer for a garbage collector.
 */
import assert from "node:assert/strict";
import { call, withKube } from "./testing/client.ts";

const DEPLOY = "/apis/apps/v1/namespaces/default/deployments";

const deployment = {
  metadata: { name: "web" },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "c", image: "x" }] },
    },
  },
};

Deno.test("discovery lists the workload and storage kinds (jobs and cronjobs among them), with scale on deployments, replicasets and statefulsets", async () => {
  await withKube({}, async (k) => {
    const apps = (await call(k, "GET", "/apis/apps/v1")).json;
    const names = apps.resources.map((r: { name: string }) => r.name);
    for (
      const n of [
        "daemonsets",
        "daemonsets/status",
        "deployments/scale",
        "replicasets/scale",
        "statefulsets/scale",
      ]
    ) {
      assert.ok(names.includes(n), n);
    }
    assert.ok(!names.includes("daemonsets/scale"));
    const core = (await call(k, "GET", "/api/v1")).json.resources;
    const pv = core.find((r: { name: string }) => r.name === "persistentvolumes");
    assert.equal(pv.namespaced, false);
    assert.deepEqual(pv.shortNames, ["pv"]);
    assert.ok(core.some((r: { name: string }) => r.name === "persistentvolumeclaims"));
    const batch = (await call(k, "GET", "/apis/batch/v1")).json.resources;
    assert.deepEqual(
      batch.map((r: { name: string }) => r.name).sort(),
      ["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
    );
    const sc = (await call(k, "GET", "/apis/storage.k8s.io/v1")).json.resources[0];
    assert.equal(sc.name, "storageclasses");
    assert.equal(sc.namespaced, false);
  });
});

Deno.test("the scale subresource reads and writes spec.replicas through GET, PUT, merge PATCH and JSON PATCH", async () => {
  await withKube({}, async (k) => {
    assert.equal((await call(k, "POST", DEPLOY, { body: deployment })).status, 201);
    const got = await call(k, "GET", `${DEPLOY}/web/scale`);
    assert.equal(got.status, 200);
    assert.equal(got.json.apiVersion, "autoscaling/v1");
    assert.equal(got.json.kind, "Scale");
    assert.deepEqual(got.json.spec, { replicas: 2 });
    assert.deepEqual(got.json.status, { replicas: 0, selector: "app=web" });

    const put = await call(k, "PUT", `${DEPLOY}/web/scale`, {
      body: { ...got.json, spec: { replicas: 4 } },
    });
    assert.equal(put.status, 200);
    assert.equal(k.store.peek("deployments.apps", "default", "web")!.spec.replicas, 4);
    const stale = await call(k, "PUT", `${DEPLOY}/web/scale`, {
      body: { ...got.json, spec: { replicas: 1 } },
    });
    assert.equal(stale.status, 409, "an old resourceVersion conflicts");

    const merge = await call(k, "PATCH", `${DEPLOY}/web/scale`, {
      body: { spec: { replicas: 6 } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(merge.status, 200);
    assert.equal(merge.json.spec.replicas, 6);
    const json = await call(k, "PATCH", `${DEPLOY}/web/scale`, {
      body: [{ op: "replace", path: "/spec/replicas", value: 3 }],
      contentType: "application/json-patch+json",
    });
    assert.equal(json.status, 200);
    const d = k.store.peek("deployments.apps", "default", "web")!;
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.metadata.generation, 4, "every replica change is a new generation");
  });
});

Deno.test("workload kinds get the apiserver's defaults: rolling update 25%, a Job's own selector, claims Pending", async () => {
  await withKube({}, async (k) => {
    const d = (await call(k, "POST", DEPLOY, {
      body: { ...deployment, spec: { ...deployment.spec, replicas: undefined } },
    })).json;
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
    });
    assert.equal(d.spec.revisionHistoryLimit, 10);
    const job = (await call(k, "POST", "/apis/batch/v1/namespaces/default/jobs", {
      body: {
        metadata: { name: "j" },
        spec: {
          template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "x" }] } },
        },
      },
    })).json;
    assert.equal(job.spec.completions, 1);
    assert.equal(job.spec.parallelism, 1);
    assert.equal(job.spec.backoffLimit, 6);
    assert.deepEqual(job.spec.selector, {
      matchLabels: { "batch.kubernetes.io/controller-uid": job.metadata.uid },
    });
    assert.equal(job.spec.template.metadata.labels["job-name"], "j");
    const pvc = (await call(k, "POST", "/api/v1/namespaces/default/persistentvolumeclaims", {
      body: { metadata: { name: "c" }, spec: { accessModes: ["ReadWriteOnce"] } },
    })).json;
    assert.equal(pvc.status.phase, "Pending");
    const sc = (await call(k, "POST", "/apis/storage.k8s.io/v1/storageclasses", {
      body: { metadata: { name: "s" }, provisioner: "rancher.io/local-path" },
    })).json;
    assert.equal(sc.reclaimPolicy, "Delete");
    assert.equal(sc.volumeBindingMode, "Immediate");
  });
});

Deno.test("Orphan and Foreground deletes mark the object with their finalizer; Background deletes it at once", async () => {
  await withKube({}, async (k) => {
    for (const name of ["o", "f", "b"]) {
      await call(k, "POST", DEPLOY, { body: { ...deployment, metadata: { name } } });
    }
    await call(k, "DELETE", `${DEPLOY}/o`, { body: { propagationPolicy: "Orphan" } });
    await call(k, "DELETE", `${DEPLOY}/f?propagationPolicy=Foreground`);
    await call(k, "DELETE", `${DEPLOY}/b`, { body: { propagationPolicy: "Background" } });
    const o = k.store.peek("deployments.apps", "default", "o")!;
    assert.ok(o.metadata.deletionTimestamp);
    assert.deepEqual(o.metadata.finalizers, ["orphan"]);
    assert.deepEqual(k.store.peek("deployments.apps", "default", "f")!.metadata.finalizers, [
      "foregroundDeletion",
    ]);
    assert.equal(k.store.peek("deployments.apps", "default", "b"), undefined);
  });
});
