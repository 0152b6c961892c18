import assert from "node:assert/strict";
import { call, withKube } from "./testing/client.ts";

const APPLY = "application/apply-patch+yaml";
const DEPLOY = "/apis/apps/v1/namespaces/default/deployments";
const T0 = Date.parse("2026-11-26T03:33:24Z");

const deployment = (replicas: number, containers: unknown[]) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web" },
  spec: {
    replicas,
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web" } }, spec: { containers } },
  },
});
const nginx = { name: "nginx", image: "nginx:1", ports: [{ containerPort: 80 }] };

Deno.test("every write records a managedFields entry: Update for create, Apply for apply", async () => {
  await withKube({ now: () => T0 }, async (k) => {
    const created = await call(k, "POST", `${DEPLOY}?fieldManager=kubectl-client-side-apply`, {
      body: deployment(2, [nginx]),
    });
    assert.equal(created.status, 201);
    const [entry] = created.json.metadata.managedFields;
    assert.deepEqual(
      { ...entry, fieldsV1: undefined },
      {
        manager: "kubectl-client-side-apply",
        operation: "Update",
        apiVersion: "apps/v1",
        time: "2026-11-26T03:33:24Z",
        fieldsType: "FieldsV1",
        fieldsV1: undefined,
      },
    );
    assert.deepEqual(entry.fieldsV1["f:spec"]["f:replicas"], {});
    assert.deepEqual(
      entry.fieldsV1["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']["."],
      {},
    );
    const applied = await call(k, "PATCH", `${DEPLOY}/web?fieldManager=mine&force=true`, {
      body: deployment(3, [nginx]),
      contentType: APPLY,
    });
    const ops = applied.json.metadata.managedFields.map((
      m: { manager: string; operation: string },
    ) => `${m.manager}/${m.operation}`);
    assert.deepEqual(ops, ["mine/Apply", "kubectl-client-side-apply/Update"], "Apply sorts first");
    const patched = await call(k, "PATCH", `${DEPLOY}/web?fieldManager=kubectl-label`, {
      body: { metadata: { labels: { tier: "front" } } },
      contentType: "application/merge-patch+json",
    });
    const label = patched.json.metadata.managedFields.find((m: { manager: string }) =>
      m.manager === "kubectl-label"
    );
    assert.deepEqual(label.fieldsV1, { "f:metadata": { "f:labels": { ".": {}, "f:tier": {} } } });
  });
});

Deno.test("an apply that changes a field another manager set is 409 with the apiserver's message; force takes it over", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", `${DEPLOY}?fieldManager=kubectl-client-side-apply`, {
      body: deployment(2, [nginx]),
    });
    const refused = await call(k, "PATCH", `${DEPLOY}/web?fieldManager=kubectl&force=false`, {
      body: deployment(5, [nginx]),
      contentType: APPLY,
    });
    assert.equal(refused.status, 409);
    assert.equal(refused.json.reason, "Conflict");
    assert.equal(
      refused.json.message,
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
    );
    assert.deepEqual(refused.json.details.causes, [{
      reason: "FieldManagerConflict",
      message: 'conflict with "kubectl-client-side-apply" using apps/v1',
      field: ".spec.replicas",
    }]);
    const forced = await call(k, "PATCH", `${DEPLOY}/web?fieldManager=kubectl&force=true`, {
      body: deployment(5, [nginx]),
      contentType: APPLY,
    });
    assert.equal(forced.status, 200);
    assert.equal(forced.json.spec.replicas, 5);
    const csa = forced.json.metadata.managedFields.find((m: { manager: string }) =>
      m.manager === "kubectl-client-side-apply"
    );
    assert.ok(!("f:replicas" in csa.fieldsV1["f:spec"]), "the old owner lost .spec.replicas");
    const other = await call(k, "PATCH", `${DEPLOY}/web?fieldManager=other`, {
      body: deployment(7, [nginx]),
      contentType: APPLY,
    });
    assert.equal(
      other.json.message,
      'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas',
      "appliers are named without an apiVersion",
    );
  });
});

Deno.test("apply merges containers by name and ports by containerPort and protocol; a dropped container is removed", async () => {
  await withKube({}, async (k) => {
    const sidecar = { name: "log", image: "busybox", ports: [{ containerPort: 80 }] };
    await call(k, "PATCH", `${DEPLOY}/web?fieldManager=a`, {
      body: deployment(1, [nginx, sidecar]),
      contentType: APPLY,
    });
    const b = await call(k, "PATCH", `${DEPLOY}/web?fieldManager=b`, {
      body: deployment(1, [{
        name: "nginx",
        ports: [{ containerPort: 80, protocol: "UDP" }],
      }]),
      contentType: APPLY,
    });
    assert.equal(b.status, 200, "a UDP port is another element than the TCP one: no conflict");
    const web = b.json.spec.template.spec.containers.find((c: { name: string }) =>
      c.name === "nginx"
    );
    assert.deepEqual(
      web.ports.map((p: { protocol?: string }) => p.protocol ?? "TCP"),
      ["TCP", "UDP"],
    );
    const dropped = await call(k, "PATCH", `${DEPLOY}/web?fieldManager=a`, {
      body: deployment(1, [nginx]),
      contentType: APPLY,
    });
    assert.deepEqual(
      dropped.json.spec.template.spec.containers.map((c: { name: string }) => c.name),
      ["nginx"],
      "only manager a owned the log container",
    );
    const shared = await call(k, "PATCH", `${DEPLOY}/web?fieldManager=a`, {
      body: deployment(1, [{ name: "other", image: "x" }]),
      contentType: APPLY,
    });
    const left = shared.json.spec.template.spec.containers.find((c: { name: string }) =>
      c.name === "nginx"
    );
    assert.deepEqual(
      left.ports.map((p: { protocol?: string }) => p.protocol ?? "TCP"),
      ["UDP"],
      "nginx stays because manager b still owns its UDP port; a's TCP port goes",
    );
    assert.equal(left.image, undefined, "a's image field went with a's ownership");
  });
});

Deno.test("custom resource lists follow x-kubernetes-list-map-keys with several keys", async () => {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                properties: {
                  slots: {
                    type: "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["zone", "index"],
                    items: {
                      type: "object",
                      required: ["zone", "index"],
                      properties: {
                        zone: { type: "string" },
                        index: { type: "integer" },
                        size: { type: "integer" },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      }],
    },
  };
  await withKube({}, async (k) => {
    await call(k, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
      body: crd,
    });
    const url = "/apis/example.com/v1/namespaces/default/widgets/w";
    const w = (slots: unknown[]) => ({
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w" },
      spec: { slots },
    });
    await call(k, "PATCH", `${url}?fieldManager=a`, {
      body: w([{ zone: "z", index: 1, size: 1 }]),
      contentType: APPLY,
    });
    const r = await call(k, "PATCH", `${url}?fieldManager=b`, {
      body: w([{ zone: "z", index: 2, size: 2 }]),
      contentType: APPLY,
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.spec.slots.map((s: { index: number }) => s.index), [1, 2]);
    const clash = await call(k, "PATCH", `${url}?fieldManager=b`, {
      body: w([{ zone: "z", index: 2, size: 2 }, { zone: "z", index: 1, size: 9 }]),
      contentType: APPLY,
    });
    assert.equal(clash.status, 409, clash.text);
    assert.equal(
      clash.json.message,
      'Apply failed with 1 conflict: conflict with "a": .spec.slots[index=1,zone="z"].size',
    );
  });
});

Deno.test("managedFields a client rewrites are honoured, and re-applying keeps maps that still hold owned fields", async () => {
  await withKube({}, async (k) => {
    const annotated = deployment(2, [nginx]) as Record<string, unknown> & {
      metadata: Record<string, unknown>;
    };
    annotated.metadata = { name: "web", annotations: { note: "x" } };
    await call(k, "POST", `${DEPLOY}?fieldManager=kubectl-client-side-apply`, { body: annotated });
    // What kubectl does after its first server-side apply of a client-side-applied object:
    // it moves the client-side manager's fields into its own Apply entry.
    const migrated = [{
      manager: "kubectl",
      operation: "Apply",
      apiVersion: "apps/v1",
      time: "2026-11-26T03:33:24Z",
      fieldsType: "FieldsV1",
      fieldsV1: {
        "f:metadata": { "f:annotations": { ".": {}, "f:note": {} } },
        "f:spec": {
          "f:replicas": {},
          "f:template": { "f:metadata": { "f:labels": { ".": {}, "f:app": {} } } },
        },
      },
    }, {
      manager: "notes",
      operation: "Apply",
      apiVersion: "apps/v1",
      time: "2026-11-26T03:33:24Z",
      fieldsType: "FieldsV1",
      fieldsV1: { "f:metadata": { "f:annotations": { "f:note": {} } } },
    }];
    const rewritten = await call(k, "PATCH", `${DEPLOY}/web?fieldManager=kubectl`, {
      body: [{ op: "replace", path: "/metadata/managedFields", value: migrated }],
      contentType: "application/json-patch+json",
    });
    assert.deepEqual(
      rewritten.json.metadata.managedFields.map((m: { manager: string }) => m.manager),
      ["kubectl", "notes"],
    );
    const again = await call(k, "PATCH", `${DEPLOY}/web?fieldManager=kubectl`, {
      body: deployment(3, [nginx]),
      contentType: APPLY,
    });
    assert.equal(again.status, 200, "kubectl owns .spec.replicas now: no conflict");
    assert.deepEqual(again.json.spec.template.metadata.labels, { app: "web" });
    assert.deepEqual(
      again.json.metadata.annotations,
      { note: "x" },
      "the annotation kubectl dropped is still owned by notes",
    );
  });
});

Deno.test("a manager's time moves when its write changes the object, not when it changes nothing", async () => {
  let now = T0;
  await withKube({ now: () => now }, async (k) => {
    const cm = (v: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c" },
      data: { a: v },
    });
    const url = "/api/v1/namespaces/default/configmaps/c?fieldManager=m";
    const timeOf = (r: { json: { metadata: { managedFields: { time: string }[] } } }) =>
      r.json.metadata.managedFields[0]!.time;
    const first = await call(k, "PATCH", url, { body: cm("1"), contentType: APPLY });
    now += 60_000;
    const same = await call(k, "PATCH", url, { body: cm("1"), contentType: APPLY });
    assert.equal(timeOf(same), timeOf(first));
    assert.equal(same.json.metadata.resourceVersion, first.json.metadata.resourceVersion);
    const changed = await call(k, "PATCH", url, { body: cm("2"), contentType: APPLY });
    assert.equal(timeOf(changed), "2026-11-26T03:34:24Z");
  });
});

Deno.test("removing a dropped field never edits the stored object the previous answer came from", async () => {
  await withKube({}, async (k) => {
    const url = "/api/v1/namespaces/default/configmaps/c?fieldManager=m";
    const cm = (data?: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c" },
      ...(data ? { data } : {}),
    });
    await call(k, "PATCH", url, { body: cm({ a: "1" }), contentType: APPLY });
    const before = k.store.peek("configmaps", "default", "c")!;
    const dropped = await call(k, "PATCH", url, { body: cm(), contentType: APPLY });
    assert.deepEqual(before.data, { a: "1" }, "the old stored version is untouched");
    assert.deepEqual(dropped.json.data ?? {}, {});
  });
});
