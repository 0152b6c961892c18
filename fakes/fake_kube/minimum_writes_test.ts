/**
 * What kubectl 1.32 and client-node 2.0.1 need of a fake API server's writes (patch types, status
 * subresources, eviction with the PDB controller, finalizers and graceful deletion) against the
 * fake over a real socket.
 */
import assert from "node:assert/strict";
import { call, openWatch, withKube } from "./testing/client.ts";

const PODS = "/api/v1/namespaces/default/pods";
const MERGE = "application/merge-patch+json";
const SMP = "application/strategic-merge-patch+json";
const JSONP = "application/json-patch+json";
const APPLY = "application/apply-patch+yaml";

const readyPod = (name: string, labels: Record<string, string>) => ({
  metadata: { name, labels },
  spec: { nodeName: "n1", containers: [{ name: "c", image: "x" }] },
});

async function makeRunning(k: Parameters<typeof call>[0], name: string, labels = { app: "web" }) {
  await call(k, "POST", PODS, { body: readyPod(name, labels) });
  return await call(k, "PATCH", `${PODS}/${name}/status`, {
    body: { status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } },
    contentType: MERGE,
  });
}

Deno.test("merge, JSON and strategic merge patch (list rules, directives stripped), apply upserts with 201 and needs fieldManager", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", "/api/v1/nodes", {
      body: {
        metadata: { name: "n1", labels: { "proxscale.io/pool": "a" }, finalizers: ["a"] },
        spec: { taints: [{ key: "x", effect: "NoSchedule" }] },
        status: {
          conditions: [{ type: "Ready", status: "True" }, {
            type: "DiskPressure",
            status: "False",
          }],
        },
      },
    });
    const merged = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: { metadata: { labels: { "proxscale.io/pool": null, b: "1" } } },
      contentType: MERGE,
    });
    assert.deepEqual(merged.json.metadata.labels, { b: "1" });
    const jp = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: [{ op: "test", path: "/metadata/labels/b", value: "1" }, {
        op: "add",
        path: "/metadata/labels/proxscale.io~1pool",
        value: "z",
      }],
      contentType: JSONP,
    });
    assert.equal(jp.json.metadata.labels["proxscale.io/pool"], "z");
    const failedTest = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: [{ op: "test", path: "/metadata/labels/b", value: "2" }],
      contentType: JSONP,
    });
    assert.deepEqual([failedTest.status, failedTest.json.reason], [422, "Invalid"]);
    const notArray = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: { spec: {} },
      contentType: JSONP,
    });
    assert.equal(notArray.status, 400);
    assert.match(notArray.json.message, /^error decoding patch:/);
    const smp = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: {
        metadata: { finalizers: ["b"] },
        spec: { taints: [{ key: "y", effect: "NoExecute" }], unschedulable: true },
        $setElementOrder: undefined,
      },
      contentType: SMP,
    });
    assert.deepEqual(smp.json.metadata.finalizers, ["a", "b"]);
    assert.deepEqual(
      smp.json.spec.taints.map((t: { key: string }) => t.key),
      ["y"],
      "taints replace wholesale",
    );
    const cordoned = await call(k, "GET", "/api/v1/nodes/n1");
    assert.deepEqual(cordoned.json.spec.taints.map((t: { key: string }) => t.key), [
      "y",
      "node.kubernetes.io/unschedulable",
    ]);
    const status = await call(k, "PATCH", "/api/v1/nodes/n1/status", {
      body: {
        status: {
          conditions: [{ type: "Ready", status: "False" }],
          "$setElementOrder/conditions": [{ type: "Ready" }],
        },
      },
      contentType: SMP,
    });
    assert.deepEqual(
      status.json.status.conditions.map((c: { type: string; status: string }) =>
        `${c.type}=${c.status}`
      ),
      ["Ready=False", "DiskPressure=False"],
    );
    assert.ok(!JSON.stringify(status.json).includes("$setElementOrder"));
    const removeFin = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } },
      contentType: SMP,
    });
    assert.deepEqual(removeFin.json.metadata.finalizers, ["b"]);

    await call(k, "POST", PODS, {
      body: {
        metadata: { name: "p" },
        spec: { containers: [{ name: "a", image: "1" }, { name: "b", image: "1" }] },
      },
    });
    const podSmp = await call(k, "PATCH", `${PODS}/p`, {
      body: { spec: { containers: [{ name: "b", image: "2" }] } },
      contentType: SMP,
    });
    assert.deepEqual(
      podSmp.json.spec.containers.map((c: { name: string; image: string }) =>
        `${c.name}:${c.image}`
      ),
      ["a:1", "b:2"],
    );

    const noManager = await call(k, "PATCH", "/api/v1/namespaces/default/configmaps/cm", {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" } },
      contentType: APPLY,
    });
    assert.equal(noManager.status, 422);
    assert.equal(
      noManager.json.message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    const upsert = await call(
      k,
      "PATCH",
      "/api/v1/namespaces/default/configmaps/cm?fieldManager=proxscale&force=true",
      {
        body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: "1"\n',
        contentType: APPLY,
      },
    );
    assert.equal(upsert.status, 201);
    const again = await call(
      k,
      "PATCH",
      "/api/v1/namespaces/default/configmaps/cm?fieldManager=proxscale&force=true",
      {
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" }, data: { b: "2" } },
        contentType: APPLY,
      },
    );
    assert.equal(again.status, 200);
    assert.deepEqual(
      again.json.data,
      { b: "2" },
      "data.a was applied by the same manager before and is dropped now, so apply removes it",
    );
    const force = await call(k, "PATCH", "/api/v1/namespaces/default/configmaps/cm?force=true", {
      body: {},
      contentType: MERGE,
    });
    assert.equal(force.status, 422);
  });
});

Deno.test("status subresources: main writes keep status, status writes change only status", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", "/api/v1/nodes", {
      body: {
        metadata: { name: "n1" },
        status: { conditions: [{ type: "Ready", status: "True" }] },
      },
    });
    const main = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: { metadata: { labels: { a: "1" } }, status: { conditions: [] } },
      contentType: MERGE,
    });
    assert.equal(main.json.status.conditions.length, 1);
    assert.equal(main.json.metadata.labels.a, "1");
    const st = await call(k, "PATCH", "/api/v1/nodes/n1/status", {
      body: {
        metadata: { labels: { a: "2" } },
        spec: { unschedulable: true },
        status: { phase: "x" },
      },
      contentType: MERGE,
    });
    assert.equal(st.json.status.phase, "x");
    assert.equal(st.json.metadata.labels.a, "1");
    assert.equal(st.json.spec?.unschedulable, undefined);
    const get = await call(k, "GET", "/api/v1/nodes/n1/status");
    assert.equal(get.json.kind, "Node");
    const created = await call(k, "POST", PODS, {
      body: {
        metadata: { name: "p" },
        spec: { containers: [{ name: "c", image: "x" }] },
        status: { phase: "Running" },
      },
    });
    assert.equal(created.json.status.phase, "Pending");
    const stale = await call(k, "PUT", "/api/v1/nodes/n1/status", {
      body: { ...get.json, metadata: { ...get.json.metadata, resourceVersion: "1" } },
    });
    assert.equal(stale.status, 409);
  });
});

Deno.test("eviction: PDB controller status, 429 with the budget message, 201 on success, 404 gone, 409 UID precondition, 500 for two PDBs", async () => {
  await withKube({ gracefulDeletion: { scale: 0 } }, async (k) => {
    await makeRunning(k, "web-1");
    await makeRunning(k, "web-2");
    await call(k, "POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets", {
      body: {
        metadata: { name: "web-pdb" },
        spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
      },
    });
    await new Promise((r) => setTimeout(r, 0));
    const pdb = await call(
      k,
      "GET",
      "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web-pdb",
    );
    assert.equal(pdb.json.metadata.generation, 1);
    assert.deepEqual(
      [
        pdb.json.status.observedGeneration,
        pdb.json.status.disruptionsAllowed,
        pdb.json.status.currentHealthy,
        pdb.json.status.desiredHealthy,
        pdb.json.status.expectedPods,
      ],
      [1, 1, 2, 1, 2],
    );
    const evict = (name: string, body: Record<string, unknown> = {}) =>
      call(k, "POST", `${PODS}/${name}/eviction`, {
        body: {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name, namespace: "default" },
          ...body,
        },
      });
    const ok = await evict("web-1");
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      code: 201,
    });
    const blocked = await evict("web-2");
    assert.equal(blocked.status, 429);
    assert.equal(blocked.headers.get("retry-after"), null);
    assert.deepEqual(blocked.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      reason: "TooManyRequests",
      details: {
        causes: [{
          reason: "DisruptionBudget",
          message: "The disruption budget web-pdb needs 1 healthy pods and has 1 currently",
        }],
      },
      code: 429,
    });
    const gone = await evict("web-1");
    assert.equal(gone.status, 404);
    assert.equal(gone.json.message, 'pods "web-1" not found');
    const wrongUid = await evict("web-2", { deleteOptions: { preconditions: { uid: "other" } } });
    assert.equal(wrongUid.status, 429, "the budget is checked before preconditions");
    await call(k, "PATCH", `${PODS}/web-2/status`, {
      body: { status: { phase: "Pending" } },
      contentType: MERGE,
    });
    const uid = await evict("web-2", { deleteOptions: { preconditions: { uid: "other" } } });
    assert.equal(uid.status, 409);
    assert.match(
      uid.json.message,
      /^Operation cannot be fulfilled on Pod "web-2": the UID in the precondition \(other\) does not match the UID in record \(.+\)\. The object might have been deleted and then recreated$/,
    );
    await makeRunning(k, "db-1", { app: "db" });
    for (const n of ["a", "b"]) {
      await call(k, "POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets", {
        body: {
          metadata: { name: n },
          spec: { maxUnavailable: 1, selector: { matchLabels: { app: "db" } } },
        },
      });
    }
    const two = await evict("db-1");
    assert.equal(two.status, 500);
    assert.equal(
      two.json.message,
      "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    );
    assert.equal(two.json.reason, undefined);
  });
});

Deno.test("eviction of a PDB whose status lags its generation is 429 still being processed with Retry-After 10", async () => {
  await withKube({}, async (k) => {
    await makeRunning(k, "web-1");
    await makeRunning(k, "web-2");
    await call(k, "POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets", {
      body: { metadata: { name: "web-pdb" }, spec: { maxUnavailable: 1, selector: {} } },
    });
    k.store.sync();
    k.store.pausePdbController(true);
    await call(k, "PATCH", "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web-pdb", {
      body: { spec: { maxUnavailable: 2 } },
      contentType: MERGE,
    });
    const r = await call(k, "POST", `${PODS}/web-1/eviction`, {
      body: { metadata: { name: "web-1" } },
    });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get("retry-after"), "10");
    assert.equal(
      r.json.details.causes[0].message,
      "The disruption budget web-pdb is still being processed by the server.",
    );
    k.store.pausePdbController(false);
    const later = await call(k, "POST", `${PODS}/web-1/eviction`, {
      body: { metadata: { name: "web-1" } },
    });
    assert.equal(later.status, 201);
  });
});

Deno.test("finalizers mark instead of remove; removing the last one deletes; graceful pod deletion is finished by the fake kubelet", async () => {
  await withKube({ gracefulDeletion: { scale: 0.002 } }, async (k) => {
    const cm = "/api/v1/namespaces/default/configmaps";
    await call(k, "POST", cm, {
      body: { metadata: { name: "f", finalizers: ["proxscale.io/x"] } },
    });
    const marked = await call(k, "DELETE", `${cm}/f`);
    assert.equal(marked.status, 200);
    assert.equal(marked.json.kind, "ConfigMap");
    assert.ok(marked.json.metadata.deletionTimestamp);
    assert.equal(marked.json.metadata.deletionGracePeriodSeconds, 0);
    const again = await call(k, "DELETE", `${cm}/f`);
    assert.equal(again.json.metadata.resourceVersion, marked.json.metadata.resourceVersion);
    const add = await call(k, "PATCH", `${cm}/f`, {
      body: { metadata: { finalizers: ["proxscale.io/x", "y"] } },
      contentType: MERGE,
    });
    assert.equal(add.status, 422);
    assert.match(
      add.json.message,
      /metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers \[\]string\{"y"\}/,
    );
    const cleared = await call(k, "PATCH", `${cm}/f`, {
      body: { metadata: { finalizers: null } },
      contentType: MERGE,
    });
    assert.equal(cleared.status, 200);
    assert.equal((await call(k, "GET", `${cm}/f`)).status, 404);

    await call(k, "POST", PODS, { body: readyPod("p", {}) });
    const graceful = await call(k, "DELETE", `${PODS}/p`, {
      body: { propagationPolicy: "Background" },
    });
    assert.equal(graceful.json.metadata.deletionGracePeriodSeconds, 30);
    assert.equal((await call(k, "GET", `${PODS}/p`)).status, 200);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await call(k, "GET", `${PODS}/p`)).status, 404);
    await call(k, "POST", PODS, {
      body: {
        metadata: { name: "unscheduled" },
        spec: { containers: [{ name: "c", image: "x" }] },
      },
    });
    await call(k, "DELETE", `${PODS}/unscheduled`);
    assert.equal(
      (await call(k, "GET", `${PODS}/unscheduled`)).status,
      404,
      "unscheduled pods are deleted at once",
    );
  });
  await withKube({ gracefulDeletion: "hold" }, async (k) => {
    await call(k, "POST", PODS, { body: readyPod("stuck", {}) });
    await call(k, "DELETE", `${PODS}/stuck`);
    const r = await call(k, "GET", `${PODS}/stuck`, {
      accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    assert.equal(r.json.rows[0].cells[2], "Terminating");
    const now = await call(k, "DELETE", `${PODS}/stuck?gracePeriodSeconds=0`);
    assert.equal(now.status, 200);
    assert.equal(
      (await call(k, "GET", `${PODS}/stuck`)).status,
      404,
      "a shorter grace period finishes the deletion",
    );
  });
});

Deno.test("pods/binding sets nodeName and PodScheduled in one write; a second binding is 409", async () => {
  await withKube({}, async (k) => {
    const rs = (await call(k, "GET", "/api/v1")).json.resources.map((r: { name: string }) =>
      r.name
    );
    assert.ok(rs.indexOf("pods") < rs.indexOf("pods/binding"));
    await call(k, "POST", PODS, {
      body: { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "x" }] } },
    });
    const bind = (node: string) =>
      call(k, "POST", `${PODS}/p/binding`, {
        body: {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name: "p" },
          target: { apiVersion: "v1", kind: "Node", name: node },
        },
      });
    const before = k.store.resourceVersion();
    assert.equal((await bind("n1")).status, 201);
    const pod = (await call(k, "GET", `${PODS}/p`)).json;
    assert.equal(pod.spec.nodeName, "n1");
    assert.equal(
      pod.status.conditions.find((c: { type: string }) => c.type === "PodScheduled").status,
      "True",
    );
    assert.equal(Number(k.store.resourceVersion()), Number(before) + 1);
    const again = await bind("n2");
    assert.equal(again.status, 409);
    assert.equal(
      again.json.message,
      'Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node "n1"',
    );
  });
});

Deno.test("expired bootstrap-token Secrets are removed by the token cleaner; pod GC follows deleted nodes when enabled", async () => {
  let now = Date.parse("2026-11-26T04:00:00Z");
  await withKube({ now: () => now, podGcOnNodeDelete: true }, async (k) => {
    const secrets = "/api/v1/namespaces/kube-system/secrets";
    await call(k, "POST", secrets, {
      body: {
        metadata: { name: "bootstrap-token-07401b" },
        type: "bootstrap.kubernetes.io/token",
        stringData: {
          "token-id": "07401b",
          "token-secret": "f395accd246ae52d",
          expiration: "2026-11-26T04:40:00Z",
        },
      },
    });
    const created = await call(k, "GET", `${secrets}/bootstrap-token-07401b`);
    assert.equal(atob(created.json.data["token-id"]), "07401b");
    assert.equal(created.json.stringData, undefined, "stringData is write-only");
    now = Date.parse("2026-11-26T04:41:00Z");
    assert.equal((await call(k, "GET", secrets)).json.items.length, 0);

    await call(k, "POST", "/api/v1/nodes", { body: { metadata: { name: "n1" } } });
    await call(k, "POST", PODS, { body: readyPod("on-n1", {}) });
    await call(k, "POST", PODS, {
      body: {
        metadata: { name: "elsewhere" },
        spec: { nodeName: "n2", containers: [{ name: "c", image: "x" }] },
      },
    });
    await call(k, "DELETE", "/api/v1/nodes/n1");
    const left = (await call(k, "GET", PODS)).json.items.map((p: { metadata: { name: string } }) =>
      p.metadata.name
    );
    assert.deepEqual(left, ["elsewhere"]);
  });
});

Deno.test("node-lifecycle taints follow cordon and the Ready condition; unset booleans select as false", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", "/api/v1/nodes", {
      body: {
        metadata: { name: "n1" },
        spec: { taints: [{ key: "mine", effect: "NoSchedule" }] },
        status: { conditions: [{ type: "Ready", status: "True" }] },
      },
    });
    const keys = async () =>
      ((await call(k, "GET", "/api/v1/nodes/n1")).json.spec.taints ?? []).map((
        t: { key: string; effect: string },
      ) => `${t.key}:${t.effect}`);
    assert.deepEqual(await keys(), ["mine:NoSchedule"]);
    const uncordoned = await call(
      k,
      "GET",
      "/api/v1/nodes?fieldSelector=spec.unschedulable%3Dfalse",
    );
    assert.equal(uncordoned.json.items.length, 1);
    await call(k, "PATCH", "/api/v1/nodes/n1/status", {
      body: { status: { conditions: [{ type: "Ready", status: "False" }] } },
      contentType: SMP,
    });
    assert.deepEqual(await keys(), [
      "mine:NoSchedule",
      "node.kubernetes.io/not-ready:NoSchedule",
      "node.kubernetes.io/not-ready:NoExecute",
    ]);
    await call(k, "PATCH", "/api/v1/nodes/n1/status", {
      body: { status: { conditions: [{ type: "Ready", status: "Unknown" }] } },
      contentType: SMP,
    });
    assert.deepEqual(await keys(), [
      "mine:NoSchedule",
      "node.kubernetes.io/unreachable:NoSchedule",
      "node.kubernetes.io/unreachable:NoExecute",
    ]);
    await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: { spec: { unschedulable: true } },
      contentType: SMP,
    });
    await call(k, "PATCH", "/api/v1/nodes/n1/status", {
      body: { status: { conditions: [{ type: "Ready", status: "True" }] } },
      contentType: SMP,
    });
    assert.deepEqual(await keys(), [
      "mine:NoSchedule",
      "node.kubernetes.io/unschedulable:NoSchedule",
    ]);
    const taint = (await call(k, "GET", "/api/v1/nodes/n1")).json.spec.taints[1];
    assert.match(taint.timeAdded, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});

Deno.test("one Event store serves core/v1 and events.k8s.io/v1 shapes, in lists, gets, patches and watches", async () => {
  await withKube({}, async (k) => {
    const core = "/api/v1/namespaces/default/events";
    const v1 = "/apis/events.k8s.io/v1/namespaces/default/events";
    const w = await openWatch(k, `${v1}?watch=true&resourceVersion=${k.store.resourceVersion()}`);
    await call(k, "POST", core, {
      body: {
        metadata: { name: "np-default.1" },
        involvedObject: { apiVersion: "proxscale.io/v1alpha1", kind: "NodePool", name: "default" },
        reason: "ScaledUp",
        message: "created VM 104",
        type: "Normal",
        source: { component: "proxscale" },
        count: 1,
        reportingComponent: "proxscale",
      },
    });
    const added = await w.next();
    assert.deepEqual([
      added.type,
      added.object.apiVersion,
      added.object.note,
      added.object.regarding.kind,
    ], ["ADDED", "events.k8s.io/v1", "created VM 104", "NodePool"]);
    assert.equal(added.object.involvedObject, undefined);
    assert.equal(added.object.deprecatedCount, 1);
    const listed = (await call(k, "GET", v1)).json;
    assert.equal(listed.kind, "EventList");
    assert.equal(listed.items[0].deprecatedSource.component, "proxscale");
    assert.equal(listed.items[0].message, undefined);
    await call(k, "POST", v1, {
      body: {
        metadata: { name: "e2" },
        eventTime: "2026-11-26T03:40:00.000000Z",
        reportingController: "proxscale.io/controller",
        reportingInstance: "i",
        action: "ScaleUp",
        reason: "ScaledUp",
        type: "Normal",
        regarding: { kind: "NodePool", name: "default" },
        note: "via events.k8s.io",
      },
    });
    const asCore = (await call(k, "GET", `${core}/e2`)).json;
    assert.deepEqual([
      asCore.apiVersion,
      asCore.message,
      asCore.involvedObject.name,
      asCore.reportingComponent,
    ], ["v1", "via events.k8s.io", "default", "proxscale.io/controller"]);
    const patched = await call(k, "PATCH", `${v1}/np-default.1`, {
      body: { series: { count: 2, lastObservedTime: "2026-11-26T03:41:00.000000Z" } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(patched.json.series.count, 2);
    assert.equal(patched.json.note, "created VM 104");
    assert.equal((await call(k, "GET", `${core}/np-default.1`)).json.series.count, 2);
    assert.equal((await w.next()).type, "ADDED");
    assert.equal((await w.next()).object.series.count, 2);
    await w.close();
  });
});
