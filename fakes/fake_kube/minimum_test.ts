/**
 * The minimum a fake API server must serve for kubectl 1.32 and client-node 2.0.1 (content types,
 * version, discovery, OpenAPI, CRUD, resourceVersion, Status objects, watch), one test per
 * requirement, against the fake over a real socket with raw HTTP so the wire shapes are visible.
 */
import assert from "node:assert/strict";
import { call, openWatch, withKube } from "./testing/client.ts";

const AGG_ACCEPT =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

const node = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels },
  status: { conditions: [{ type: "Ready", status: "True" }] },
});
const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, labels: { app: "web" } },
  spec: { containers: [{ name: "c", image: "nginx" }], ...extra },
});

Deno.test("every JSON response carries Content-Type application/json, errors included", async () => {
  await withKube({}, async (k) => {
    const responses = [
      await call(k, "GET", "/version"),
      await call(k, "GET", "/api/v1/namespaces/default/pods/missing"),
      await call(k, "GET", "/nope"),
      await call(k, "POST", "/api/v1/namespaces/default/configmaps", {
        body: { metadata: { name: "a" } },
      }),
      await call(k, "POST", "/api/v1/namespaces/default/configmaps", {
        body: { metadata: { name: "a" } },
      }),
      await call(k, "PATCH", "/api/v1/namespaces/default/configmaps/a", {
        body: {},
        contentType: "text/plain",
      }),
      await call(k, "DELETE", "/api/v1/namespaces/default/configmaps/a"),
    ];
    assert.deepEqual(responses.map((r) => r.status), [200, 404, 404, 201, 409, 415, 200]);
    for (const r of responses) assert.equal(r.headers.get("content-type"), "application/json");
  });
});

Deno.test("GET /version reports v1.32.5", async () => {
  await withKube({}, async (k) => {
    const r = await call(k, "GET", "/version?timeout=5s");
    assert.equal(r.json.gitVersion, "v1.32.5");
    assert.equal(r.json.major, "1");
    assert.equal(r.json.minor, "32");
  });
});

Deno.test("legacy discovery lists main resources before subresources and pods/eviction as policy/v1 Eviction", async () => {
  await withKube({}, async (k) => {
    const api = await call(k, "GET", "/api");
    assert.equal(api.json.kind, "APIVersions");
    assert.deepEqual(api.json.versions, ["v1"]);
    const apis = await call(k, "GET", "/apis");
    assert.equal(apis.json.kind, "APIGroupList");
    const names = apis.json.groups.map((g: { name: string }) => g.name);
    for (const g of ["policy", "coordination.k8s.io", "apiextensions.k8s.io", "events.k8s.io"]) {
      assert.ok(names.includes(g), g);
    }
    const v1 = await call(k, "GET", "/api/v1");
    assert.equal(v1.json.kind, "APIResourceList");
    const rs = v1.json.resources as {
      name: string;
      kind: string;
      group?: string;
      version?: string;
      verbs: string[];
    }[];
    const idx = (n: string) => rs.findIndex((r) => r.name === n);
    assert.ok(idx("pods") < idx("pods/status") && idx("pods") < idx("pods/eviction"));
    assert.ok(idx("nodes") < idx("nodes/status"));
    const ev = rs.find((r) => r.name === "pods/eviction")!;
    assert.deepEqual([ev.group, ev.version, ev.kind, ev.verbs], ["policy", "v1", "Eviction", [
      "create",
    ]]);
    const pods = rs.find((r) => r.name === "pods")!;
    for (const v of ["list", "watch", "patch"]) assert.ok(pods.verbs.includes(v));
    const policy = await call(k, "GET", "/apis/policy/v1");
    assert.equal(policy.json.groupVersion, "policy/v1");
    assert.equal(policy.json.resources[0].name, "poddisruptionbudgets");
    const group = await call(k, "GET", "/apis/coordination.k8s.io");
    assert.equal(group.json.kind, "APIGroup");
    assert.equal(group.json.preferredVersion.groupVersion, "coordination.k8s.io/v1");
  });
});

Deno.test("aggregated discovery answers with the apidiscovery v2 Content-Type", async () => {
  await withKube({}, async (k) => {
    const apis = await call(k, "GET", "/apis", { accept: AGG_ACCEPT });
    assert.equal(
      apis.headers.get("content-type"),
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    );
    assert.equal(apis.json.kind, "APIGroupDiscoveryList");
    const policy = apis.json.items.find((i: { metadata: { name: string } }) =>
      i.metadata.name === "policy"
    );
    assert.equal(policy.versions[0].resources[0].resource, "poddisruptionbudgets");
    assert.equal(policy.versions[0].resources[0].scope, "Namespaced");
    const core = await call(k, "GET", "/api", { accept: AGG_ACCEPT });
    assert.equal(core.json.items.length, 1);
    assert.equal(core.json.items[0].metadata.name, "");
    const pods = core.json.items[0].versions[0].resources.find((r: { resource: string }) =>
      r.resource === "pods"
    );
    const ev = pods.subresources.find((s: { subresource: string }) => s.subresource === "eviction");
    assert.deepEqual(ev.responseKind, { group: "policy", version: "v1", kind: "Eviction" });
  });
  await withKube({ aggregatedDiscovery: false }, async (k) => {
    const r = await call(k, "GET", "/apis", { accept: AGG_ACCEPT });
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.equal(r.json.kind, "APIGroupList");
  });
});

Deno.test("/openapi/v3 index and group-version documents carry GVKs and fieldValidation; /openapi/v2 is 404", async () => {
  await withKube({}, async (k) => {
    const index = await call(k, "GET", "/openapi/v3");
    const entry = index.json.paths["api/v1"];
    assert.match(entry.serverRelativeURL, /^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]+$/);
    const doc = await call(k, "GET", entry.serverRelativeURL, { accept: "application/json" });
    const patch = doc.json.paths["/api/v1/namespaces/{name}"].patch;
    assert.deepEqual(patch["x-kubernetes-group-version-kind"], {
      group: "",
      version: "v1",
      kind: "Namespace",
    });
    assert.ok(
      patch.parameters.some((p: { name: string; in: string }) =>
        p.name === "fieldValidation" && p.in === "query"
      ),
    );
    assert.ok(!("application/strategic-merge-patch+json" in patch.requestBody.content));
    const podSchema = doc.json.components.schemas["io.k8s.api.core.v1.Pod"];
    assert.deepEqual(podSchema["x-kubernetes-group-version-kind"], [{
      group: "",
      version: "v1",
      kind: "Pod",
    }]);
    assert.equal((await call(k, "GET", "/openapi/v2")).status, 404);
  });
});

Deno.test("every served resource supports create, get, list, update, patch and delete; empty lists have items []", async () => {
  await withKube({}, async (k) => {
    const bodies: Record<string, Record<string, unknown>> = {
      Namespace: {},
      Node: {},
      Pod: { spec: { containers: [{ name: "c", image: "x" }] } },
      Event: {
        involvedObject: { kind: "Pod", name: "p", namespace: "default" },
        reason: "R",
        message: "m",
        type: "Normal",
      },
      Secret: { stringData: { a: "b" } },
      ConfigMap: { data: { a: "b" } },
      Service: { spec: { ports: [{ port: 80 }] } },
      ServiceAccount: {},
      PodDisruptionBudget: { spec: { minAvailable: 1, selector: { matchLabels: { app: "x" } } } },
      Lease: { spec: { holderIdentity: "a" } },
      CustomResourceDefinition: {},
    };
    const lists = [
      await call(k, "GET", "/api/v1"),
      ...await Promise.all(
        ["policy/v1", "coordination.k8s.io/v1", "events.k8s.io/v1"].map((gv) =>
          call(k, "GET", `/apis/${gv}`)
        ),
      ),
    ];
    let checked = 0;
    for (const l of lists) {
      const gv = l.json.groupVersion as string;
      for (const r of l.json.resources as { name: string; kind: string; namespaced: boolean }[]) {
        if (r.name.includes("/")) continue;
        const base = `${gv === "v1" ? "/api/v1" : `/apis/${gv}`}${
          r.namespaced ? "/namespaces/default" : ""
        }/${r.name}`;
        const empty = await call(k, "GET", `${base}?labelSelector=none%3Dnone&limit=500`);
        assert.equal(empty.status, 200, base);
        assert.deepEqual(empty.json.items, [], base);
        assert.match(empty.text, /"items":\[\]/);
        const body = {
          apiVersion: gv,
          kind: r.kind,
          metadata: { name: "x1", labels: { t: "1" } },
          ...(bodies[r.kind] ?? {}),
        };
        if (r.kind === "Event" && gv === "events.k8s.io/v1") {
          Object.assign(body, {
            involvedObject: undefined,
            regarding: { kind: "Pod", name: "p" },
            eventTime: "2026-11-26T03:40:00.000000Z",
            reportingController: "proxscale.io/c",
            reportingInstance: "i",
            action: "A",
          });
        }
        const created = await call(k, "POST", base, { body });
        assert.equal(created.status, 201, `${base} ${created.text}`);
        const got = await call(k, "GET", `${base}/x1`);
        assert.equal(got.json.metadata.uid, created.json.metadata.uid);
        const byName = await call(
          k,
          "GET",
          `${base}?fieldSelector=metadata.name%3Dx1&labelSelector=t%3D1`,
        );
        assert.equal(byName.json.items.length, 1, base);
        const put = await call(k, "PUT", `${base}/x1`, {
          body: { ...got.json, metadata: { ...got.json.metadata, labels: { t: "2" } } },
        });
        assert.equal(put.status, 200, `${base} ${put.text}`);
        const patched = await call(k, "PATCH", `${base}/x1`, {
          body: { metadata: { annotations: { a: "b" } } },
          contentType: "application/merge-patch+json",
        });
        assert.equal(patched.json.metadata.annotations.a, "b");
        const del = await call(k, "DELETE", `${base}/x1`);
        assert.equal(del.status, 200, base);
        checked++;
      }
    }
    assert.ok(checked >= 11);
  });
});

Deno.test("one global resourceVersion counter; list RV is the current counter; stale PUT is 409; no-op writes change nothing", async () => {
  await withKube({}, async (k) => {
    const a = await call(k, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "a" }, data: { x: "1" } },
    });
    const n = await call(k, "POST", "/api/v1/nodes", { body: node("n1") });
    assert.equal(
      Number(n.json.metadata.resourceVersion),
      Number(a.json.metadata.resourceVersion) + 1,
    );
    const list = await call(k, "GET", "/api/v1/namespaces/default/configmaps");
    assert.equal(list.json.metadata.resourceVersion, n.json.metadata.resourceVersion);
    const put1 = await call(k, "PUT", "/api/v1/namespaces/default/configmaps/a", {
      body: { ...a.json, data: { x: "2" } },
    });
    assert.equal(put1.status, 200);
    const stale = await call(k, "PUT", "/api/v1/namespaces/default/configmaps/a", {
      body: { ...a.json, data: { x: "3" } },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.reason, "Conflict");
    const before = k.store.resourceVersion();
    const same = await call(k, "PUT", "/api/v1/namespaces/default/configmaps/a", {
      body: put1.json,
    });
    assert.equal(same.status, 200);
    assert.equal(same.json.metadata.resourceVersion, put1.json.metadata.resourceVersion);
    const samePatch = await call(k, "PATCH", "/api/v1/namespaces/default/configmaps/a", {
      body: { data: { x: "2" } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(samePatch.json.metadata.resourceVersion, put1.json.metadata.resourceVersion);
    assert.equal(k.store.resourceVersion(), before);
  });
});

Deno.test("Status objects carry the code, reason and details a v1.32 API server sends for each failure", async () => {
  await withKube({}, async (k) => {
    const nf = await call(k, "GET", "/api/v1/namespaces/default/pods/p1");
    assert.deepEqual(nf.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'pods "p1" not found',
      reason: "NotFound",
      details: { name: "p1", kind: "pods" },
      code: 404,
    });
    const path = await call(k, "GET", "/apis/nope.io/v1/things");
    assert.equal(path.json.message, "the server could not find the requested resource");
    assert.deepEqual(path.json.details, {});
    await call(k, "POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", {
      body: { metadata: { name: "l" } },
    });
    const dup = await call(k, "POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", {
      body: { metadata: { name: "l" } },
    });
    assert.equal(dup.json.message, 'leases.coordination.k8s.io "l" already exists');
    assert.deepEqual(dup.json.details, { name: "l", group: "coordination.k8s.io", kind: "leases" });
    const badName = await call(k, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "Bad_Name" } },
    });
    assert.equal(badName.status, 422);
    assert.equal(badName.json.reason, "Invalid");
    assert.match(
      badName.json.message,
      /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    assert.equal(badName.json.details.kind, "ConfigMap");
    const noNs = await call(k, "POST", "/api/v1/namespaces/ghost/configmaps", {
      body: { metadata: { name: "a" } },
    });
    assert.equal(noNs.json.message, 'namespaces "ghost" not found');
    const mismatch = await call(k, "POST", "/api/v1/namespaces/default/configmaps", {
      body: { metadata: { name: "a", namespace: "kube-system" } },
    });
    assert.equal(
      mismatch.json.message,
      "the namespace of the provided object does not match the namespace sent on the request",
    );
    const method = await call(k, "PUT", "/api/v1/namespaces/default/configmaps", { body: {} });
    assert.equal(method.status, 405);
    assert.equal(method.json.reason, "MethodNotAllowed");
    const sel = await call(k, "GET", "/api/v1/pods?fieldSelector=spec.foo%3Dx");
    assert.deepEqual([sel.status, sel.json.reason, sel.json.message], [
      400,
      "BadRequest",
      "field label not supported: spec.foo",
    ]);
  });
});

Deno.test("watch streams NDJSON with RV semantics, DELETED at a new RV, selector transitions, bookmarks, timeoutSeconds and ERROR 410 then close", async () => {
  await withKube({ historyLimit: 2, bookmarkIntervalMs: 50 }, async (k) => {
    const base = "/api/v1/namespaces/default/pods";
    const p1 = await call(k, "POST", base, { body: pod("p1", { nodeName: "n1" }) });
    const w0 = await openWatch(k, `${base}?watch=1&resourceVersion=0`);
    assert.equal(w0.status, 200);
    assert.equal(w0.headers.get("content-type"), "application/json");
    const first = await w0.next();
    assert.equal(first.type, "ADDED");
    assert.equal(first.object.kind, "Pod");
    assert.equal(first.object.apiVersion, "v1");
    await w0.close();

    const wSel = await openWatch(
      k,
      `${base}?watch=true&resourceVersion=${p1.json.metadata.resourceVersion}&fieldSelector=status.phase%3DPending`,
    );
    const running = await call(k, "PATCH", `${base}/p1/status`, {
      body: { status: { phase: "Running" } },
      contentType: "application/merge-patch+json",
    });
    const left = await wSel.next();
    assert.equal(left.type, "DELETED");
    assert.equal(left.object.status.phase, "Pending");
    assert.equal(left.object.metadata.resourceVersion, running.json.metadata.resourceVersion);
    await wSel.close();

    const wDel = await openWatch(
      k,
      `${base}?watch=true&resourceVersion=${running.json.metadata.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=1`,
    );
    const del = await call(k, "DELETE", `${base}/p1`, { body: { gracePeriodSeconds: 0 } });
    const gone = await wDel.next();
    assert.equal(gone.type, "DELETED");
    assert.ok(
      Number(gone.object.metadata.resourceVersion) > Number(running.json.metadata.resourceVersion),
    );
    assert.equal(del.json.kind, "Pod");
    const bm = await wDel.next();
    assert.equal(bm.type, "BOOKMARK");
    assert.deepEqual(bm.object.metadata, {
      resourceVersion: k.store.resourceVersion(),
      creationTimestamp: null,
    });
    while ((await wDel.next()) !== undefined) { /* timeoutSeconds ends the stream */ }
    for (const line of wDel.lines) assert.doesNotThrow(() => JSON.parse(line));

    for (const n of ["a", "b", "c", "d", "e"]) await call(k, "POST", base, { body: pod(n) });
    const old = await openWatch(
      k,
      `${base}?watch=true&resourceVersion=${p1.json.metadata.resourceVersion}`,
    );
    const events = await old.take(5);
    assert.equal(events.length, 1, "the stream ends after the ERROR event");
    assert.equal(events[0].type, "ERROR");
    assert.equal(events[0].object.code, 410);
    assert.equal(events[0].object.reason, "Expired");
    assert.match(
      events[0].object.message,
      new RegExp(`^too old resource version: ${p1.json.metadata.resourceVersion} \\(\\d+\\)$`),
    );
  });
});
