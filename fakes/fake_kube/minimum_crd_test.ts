/**
 * What kubectl 1.32 and client-node 2.0.1 need of a fake API server, part 3: CRDs becoming
 * servable, custom-resource schema handling, Table printing, MicroTime validation, and HTTPS/HTTP
 * authentication with the kubeconfig writer, against the fake over a real socket.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { nodePoolCrd } from "./testing/crds.ts";
import { issueClientCert } from "./tls.ts";
import { call, openWatch, withKube } from "./testing/client.ts";

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const NP = "/apis/proxscale.io/v1alpha1/nodepools";
const TABLE =
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

Deno.test("a CRD becomes Established and its resource appears in discovery and /openapi/v3", async () => {
  await withKube({}, async (k) => {
    assert.equal((await call(k, "GET", NP)).status, 404);
    const created = await call(k, "POST", CRDS, { body: nodePoolCrd() });
    assert.equal(created.status, 201);
    assert.equal(created.json.status, undefined, "the stored CRD has no status yet");
    const crd = await call(k, "GET", `${CRDS}/nodepools.proxscale.io`);
    const conds = crd.json.status.conditions.map((
      c: { type: string; status: string; reason: string },
    ) => `${c.type}=${c.status}/${c.reason}`);
    assert.deepEqual(conds, [
      "NamesAccepted=True/NoConflicts",
      "Established=True/InitialNamesAccepted",
    ]);
    assert.deepEqual(crd.json.status.storedVersions, ["v1alpha1"]);
    assert.equal(crd.json.status.acceptedNames.listKind, "NodePoolList");
    const list = await call(k, "GET", "/apis/proxscale.io/v1alpha1");
    assert.deepEqual(list.json.resources.map((r: { name: string }) => r.name), [
      "nodepools",
      "nodepools/status",
    ]);
    assert.deepEqual(list.json.resources[0].shortNames, ["np"]);
    assert.ok(
      (await call(k, "GET", "/apis")).json.groups.some((g: { name: string }) =>
        g.name === "proxscale.io"
      ),
    );
    const index = await call(k, "GET", "/openapi/v3");
    const doc = await call(
      k,
      "GET",
      index.json.paths["apis/proxscale.io/v1alpha1"].serverRelativeURL,
    );
    assert.deepEqual(
      doc.json.paths["/apis/proxscale.io/v1alpha1/nodepools/{name}"]
        .patch["x-kubernetes-group-version-kind"],
      { group: "proxscale.io", version: "v1alpha1", kind: "NodePool" },
    );
    assert.equal(
      doc.json.components.schemas["io.proxscale.v1alpha1.NodePool"].properties.spec.required[0],
      "providerRef",
    );
    assert.equal((await call(k, "GET", NP)).status, 200);
  });
});

Deno.test("a CRD with an establish delay serves nothing until Established", async () => {
  await withKube({ crdEstablishDelayMs: 30 }, async (k) => {
    await call(k, "POST", CRDS, { body: nodePoolCrd() });
    assert.equal((await call(k, "GET", NP)).status, 404);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal((await call(k, "GET", NP)).status, 200);
  });
});

Deno.test("custom resources are pruned, defaulted and validated, CEL rules included; generation follows spec", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", CRDS, { body: nodePoolCrd() });
    const np = (spec: Record<string, unknown>, name = "default") => ({
      apiVersion: "proxscale.io/v1alpha1",
      kind: "NodePool",
      metadata: { name },
      spec,
    });
    const warn = await call(k, "POST", NP, {
      body: { ...np({ providerRef: "pve", foo: 1 }), status: { replicas: 3 } },
    });
    assert.equal(warn.status, 201);
    assert.equal(warn.headers.get("warning"), '299 - "unknown field \\"spec.foo\\""');
    assert.deepEqual(warn.json.spec, {
      providerRef: "pve",
      minNodes: 0,
      maxNodes: 10,
      mode: "clone",
    });
    assert.equal(warn.json.status, undefined, "status is dropped on create");
    assert.equal(warn.json.metadata.generation, 1);
    const strict = await call(k, "POST", `${NP}?fieldValidation=Strict`, {
      body: np({ providerRef: "pve", foo: 1 }, "b"),
    });
    assert.equal(strict.status, 400);
    assert.equal(
      strict.json.message,
      'NodePool in version "v1alpha1" cannot be handled as a NodePool: strict decoding error: unknown field "spec.foo"',
    );
    const bad = await call(k, "POST", NP, {
      body: np({ minNodes: -1, mode: "foo", name: "X1" }, "bad"),
    });
    assert.equal(bad.status, 422);
    assert.equal(
      bad.json.message,
      'NodePool.proxscale.io "bad" is invalid: [spec.providerRef: Required value, spec.minNodes: Invalid value: -1: spec.minNodes in body should be greater than or equal to 0, spec.mode: Unsupported value: "foo": supported values: "clone", "scratch", spec.name: Invalid value: "X1": spec.name in body should match \'^[a-z]+$\']',
    );
    assert.deepEqual(bad.json.details.causes.map((c: { reason: string }) => c.reason), [
      "FieldValueRequired",
      "FieldValueInvalid",
      "FieldValueNotSupported",
      "FieldValueInvalid",
    ]);
    const typed = await call(k, "POST", NP, {
      body: np({ providerRef: "p", minNodes: "string" }, "t"),
    });
    assert.equal(
      typed.json.message,
      'NodePool.proxscale.io "t" is invalid: spec.minNodes: Invalid value: "string": spec.minNodes in body must be of type integer: "string"',
    );
    const cel = await call(k, "POST", NP, {
      body: np({ providerRef: "p", minNodes: 5, maxNodes: 2 }, "c"),
    });
    assert.equal(
      cel.json.message,
      'NodePool.proxscale.io "c" is invalid: spec: Invalid value: "object": minNodes must be less than or equal to maxNodes',
    );
    const meta = await call(k, "PATCH", `${NP}/default`, {
      body: { metadata: { labels: { a: "b" } } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(meta.json.metadata.generation, 1, "metadata changes keep generation");
    const spec = await call(k, "PATCH", `${NP}/default`, {
      body: { spec: { minNodes: 2 } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(spec.json.metadata.generation, 2);
    const status = await call(k, "PATCH", `${NP}/default/status`, {
      body: { status: { replicas: 1 }, spec: { minNodes: 9 } },
      contentType: "application/merge-patch+json",
    });
    assert.deepEqual([
      status.json.metadata.generation,
      status.json.status.replicas,
      status.json.spec.minNodes,
    ], [2, 1, 2]);
    const noRv = await call(k, "PUT", `${NP}/default`, { body: np({ providerRef: "x" }) });
    assert.equal(noRv.status, 422);
    assert.equal(
      noRv.json.message,
      'nodepools.proxscale.io "default" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
    );
    const del = await call(k, "DELETE", `${NP}/default`);
    assert.deepEqual(del.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: {
        name: "default",
        group: "proxscale.io",
        kind: "nodepools",
        uid: warn.json.metadata.uid,
      },
    });
  });
});

Deno.test("CRD validation rejects a wrong name, two storage versions and non-structural schemas", async () => {
  await withKube({}, async (k) => {
    const crd = nodePoolCrd();
    crd.metadata.name = "x.proxscale.io";
    const v = crd.spec.versions[0]!;
    crd.spec.versions.push({ ...v, name: "v1" });
    (v.schema.openAPIV3Schema.properties.spec.properties as Record<string, unknown>).untyped = {
      description: "no type",
    };
    const r = await call(k, "POST", CRDS, { body: crd });
    assert.equal(r.status, 422);
    assert.match(
      r.json.message,
      /metadata.name: Invalid value: "x.proxscale.io": must be spec.names.plural\+"."\+spec.group/,
    );
    assert.match(
      r.json.message,
      /spec.versions: Invalid value: .*must have exactly one version marked as storage version/,
    );
    assert.match(
      r.json.message,
      /spec.versions\[0\].schema.openAPIV3Schema.properties\[spec\].properties\[untyped\].type: Required value: must not be empty for specified object fields/,
    );
  });
});

Deno.test("Table responses carry columns, PartialObjectMetadata rows and the list resourceVersion", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", CRDS, { body: nodePoolCrd() });
    await call(k, "POST", NP, {
      body: {
        apiVersion: "proxscale.io/v1alpha1",
        kind: "NodePool",
        metadata: { name: "default", labels: { team: "a" } },
        spec: { providerRef: "p", minNodes: 1 },
      },
    });
    await call(k, "PATCH", `${NP}/default/status`, {
      body: { status: { conditions: [{ type: "Ready", status: "True" }] } },
      contentType: "application/merge-patch+json",
    });
    const t = await call(k, "GET", NP, { accept: TABLE });
    assert.equal(t.json.kind, "Table");
    assert.equal(t.json.apiVersion, "meta.k8s.io/v1");
    assert.equal(t.json.metadata.resourceVersion, k.store.resourceVersion());
    assert.deepEqual(t.json.columnDefinitions.map((c: { name: string }) => c.name), [
      "Name",
      "Min",
      "Ready",
      "Age",
    ]);
    for (const c of t.json.columnDefinitions) {
      assert.deepEqual(Object.keys(c).sort(), [
        "description",
        "format",
        "name",
        "priority",
        "type",
      ]);
    }
    assert.equal(
      t.json.columnDefinitions[1].description,
      "Custom resource definition column (in JSONPath format): .spec.minNodes",
    );
    const row = t.json.rows[0];
    assert.deepEqual(row.cells.slice(0, 3), ["default", 1, "True"]);
    assert.match(row.cells[3], /^\d+s$/);
    assert.equal(row.object.kind, "PartialObjectMetadata");
    assert.equal(row.object.metadata.labels.team, "a");
    await call(k, "POST", "/api/v1/nodes", {
      body: {
        metadata: { name: "n1", labels: { "node-role.kubernetes.io/worker": "" } },
        spec: { unschedulable: true },
        status: {
          conditions: [{ type: "Ready", status: "True" }],
          nodeInfo: { kubeletVersion: "v1.32.5" },
        },
      },
    });
    const nodes = await call(k, "GET", "/api/v1/nodes", { accept: TABLE });
    assert.deepEqual(
      nodes.json.columnDefinitions.filter((c: { priority: number }) => c.priority === 0).map((
        c: { name: string },
      ) => c.name),
      ["Name", "Status", "Roles", "Age", "Version"],
    );
    assert.deepEqual(nodes.json.rows[0].cells.slice(0, 3), [
      "n1",
      "Ready,SchedulingDisabled",
      "worker",
    ]);
    const crds = await call(k, "GET", CRDS, { accept: TABLE });
    assert.deepEqual(crds.json.columnDefinitions.map((c: { name: string }) => c.name), [
      "Name",
      "Created At",
    ]);
  });
});

Deno.test("MicroTime fields of Leases and Events need exactly six fractional digits", async () => {
  await withKube({}, async (k) => {
    const leases = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
    const lease = (t: string) => ({
      metadata: { name: "l" },
      spec: { holderIdentity: "a", leaseDurationSeconds: 15, acquireTime: t, renewTime: t },
    });
    const short = await call(k, "POST", leases, { body: lease("2022-06-23T18:10:50.278Z") });
    assert.equal(short.status, 400);
    assert.equal(short.json.reason, "BadRequest");
    assert.match(
      short.json.message,
      /^Lease in version "v1" cannot be handled as a Lease: parsing time "2022-06-23T18:10:50.278Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".278Z" as ".000000"/,
    );
    assert.equal(
      (await call(k, "POST", leases, { body: lease("2022-06-23T18:10:50.278000Z") })).status,
      201,
    );
    const ev = await call(k, "POST", "/api/v1/namespaces/default/events", {
      body: {
        metadata: { name: "e" },
        involvedObject: { kind: "Pod", name: "p", namespace: "default" },
        eventTime: "2026-11-26T03:40:00Z",
        reportingComponent: "x",
      },
    });
    assert.equal(ev.status, 400);
  });
});

Deno.test("HTTPS requires a bearer token, HTTP is anonymous, and kubeconfig() describes each mode", async () => {
  await withKube({ tls: true }, async (k) => {
    assert.match(k.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const client = Deno.createHttpClient({ caCerts: [k.caPem!] });
    try {
      const get = (token?: string) =>
        fetch(`${k.url}/api/v1/namespaces`, {
          client,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
      const anon = await get();
      assert.equal(anon.status, 401);
      assert.deepEqual(await anon.json(), {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "Unauthorized",
        reason: "Unauthorized",
        code: 401,
      });
      const wrong = await get("nope");
      await wrong.body?.cancel();
      assert.equal(wrong.status, 401);
      const ok = await get(k.token);
      assert.equal(
        (await ok.json()).items.length,
        4,
        "default, kube-system, kube-public, kube-node-lease",
      );
    } finally {
      client.close();
    }
    const cfg = parse(k.kubeconfig());
    assert.equal(cfg.clusters[0].cluster.server, k.url);
    assert.equal(atob(cfg.clusters[0].cluster["certificate-authority-data"]), k.caPem);
    assert.equal(cfg.clusters[0].cluster["insecure-skip-tls-verify"], undefined);
    assert.equal(cfg.users[0].user.token, k.token);
  });
  await withKube({ tls: false }, async (k) => {
    assert.equal((await call(k, "GET", "/api/v1/nodes", { token: null })).status, 200);
    const cfg = parse(k.kubeconfig());
    assert.equal(cfg.clusters[0].cluster["insecure-skip-tls-verify"], true);
    assert.equal(cfg.clusters[0].cluster["certificate-authority-data"], undefined);
  });
});

Deno.test("bootstrap tokens backed by a valid Secret authenticate as system:bootstrap:<id>", async () => {
  await withKube({ tls: true }, async (k) => {
    // Bootstrap tokens may read namespaces one by one (a binding to their group), nothing more.
    k.store.create("clusterroles.rbac.authorization.k8s.io", {
      metadata: { name: "get-namespaces" },
      rules: [{ apiGroups: [""], resources: ["namespaces"], verbs: ["get"] }],
    } as never);
    k.store.create("clusterrolebindings.rbac.authorization.k8s.io", {
      metadata: { name: "bootstrappers-get-namespaces" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "get-namespaces",
      },
      subjects: [{ kind: "Group", name: "system:bootstrappers" }],
    } as never);
    k.store.create("secrets", {
      metadata: { name: "bootstrap-token-07401b", namespace: "kube-system" },
      type: "bootstrap.kubernetes.io/token",
      stringData: {
        "token-id": "07401b",
        "token-secret": "f395accd246ae52d",
        "usage-bootstrap-authentication": "true",
        expiration: "2999-01-01T00:00:00Z",
      },
    } as never);
    const client = Deno.createHttpClient({ caCerts: [k.caPem!] });
    try {
      const h = { authorization: "Bearer 07401b.f395accd246ae52d" };
      const list = await fetch(`${k.url}/api/v1/namespaces`, { client, headers: h });
      const body = await list.json();
      assert.equal(list.status, 403);
      assert.equal(
        body.message,
        'namespaces is forbidden: User "system:bootstrap:07401b" cannot list resource "namespaces" in API group "" at the cluster scope',
      );
      const get = await fetch(`${k.url}/api/v1/namespaces/default`, { client, headers: h });
      await get.body?.cancel();
      assert.equal(get.status, 200);
      const wrong = await fetch(`${k.url}/api/v1/namespaces/default`, {
        client,
        headers: { authorization: "Bearer 07401b.0000000000000000" },
      });
      await wrong.body?.cancel();
      assert.equal(wrong.status, 401);
    } finally {
      client.close();
    }
  });
});

Deno.test("namespaced custom resources, the scale subresource, and CRD deletion removing instances with DELETED events", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", CRDS, { body: nodePoolCrd({ scope: "Namespaced", scale: true }) });
    const base = "/apis/proxscale.io/v1alpha1/namespaces/default/nodepools";
    const body = {
      apiVersion: "proxscale.io/v1alpha1",
      kind: "NodePool",
      metadata: { name: "a" },
      spec: { providerRef: "p", replicas: 2 },
    };
    const created = await call(k, "POST", base, { body });
    assert.equal(created.json.metadata.namespace, "default");
    assert.equal(
      (await call(k, "POST", "/apis/proxscale.io/v1alpha1/namespaces/ghost/nodepools", { body }))
        .status,
      404,
    );
    assert.equal(
      (await call(k, "GET", NP)).json.items.length,
      1,
      "cluster-wide list of a namespaced kind",
    );
    const scale = await call(k, "GET", `${base}/a/scale`);
    assert.deepEqual([scale.json.kind, scale.json.apiVersion, scale.json.spec.replicas], [
      "Scale",
      "autoscaling/v1",
      2,
    ]);
    const scaled = await call(k, "PUT", `${base}/a/scale`, {
      body: { ...scale.json, spec: { replicas: 5 } },
    });
    assert.equal(scaled.json.spec.replicas, 5);
    const stale = await call(k, "PUT", `${base}/a/scale`, {
      body: { ...scale.json, spec: { replicas: 6 } },
    });
    assert.equal(stale.status, 409);
    const w = await openWatch(k, `${NP}?watch=true&resourceVersion=${k.store.resourceVersion()}`);
    await call(k, "DELETE", `${CRDS}/nodepools.proxscale.io`);
    const e = await w.next();
    assert.deepEqual([e.type, e.object.metadata.name], ["DELETED", "a"]);
    await w.close();
    assert.equal((await call(k, "GET", base)).status, 404);
  });
});

Deno.test("client certificates signed by the fake's CA authenticate as CN with O as groups", async () => {
  const seen: string[] = [];
  await withKube({ tls: true }, async (k) => {
    // The group "dev" may list nodes; the admin certificate is in system:masters.
    k.store.create("clusterroles.rbac.authorization.k8s.io", {
      metadata: { name: "node-reader" },
      rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["list"] }],
    } as never);
    k.store.create("clusterrolebindings.rbac.authorization.k8s.io", {
      metadata: { name: "dev-node-reader" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "node-reader" },
      subjects: [{ kind: "Group", name: "dev" }],
    } as never);
    const cfg = parse(k.kubeconfig());
    const certUser = cfg.users.find((u: { name: string }) =>
      u.name === "proxscale-admin-cert"
    ).user;
    assert.ok(cfg.contexts.some((c: { name: string }) => c.name === "proxscale-fake-cert"));
    const alice = await issueClientCert("alice", ["dev", "ops"]);
    for (
      const [cert, key] of [[
        atob(certUser["client-certificate-data"]),
        atob(certUser["client-key-data"]),
      ], [alice.certPem, alice.keyPem]]
    ) {
      const client = Deno.createHttpClient({ caCerts: [k.caPem!], cert: cert!, key: key! });
      try {
        const r = await fetch(`${k.url}/api/v1/nodes`, { client });
        await r.body?.cancel();
        assert.equal(r.status, 200);
        const who = await fetch(`${k.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
          client,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            apiVersion: "authentication.k8s.io/v1",
            kind: "SelfSubjectReview",
          }),
        });
        const u = (await who.json()).status.userInfo;
        seen.push(`${u.username}:${u.groups.join("+")}`);
      } finally {
        client.close();
      }
    }
    const plain = Deno.createHttpClient({ caCerts: [k.caPem!] });
    const spoof = await fetch(`${k.url}/api/v1/nodes`, {
      client: plain,
      headers: { "x-fake-kube-client-subject": "mallory|system:masters" },
    });
    await spoof.body?.cancel();
    plain.close();
    assert.equal(spoof.status, 401, "the internal header cannot be forged");
  });
  assert.deepEqual(seen, [
    "proxscale-admin:system:masters+system:authenticated",
    "alice:dev+ops+system:authenticated",
  ]);
});
