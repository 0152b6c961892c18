/**
 * More traps of the Kubernetes API that break real clients (patch and apply rules, MicroTime,
 * create and update preconditions, list shapes, eviction, Tables, watch closes), one test
 * each, against the fake over a real socket. The client-node side (MicroTime, informers
 * stopping on errors) is in tests/kubernetes_client_traps_test.ts.
 */
import assert from "node:assert/strict";
import { nodePoolCrd } from "./testing/crds.ts";
import { call, openWatch, withKube } from "./testing/client.ts";

const PODS = "/api/v1/namespaces/default/pods";
const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const NP = "/apis/proxscale.io/v1alpha1/nodepools";
const MERGE = "application/merge-patch+json";
const SMP = "application/strategic-merge-patch+json";
const TABLE =
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const np = (name: string) => ({
  apiVersion: "proxscale.io/v1alpha1",
  kind: "NodePool",
  metadata: { name },
  spec: { providerRef: "p" },
});
const podBody = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  spec: { nodeName: "n1", containers: [{ name: "c", image: "x" }] },
});

Deno.test("strategic merge patch on a custom resource is 415 with the accepted types", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", CRDS, { body: nodePoolCrd() });
    await call(k, "POST", NP, { body: np("default") });
    const r = await call(k, "PATCH", `${NP}/default?fieldManager=kubectl-patch`, {
      body: { spec: { minNodes: 1 } },
      contentType: SMP,
    });
    assert.equal(r.status, 415);
    assert.deepEqual(r.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message:
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
      reason: "UnsupportedMediaType",
      code: 415,
    });
  });
});

Deno.test("SMP list semantics: finalizers merge, taints replace, conditions merge by type, directives never stored", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", "/api/v1/nodes", {
      body: {
        metadata: { name: "n1", finalizers: ["a"] },
        spec: {
          taints: [{ key: "t1", effect: "NoSchedule" }, { key: "t2", effect: "NoSchedule" }],
        },
        status: {
          conditions: [{ type: "Ready", status: "True" }, {
            type: "MemoryPressure",
            status: "False",
          }],
        },
      },
    });
    const r = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: {
        metadata: { finalizers: ["b"] },
        spec: {
          "$setElementOrder/taints": [{ key: "t2" }],
          taints: [{ key: "t2", effect: "NoSchedule" }],
        },
      },
      contentType: SMP,
    });
    assert.deepEqual(r.json.metadata.finalizers, ["a", "b"]);
    assert.deepEqual(r.json.spec.taints, [{ key: "t2", effect: "NoSchedule" }]);
    const s = await call(k, "PATCH", "/api/v1/nodes/n1/status", {
      body: { status: { conditions: [{ type: "MemoryPressure", status: "True" }] } },
      contentType: SMP,
    });
    assert.deepEqual(s.json.status.conditions.map((c: { status: string }) => c.status), [
      "True",
      "True",
    ]);
    const none = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: { spec: { taints: null } },
      contentType: SMP,
    });
    assert.equal(none.json.spec.taints, undefined);
    assert.ok(!JSON.stringify((await call(k, "GET", "/api/v1/nodes/n1")).json).includes("$"));
  });
});

Deno.test("server-side apply creates missing objects with 201 and requires fieldManager; force elsewhere is 422", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", CRDS, { body: nodePoolCrd() });
    const apply = "application/apply-patch+yaml";
    const created = await call(k, "PATCH", `${NP}/a?fieldManager=proxscale&force=true`, {
      body: np("a"),
      contentType: apply,
    });
    assert.equal(created.status, 201);
    assert.equal(created.json.metadata.generation, 1);
    const missing = await call(k, "PATCH", `${NP}/a`, { body: np("a"), contentType: apply });
    assert.equal(missing.status, 422);
    const status = await call(k, "PATCH", `${NP}/a/status?fieldManager=proxscale&force=true`, {
      body: {
        apiVersion: "proxscale.io/v1alpha1",
        kind: "NodePool",
        metadata: { name: "a" },
        status: { conditions: [{ type: "Ready", status: "True" }] },
      },
      contentType: apply,
    });
    assert.equal(status.status, 200);
    assert.equal(status.json.status.conditions[0].type, "Ready");
    const merged = await call(k, "PATCH", `${NP}/a/status?fieldManager=other&force=true`, {
      body: {
        apiVersion: "proxscale.io/v1alpha1",
        kind: "NodePool",
        metadata: { name: "a" },
        status: { conditions: [{ type: "Drifted", status: "False" }] },
      },
      contentType: apply,
    });
    assert.deepEqual(merged.json.status.conditions.map((c: { type: string }) => c.type), [
      "Ready",
      "Drifted",
    ], "list-map conditions merge by type");
    const force = await call(k, "PATCH", `${NP}/a?force=true`, {
      body: { spec: { minNodes: 1 } },
      contentType: MERGE,
    });
    assert.equal(force.status, 422);
    assert.equal(
      force.json.message,
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    );
  });
});

Deno.test("MicroTime with JavaScript's three digits is a 400, six digits are accepted and emitted", async () => {
  await withKube({}, async (k) => {
    const leases = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
    const js = new Date(Date.UTC(2026, 10, 26, 3, 40, 32, 182)).toISOString();
    const bad = await call(k, "POST", leases, {
      body: { metadata: { name: "l" }, spec: { renewTime: js } },
    });
    assert.equal(bad.status, 400);
    const good = await call(k, "POST", leases, {
      body: { metadata: { name: "l" }, spec: { renewTime: "2026-11-26T03:40:32.182000Z" } },
    });
    assert.equal(good.json.spec.renewTime, "2026-11-26T03:40:32.182000Z");
    const ev = await call(k, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", {
      body: {
        metadata: { name: "e" },
        eventTime: js,
        type: "Normal",
        reason: "R",
        action: "A",
        reportingController: "c",
        reportingInstance: "i",
        regarding: { kind: "Pod", name: "p" },
      },
    });
    assert.equal(ev.status, 400);
  });
});

Deno.test("POST with metadata.resourceVersion is a 500", async () => {
  await withKube({}, async (k) => {
    const r = await call(k, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "a", resourceVersion: "41" } },
    });
    assert.equal(r.status, 500);
    assert.equal(r.json.message, "resourceVersion should not be set on objects to be created");
  });
});

Deno.test("PUT without resourceVersion is 422 for CRs, Leases, PDBs and CRDs, allowed for Pods and Nodes; PUT creates a missing Lease", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", CRDS, { body: nodePoolCrd() });
    const cases: [string, Record<string, unknown>, string][] = [
      [NP, np("a"), 'nodepools.proxscale.io "a"'],
      [
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        { metadata: { name: "a" } },
        'leases.coordination.k8s.io "a"',
      ],
      ["/apis/policy/v1/namespaces/default/poddisruptionbudgets", {
        metadata: { name: "a" },
        spec: { minAvailable: 1, selector: {} },
      }, 'poddisruptionbudgets.policy "a"'],
    ];
    for (const [base, body, who] of cases) {
      await call(k, "POST", base, { body });
      const r = await call(k, "PUT", `${base}/a`, { body });
      assert.equal(r.status, 422, base);
      assert.equal(
        r.json.message,
        `${who} is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
      );
    }
    const crd = await call(k, "PUT", `${CRDS}/nodepools.proxscale.io`, { body: nodePoolCrd() });
    assert.equal(crd.status, 422);
    await call(k, "POST", PODS, { body: podBody("p") });
    const pod = await call(k, "PUT", `${PODS}/p`, {
      body: { ...podBody("p"), metadata: { name: "p", labels: { a: "1" } } },
    });
    assert.equal(pod.status, 200);
    await call(k, "POST", "/api/v1/nodes", { body: { metadata: { name: "n" } } });
    assert.equal(
      (await call(k, "PUT", "/api/v1/nodes/n", {
        body: { metadata: { name: "n", labels: { a: "1" } } },
      })).status,
      200,
    );
    const lease = await call(
      k,
      "PUT",
      "/apis/coordination.k8s.io/v1/namespaces/default/leases/new",
      { body: { metadata: { name: "new" }, spec: { holderIdentity: "me" } } },
    );
    assert.equal(lease.status, 201);
    const missingPod = await call(k, "PUT", `${PODS}/nope`, { body: podBody("nope") });
    assert.equal(missingPod.status, 404);
  });
});

Deno.test("status is ignored on the main resource and reset to Pending on Pod create", async () => {
  await withKube({}, async (k) => {
    const p = await call(k, "POST", PODS, {
      body: { ...podBody("p"), status: { phase: "Running" } },
    });
    assert.equal(p.json.status.phase, "Pending");
    assert.equal(p.json.status.qosClass, "BestEffort");
    const put = await call(k, "PUT", `${PODS}/p`, {
      body: { ...p.json, status: { phase: "Failed" } },
    });
    assert.equal(put.json.status.phase, "Pending");
    const st = await call(k, "PUT", `${PODS}/p/status`, {
      body: { ...put.json, status: { phase: "Running" } },
    });
    assert.equal(st.json.status.phase, "Running");
  });
});

Deno.test("built-in list items have no kind/apiVersion, custom resource items do, items is never null", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", PODS, { body: podBody("p") });
    const pods = await call(k, "GET", PODS);
    assert.equal(pods.json.kind, "PodList");
    assert.equal(pods.json.apiVersion, "v1");
    assert.equal(pods.json.items[0].kind, undefined);
    assert.equal(pods.json.items[0].apiVersion, undefined);
    await call(k, "POST", CRDS, { body: nodePoolCrd() });
    assert.deepEqual((await call(k, "GET", NP)).json.items, []);
    await call(k, "POST", NP, { body: np("a") });
    const nps = await call(k, "GET", NP);
    assert.equal(nps.json.kind, "NodePoolList");
    assert.equal(nps.json.items[0].kind, "NodePool");
    assert.equal(nps.json.items[0].apiVersion, "proxscale.io/v1alpha1");
  });
});

Deno.test("every APIResourceList puts main resources before subresources; pods/eviction names policy/v1 Eviction", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", CRDS, { body: nodePoolCrd({ scale: true }) });
    const groups = (await call(k, "GET", "/apis")).json.groups as {
      versions: { groupVersion: string }[];
    }[];
    const paths = [
      "/api/v1",
      ...groups.flatMap((g) => g.versions.map((v) => `/apis/${v.groupVersion}`)),
    ];
    for (const p of paths) {
      const names = ((await call(k, "GET", p)).json.resources as { name: string }[]).map((r) =>
        r.name
      );
      names.forEach((n, i) => {
        if (n.includes("/")) assert.ok(names.indexOf(n.split("/")[0]!) < i, `${p}: ${n}`);
      });
    }
    const scale = (await call(k, "GET", "/apis/proxscale.io/v1alpha1")).json.resources.find((
      r: { name: string },
    ) => r.name === "nodepools/scale");
    assert.deepEqual([scale.group, scale.version, scale.kind], ["autoscaling", "v1", "Scale"]);
  });
});

Deno.test("faults a client must survive: watch 500s, watch resets mid-stream, failed lists", async () => {
  await withKube({ seed: 3 }, async (k) => {
    k.faults.watchErrorRate = 1;
    assert.equal((await call(k, "GET", `${PODS}?watch=true`)).status, 500);
    k.faults.watchErrorRate = 0;
    const w = await openWatch(k, `${PODS}?watch=true`);
    const pending = w.next();
    assert.equal(k.faults.dropWatches("reset"), 1);
    await assert.rejects(pending);
    k.faults.errorRate = 1;
    k.faults.pathFilter = /\/pods$/;
    assert.equal((await call(k, "GET", PODS)).status, 500);
    assert.equal(
      (await call(k, "GET", "/api/v1/nodes")).status,
      200,
      "the filter limits the faults",
    );
  });
});

Deno.test("list objects and watch objects have the same JSON shape on the wire (timestamps as strings)", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", PODS, { body: podBody("p") });
    const listed = (await call(k, "GET", PODS)).json.items[0];
    const w = await openWatch(k, `${PODS}?watch=true`);
    const watched = (await w.next()).object;
    await w.close();
    assert.equal(typeof listed.metadata.creationTimestamp, "string");
    assert.deepEqual({ ...watched, kind: undefined, apiVersion: undefined }, {
      ...listed,
      kind: undefined,
      apiVersion: undefined,
    });
  });
});

Deno.test("eviction success is 201; an empty PDB selector selects every pod of the namespace", async () => {
  await withKube({ gracefulDeletion: { scale: 0 } }, async (k) => {
    for (const n of ["a", "b"]) {
      await call(k, "POST", PODS, { body: podBody(n, { app: n }) });
      await call(k, "PATCH", `${PODS}/${n}/status`, {
        body: { status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } },
        contentType: MERGE,
      });
    }
    await call(k, "POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets", {
      body: { metadata: { name: "all" }, spec: { minAvailable: 1, selector: {} } },
    });
    await call(k, "POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets", {
      body: { metadata: { name: "none" }, spec: { minAvailable: 5 } },
    });
    const first = await call(k, "POST", `${PODS}/a/eviction`, {
      body: { metadata: { name: "a" } },
    });
    assert.equal(first.status, 201);
    const second = await call(k, "POST", `${PODS}/b/eviction`, {
      body: { metadata: { name: "b" } },
    });
    assert.equal(second.status, 429);
    assert.match(second.json.details.causes[0].message, /^The disruption budget all needs/);
    const mismatch = await call(k, "POST", `${PODS}/b/eviction`, {
      body: { metadata: { name: "x" } },
    });
    assert.equal(mismatch.json.message, "name in URL does not match name in Eviction object");
  });
});

Deno.test("graceful pod deletion finishes by itself (fake kubelet) and kubectl-style delete waits see DELETED", async () => {
  await withKube({ gracefulDeletion: { scale: 0.001 } }, async (k) => {
    await call(k, "POST", PODS, { body: podBody("p") });
    const list = await call(
      k,
      "GET",
      `${PODS}?fieldSelector=metadata.name%3Dp&limit=500&resourceVersion=0`,
    );
    const w = await openWatch(
      k,
      `${PODS}?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dp&resourceVersion=${list.json.metadata.resourceVersion}&timeoutSeconds=301&watch=true`,
    );
    await call(k, "DELETE", `${PODS}/p`, { body: { propagationPolicy: "Background" } });
    const events = await w.take(2);
    assert.deepEqual(events.map((e) => e.type), ["MODIFIED", "DELETED"]);
    await w.close();
  });
});

Deno.test("Table rows carry PartialObjectMetadata and the Table carries metadata.resourceVersion, for get, list and watch", async () => {
  await withKube({}, async (k) => {
    const p = await call(k, "POST", PODS, { body: podBody("p", { app: "web" }) });
    const one = await call(k, "GET", `${PODS}/p`, { accept: TABLE });
    assert.equal(one.json.metadata.resourceVersion, p.json.metadata.resourceVersion);
    assert.deepEqual(
      one.json.columnDefinitions.filter((c: { priority: number }) => c.priority === 0).map((
        c: { name: string },
      ) => c.name),
      ["Name", "Ready", "Status", "Restarts", "Age"],
    );
    assert.equal(one.json.rows[0].object.metadata.namespace, "default");
    const full = await call(k, "GET", `${PODS}?includeObject=Object`, { accept: TABLE });
    assert.equal(full.json.rows[0].object.kind, "Pod");
    const none = await call(k, "GET", `${PODS}?includeObject=None`, { accept: TABLE });
    assert.equal(none.json.rows[0].object, undefined);
    const w = await openWatch(k, `${PODS}?watch=true&resourceVersion=0`, TABLE);
    await call(k, "PATCH", `${PODS}/p`, {
      body: { metadata: { labels: { b: "2" } } },
      contentType: MERGE,
    });
    const [added, modified] = await w.take(2);
    assert.equal(added.object.kind, "Table");
    assert.equal(added.object.rows.length, 1);
    assert.ok(added.object.columnDefinitions);
    assert.equal(modified.object.columnDefinitions, undefined, "columns only in the first event");
    assert.equal(modified.object.rows[0].object.kind, "PartialObjectMetadata");
    assert.ok(modified.object.metadata.resourceVersion);
    await w.close();
  });
});

Deno.test("discovery and OpenAPI follow CRDs at once (no server-side staleness), and the OpenAPI hash changes", async () => {
  await withKube({}, async (k) => {
    const before = (await call(k, "GET", "/openapi/v3")).json.paths;
    assert.equal(before["apis/proxscale.io/v1alpha1"], undefined);
    await call(k, "POST", CRDS, { body: nodePoolCrd() });
    assert.equal((await call(k, "GET", "/apis/proxscale.io/v1alpha1")).status, 200);
    const url1 = (await call(k, "GET", "/openapi/v3")).json.paths["apis/proxscale.io/v1alpha1"]
      .serverRelativeURL;
    const crd = (await call(k, "GET", `${CRDS}/nodepools.proxscale.io`)).json;
    crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.extra = {
      type: "string",
    };
    assert.equal(
      (await call(k, "PUT", `${CRDS}/nodepools.proxscale.io`, { body: crd })).status,
      200,
    );
    const url2 = (await call(k, "GET", "/openapi/v3")).json.paths["apis/proxscale.io/v1alpha1"]
      .serverRelativeURL;
    assert.notEqual(url1, url2);
    await call(k, "DELETE", `${CRDS}/nodepools.proxscale.io`);
    assert.equal((await call(k, "GET", "/apis/proxscale.io/v1alpha1")).status, 404);
    assert.ok(
      !(await call(k, "GET", "/apis")).json.groups.some((g: { name: string }) =>
        g.name === "proxscale.io"
      ),
    );
  });
});

Deno.test("a watch ends cleanly at timeoutSeconds and an ERROR event is a Status object", async () => {
  await withKube({ historyLimit: 0 }, async (k) => {
    const a = await call(k, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "a" } },
    });
    const w = await openWatch(
      k,
      `/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=0&resourceVersion=${k.store.resourceVersion()}`,
    );
    assert.equal(await w.next(), undefined);
    const old = await openWatch(
      k,
      `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${
        Number(a.json.metadata.resourceVersion) - 1
      }`,
    );
    const e = await old.next();
    assert.deepEqual([e.type, e.object.kind, e.object.status, e.object.reason], [
      "ERROR",
      "Status",
      "Failure",
      "Expired",
    ]);
    await old.close();
  });
});

Deno.test("watches stay open by default and close early only as a deliberate fault", async () => {
  await withKube({}, async (k) => {
    const w = await openWatch(k, `${PODS}?watch=true`);
    await new Promise((r) => setTimeout(r, 100));
    await call(k, "POST", PODS, { body: podBody("late") });
    assert.equal((await w.next()).type, "ADDED", "still open after a pause");
    await w.close();
    k.faults.watchDropAfterMs = 20;
    const dropped = await openWatch(
      k,
      `${PODS}?watch=true&resourceVersion=${k.store.resourceVersion()}`,
    );
    assert.equal(await dropped.next(), undefined, "closed cleanly by the fault");
  });
});

Deno.test("fault hooks for client robustness: malformed list/watch objects and silent watches", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", PODS, { body: podBody("good") });
    await call(k, "POST", PODS, { body: podBody("bad") });
    k.faults.mangle = (o) =>
      (o.metadata as { name?: string })?.name === "bad"
        ? { ...o, metadata: undefined, spec: "wrong" }
        : o;
    const list = await call(k, "GET", PODS);
    assert.deepEqual(
      list.json.items.map((i: { metadata?: { name: string } }) => i.metadata?.name ?? null),
      ["good", null],
    );
    assert.equal(list.json.items[0].kind, undefined, "built-in items still carry no kind");
    const w = await openWatch(k, `${PODS}?watch=true`);
    const events = await w.take(2);
    assert.equal(events[1].object.spec, "wrong");
    k.faults.mangle = undefined;
    k.faults.muteWatches = true;
    await call(k, "POST", PODS, { body: podBody("unseen") });
    k.faults.muteWatches = false;
    await call(k, "POST", PODS, { body: podBody("seen") });
    assert.equal((await w.next()).object.metadata.name, "seen", "the muted event never arrives");
    await w.close();
  });
});

Deno.test("server-side apply by default: conflicts are 409 unless force, omitted fields are removed, shared fields stay", async () => {
  const APPLY = "application/apply-patch+yaml";
  const CM = "/api/v1/namespaces/default/configmaps";
  const cm = (data: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c" },
    data,
  });
  await withKube(
    { now: () => Date.parse("2026-11-26T03:33:24Z") },
    async (k) => {
      await call(k, "POST", `${CM}?fieldManager=kubectl-client-side-apply`, {
        body: cm({ a: "1", b: "1" }),
      });
      const one = await call(k, "PATCH", `${CM}/c?fieldManager=kubectl&force=false`, {
        body: cm({ a: "2" }),
        contentType: APPLY,
      });
      assert.equal(one.status, 409);
      assert.equal(one.json.reason, "Conflict");
      assert.equal(
        one.json.message,
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.a',
      );
      assert.deepEqual(one.json.details.causes, [{
        reason: "FieldManagerConflict",
        message: 'conflict with "kubectl-client-side-apply" using v1',
        field: ".data.a",
      }]);
      const two = await call(k, "PATCH", `${CM}/c?fieldManager=kubectl`, {
        body: cm({ a: "2", b: "2" }),
        contentType: APPLY,
      });
      assert.equal(
        two.json.message,
        'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using v1:\n- .data.a\n- .data.b',
      );
      const same = await call(k, "PATCH", `${CM}/c?fieldManager=kubectl`, {
        body: cm({ a: "1" }),
        contentType: APPLY,
      });
      assert.equal(same.status, 200, "applying an equal value is no conflict");
      const forced = await call(k, "PATCH", `${CM}/c?fieldManager=kubectl&force=true`, {
        body: cm({ a: "2", x: "1" }),
        contentType: APPLY,
      });
      assert.deepEqual(forced.json.data, { a: "2", b: "1", x: "1" });
      const again = await call(k, "PATCH", `${CM}/c?fieldManager=kubectl&force=false`, {
        body: cm({ a: "3", x: "1" }),
        contentType: APPLY,
      });
      assert.equal(again.status, 200, "force moved ownership of .data.a");
      await call(k, "PATCH", `${CM}/c?fieldManager=other`, {
        body: cm({ x: "1" }),
        contentType: APPLY,
      });
      const dropped = await call(k, "PATCH", `${CM}/c?fieldManager=kubectl`, {
        body: cm({}),
        contentType: APPLY,
      });
      assert.deepEqual(
        dropped.json.data,
        { b: "1", x: "1" },
        ".data.a removed; .data.x shared with another applier stays",
      );
    },
  );
  await withKube({ applyOwnership: false }, async (k) => {
    await call(k, "POST", `${CM}?fieldManager=kubectl-client-side-apply`, { body: cm({ a: "1" }) });
    const r = await call(k, "PATCH", `${CM}/c?fieldManager=kubectl`, {
      body: cm({ a: "2" }),
      contentType: APPLY,
    });
    assert.equal(r.status, 200, "without the switch, apply always wins");
  });
});

Deno.test("server-side apply: list-map conditions are owned per entry and per subresource", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", CRDS, { body: nodePoolCrd() });
    const apply = (manager: string, conditions: { type: string; status: string }[]) =>
      call(k, "PATCH", `${NP}/a/status?fieldManager=${manager}&force=true`, {
        body: {
          apiVersion: "proxscale.io/v1alpha1",
          kind: "NodePool",
          metadata: { name: "a" },
          status: { conditions },
        },
        contentType: "application/apply-patch+yaml",
      });
    await call(k, "PATCH", `${NP}/a?fieldManager=proxscale`, {
      body: np("a"),
      contentType: "application/apply-patch+yaml",
    });
    await apply("proxscale", [{ type: "Ready", status: "True" }]);
    await apply("other", [{ type: "Drifted", status: "False" }]);
    const r = await apply("proxscale", []);
    assert.deepEqual(r.json.status.conditions.map((c: { type: string }) => c.type), ["Drifted"]);
    assert.equal(
      r.json.spec.providerRef,
      "p",
      "the status apply does not remove what the same manager applied to the main resource",
    );
    const conflict = await call(k, "PATCH", `${NP}/a/status?fieldManager=proxscale`, {
      body: {
        apiVersion: "proxscale.io/v1alpha1",
        kind: "NodePool",
        metadata: { name: "a" },
        status: { conditions: [{ type: "Drifted", status: "True" }] },
      },
      contentType: "application/apply-patch+yaml",
    });
    assert.equal(
      conflict.json.message,
      'Apply failed with 1 conflict: conflict with "other" with subresource "status": .status.conditions[type="Drifted"].status',
    );
  });
});

Deno.test("injected 500s repeat exactly for a seed, and injected latency delays answers", async () => {
  const pattern = async (seed: number) => {
    let out = "";
    await withKube({ seed, faults: { errorRate: 0.5 } }, async (k) => {
      for (let i = 0; i < 24; i++) {
        out += (await call(k, "GET", "/api/v1/nodes")).status === 500 ? "x" : ".";
      }
    });
    return out;
  };
  const a = await pattern(42);
  assert.equal(await pattern(42), a);
  assert.notEqual(await pattern(43), a);
  assert.match(a, /x/);
  assert.match(a, /\./);
  await withKube({ faults: { latencyMs: { min: 40, max: 40 } } }, async (k) => {
    const t0 = performance.now();
    await call(k, "GET", "/version");
    assert.ok(performance.now() - t0 >= 35, "the answer waited for the injected latency");
  });
});
