import assert from "node:assert/strict";
import { nodePoolCrd } from "./testing/crds.ts";
import { call, withKube } from "./testing/client.ts";

const PROTOBUF = "application/vnd.kubernetes.protobuf";
const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

Deno.test("protobuf bodies the fake has no message table for, and protobuf updates, patches and deletes, get 415 with a Status, not a JSON parse error", async () => {
  await withKube({}, async (k) => {
    const namespace = "\x6b\x38\x73\x00\x0a\x0f\x0a\x02v1\x12\x09Namespace";
    const role = "\x6b\x38\x73\x00\x0a\x24\x0a\x1crbac.authorization.k8s.io/v1\x12\x04Role";
    for (
      const [method, path, bytes] of [
        ["POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", role],
        ["PUT", "/api/v1/namespaces/default", namespace],
        ["PATCH", "/api/v1/namespaces/default", namespace],
        ["DELETE", "/api/v1/namespaces/default/configmaps/x", namespace],
      ] as const
    ) {
      const r = await call(k, method, path, { body: bytes, contentType: PROTOBUF });
      assert.equal(r.status, 415, `${method} ${path}`);
      assert.equal(r.json.kind, "Status");
      assert.equal(r.json.reason, "UnsupportedMediaType");
      assert.match(
        r.json.message,
        /^the body of the request was in an unknown format - accepted media types include: application\//,
      );
    }
  });
});

Deno.test("a protobuf-only Accept is 406 for built-in kinds, JSON when JSON is also acceptable, and JSON for custom resources", async () => {
  await withKube({}, async (k) => {
    const only = await call(k, "GET", "/api/v1/namespaces", { accept: PROTOBUF });
    assert.equal(only.status, 406);
    assert.equal(only.json.reason, "NotAcceptable");
    assert.match(only.json.message, /^only the following media types are accepted: /);
    const both = await call(k, "GET", "/api/v1/namespaces", {
      accept: `${PROTOBUF}, application/json`,
    });
    assert.equal(both.status, 200);
    assert.equal(both.json.kind, "NamespaceList");
    await call(k, "POST", CRDS, { body: nodePoolCrd() });
    const cr = await call(k, "GET", "/apis/proxscale.io/v1alpha1/nodepools", { accept: PROTOBUF });
    assert.equal(cr.status, 200);
    assert.equal(cr.headers.get("content-type"), "application/json");
    assert.equal(cr.json.kind, "NodePoolList");
    const html = await call(k, "GET", "/api/v1/namespaces", { accept: "text/html" });
    assert.equal(html.status, 406);
  });
});
