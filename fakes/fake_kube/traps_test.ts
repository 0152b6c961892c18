/**
 * Traps of the Kubernetes API that look optional but break real clients (discovery and
 * OpenAPI shapes, content types, watch framing and resourceVersion rules, patch bodies), one
 * test each, against the fake over a real socket. More are in traps_more_test.ts; the
 * client-node side (MicroTime, informers stopping on errors) is in
 * tests/kubernetes_client_traps_test.ts.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { startFakeKube } from "./server.ts";
import { call, openWatch, withKube } from "./testing/client.ts";

const AGG = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
const PODS = "/api/v1/namespaces/default/pods";
const CMS = "/api/v1/namespaces/default/configmaps";

async function allGroupVersionDocs(k: Parameters<typeof call>[0]) {
  const index = await call(k, "GET", "/openapi/v3");
  const docs = [];
  for (const e of Object.values(index.json.paths) as { serverRelativeURL: string }[]) {
    docs.push((await call(k, "GET", e.serverRelativeURL)).json);
  }
  return docs;
}

Deno.test("aggregated discovery is labelled with its own Content-Type, legacy with application/json", async () => {
  await withKube({}, async (k) => {
    for (const p of ["/api", "/apis"]) {
      const agg = await call(k, "GET", p, { accept: AGG });
      assert.equal(
        agg.headers.get("content-type"),
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
      );
      assert.equal(agg.json.kind, "APIGroupDiscoveryList");
      const legacy = await call(k, "GET", p, { accept: "application/json, */*" });
      assert.equal(legacy.headers.get("content-type"), "application/json");
      assert.notEqual(legacy.json.kind, "APIGroupDiscoveryList");
    }
  });
});

Deno.test("/openapi/v3 is served and /openapi/v2 (protobuf only) is 404", async () => {
  await withKube({}, async (k) => {
    assert.equal(
      (await call(k, "GET", "/openapi/v3", { accept: "application/json, */*" })).status,
      200,
    );
    const v2 = await call(k, "GET", "/openapi/v2", {
      accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    });
    assert.equal(v2.status, 404);
  });
});

Deno.test("every kind's PATCH operation declares the fieldValidation query parameter", async () => {
  await withKube({}, async (k) => {
    let ops = 0;
    for (const doc of await allGroupVersionDocs(k)) {
      for (
        const item of Object.values(doc.paths) as {
          patch: { parameters: { name: string; in: string }[] };
        }[]
      ) {
        assert.ok(
          item.patch.parameters.some((p) => p.name === "fieldValidation" && p.in === "query"),
        );
        ops++;
      }
    }
    assert.ok(ops >= 12);
  });
});

Deno.test("x-kubernetes-group-version-kind is an object on operations and an array on schemas", async () => {
  await withKube({}, async (k) => {
    for (const doc of await allGroupVersionDocs(k)) {
      for (
        const item of Object.values(doc.paths) as Record<
          string,
          { "x-kubernetes-group-version-kind": unknown }
        >[]
      ) {
        for (const op of Object.values(item)) {
          const gvk = op["x-kubernetes-group-version-kind"];
          assert.ok(gvk && typeof gvk === "object" && !Array.isArray(gvk));
        }
      }
      for (
        const s of Object.values(doc.components.schemas) as {
          "x-kubernetes-group-version-kind": unknown[];
        }[]
      ) {
        assert.ok(
          Array.isArray(s["x-kubernetes-group-version-kind"]) &&
            s["x-kubernetes-group-version-kind"].length === 1,
        );
      }
    }
  });
});

Deno.test("plain HTTP serves anonymous requests (kubectl sends no credentials there); HTTPS demands them", async () => {
  await withKube({ tls: false }, async (k) => {
    const r = await call(k, "GET", "/api/v1/namespaces", { token: null });
    assert.equal(r.status, 200);
  });
  await withKube({ tls: true }, async (k) => {
    const client = Deno.createHttpClient({ caCerts: [k.caPem!] });
    try {
      const r = await fetch(`${k.url}/api/v1/namespaces`, { client });
      await r.body?.cancel();
      assert.equal(r.status, 401);
    } finally {
      client.close();
    }
  });
});

Deno.test("the HTTP kubeconfig has insecure-skip-tls-verify and no CA; the HTTPS one has a CA and no flag", async () => {
  await withKube({ tls: false }, (k) => {
    const c = parse(k.kubeconfig()).clusters[0].cluster;
    assert.deepEqual(c, { server: k.url, "insecure-skip-tls-verify": true });
  });
  await withKube({ tls: true }, (k) => {
    const c = parse(k.kubeconfig()).clusters[0].cluster;
    assert.deepEqual(Object.keys(c).sort(), ["certificate-authority-data", "server"]);
  });
});

Deno.test("protobuf request bodies get 415 listing the JSON and YAML media types", async () => {
  await withKube({}, async (k) => {
    const r = await call(
      k,
      "POST",
      "/api/v1/namespaces?fieldManager=kubectl-create&fieldValidation=Strict",
      {
        body: "\x6b\x38\x73\x00",
        contentType: "application/vnd.kubernetes.protobuf",
      },
    );
    assert.equal(r.status, 415);
    assert.equal(r.json.reason, "UnsupportedMediaType");
    assert.equal(
      r.json.message,
      "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
    );
    const yaml = await call(k, "POST", CMS, {
      body: "metadata:\n  name: from-yaml\n",
      contentType: "application/yaml",
    });
    assert.equal(yaml.status, 201);
  });
});

Deno.test("every response has a Content-Type, including 401, 403, 405, 410 and 500", async () => {
  await withKube(
    { tls: false, users: { t2: "bob" } },
    async (k) => {
      const rs = [
        await call(k, "GET", "/api/v1/nodes", { token: "bad" }),
        await call(k, "GET", "/api/v1/nodes", { token: "t2" }),
        await call(k, "PUT", "/api/v1/nodes", { body: {} }),
        await call(k, "POST", "/api/v1/nodes", {
          body: { metadata: { name: "n", resourceVersion: "5" } },
        }),
        await call(k, "GET", "/healthz"),
      ];
      assert.deepEqual(rs.map((r) => r.status), [401, 403, 405, 500, 200]);
      for (const r of rs) assert.ok(r.headers.get("content-type"));
      k.faults.errorRate = 1;
      const injected = await call(k, "GET", "/api/v1/nodes");
      assert.equal(injected.status, 500);
      assert.equal(injected.headers.get("content-type"), "application/json");
    },
  );
});

Deno.test("watch responses are application/json, also for Table watches", async () => {
  await withKube({}, async (k) => {
    for (
      const accept of [undefined, "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"]
    ) {
      const w = await openWatch(k, `${PODS}?watch=true`, accept);
      assert.equal(w.headers.get("content-type"), "application/json");
      await w.close();
    }
  });
});

Deno.test("one JSON object per line in watch streams (no pretty printing), Table events included", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", PODS, {
      body: { metadata: { name: "a" }, spec: { containers: [{ name: "c", image: "x" }] } },
    });
    for (const accept of [undefined, "application/json;as=Table;v=v1;g=meta.k8s.io"]) {
      const w = await openWatch(k, `${PODS}?watch=true&resourceVersion=0`, accept);
      const e = await w.next();
      assert.equal(e.type, "ADDED");
      assert.equal(w.lines.length, 1);
      assert.ok(!w.lines[0]!.includes("\n") && w.lines[0]!.startsWith('{"type":"ADDED"'));
      if (accept) assert.equal(e.object.kind, "Table");
      await w.close();
    }
  });
});

Deno.test("after an ERROR 410 event the stream is closed", async () => {
  await withKube({ historyLimit: 1 }, async (k) => {
    const first = await call(k, "POST", CMS, { body: { metadata: { name: "a" } } });
    for (const n of ["b", "c", "d"]) {
      await call(k, "POST", CMS, { body: { metadata: { name: n } } });
    }
    const w = await openWatch(
      k,
      `${CMS}?watch=true&resourceVersion=${first.json.metadata.resourceVersion}`,
    );
    const e = await w.next();
    assert.equal(e.type, "ERROR");
    assert.equal(await w.next(), undefined, "end of stream right after the ERROR event");
  });
});

Deno.test("DELETED events carry the deletion's new resourceVersion", async () => {
  await withKube({}, async (k) => {
    const a = await call(k, "POST", CMS, { body: { metadata: { name: "a" } } });
    const w = await openWatch(
      k,
      `${CMS}?watch=true&resourceVersion=${a.json.metadata.resourceVersion}`,
    );
    await call(k, "DELETE", `${CMS}/a`);
    const e = await w.next();
    assert.equal(e.type, "DELETED");
    assert.equal(e.object.metadata.name, "a");
    assert.ok(Number(e.object.metadata.resourceVersion) > Number(a.json.metadata.resourceVersion));
    assert.equal(e.object.metadata.resourceVersion, k.store.resourceVersion());
    await w.close();
  });
});

Deno.test("'too old' is decided per resource type: other resources' writes do not expire a quiet watch", async () => {
  await withKube({ historyLimit: 3 }, async (k) => {
    const p = await call(k, "POST", PODS, {
      body: { metadata: { name: "quiet" }, spec: { containers: [{ name: "c", image: "x" }] } },
    });
    for (let i = 0; i < 20; i++) {
      await call(k, "POST", CMS, { body: { metadata: { name: `c${i}` } } });
    }
    const w = await openWatch(
      k,
      `${PODS}?watch=true&resourceVersion=${p.json.metadata.resourceVersion}`,
    );
    await call(k, "DELETE", `${PODS}/quiet`);
    const e = await w.next();
    assert.equal(e.type, "DELETED");
    await w.close();
    const oldCm = await openWatch(
      k,
      `${CMS}?watch=true&resourceVersion=${p.json.metadata.resourceVersion}`,
    );
    assert.equal((await oldCm.next()).type, "ERROR", "config maps did drop their history");
    await oldCm.close();
  });
});

Deno.test('resourceVersion "" and "0" start with synthetic ADDED events; "n" does not', async () => {
  await withKube({}, async (k) => {
    const a = await call(k, "POST", CMS, { body: { metadata: { name: "a" } } });
    for (const rv of ["", "&resourceVersion=", "&resourceVersion=0"]) {
      const w = await openWatch(k, `${CMS}?watch=true&fieldSelector=metadata.name%3Da${rv}`);
      const e = await w.next();
      assert.deepEqual([e.type, e.object.metadata.name], ["ADDED", "a"]);
      await w.close();
    }
    const w = await openWatch(
      k,
      `${CMS}?watch=true&resourceVersion=${a.json.metadata.resourceVersion}`,
    );
    await call(k, "POST", CMS, { body: { metadata: { name: "b" } } });
    const e = await w.next();
    assert.equal(e.object.metadata.name, "b", "no synthetic event for a");
    await w.close();
  });
});

Deno.test("selector watches emit ADDED and DELETED when objects enter and leave the selector", async () => {
  await withKube({}, async (k) => {
    const a = await call(k, "POST", CMS, { body: { metadata: { name: "a" } } });
    const w = await openWatch(
      k,
      `${CMS}?watch=true&labelSelector=team%3Dx&resourceVersion=${a.json.metadata.resourceVersion}`,
    );
    const merge = "application/merge-patch+json";
    const joined = await call(k, "PATCH", `${CMS}/a`, {
      body: { metadata: { labels: { team: "x" } } },
      contentType: merge,
    });
    await call(k, "PATCH", `${CMS}/a`, { body: { data: { k: "v" } }, contentType: merge });
    const left = await call(k, "PATCH", `${CMS}/a`, {
      body: { metadata: { labels: { team: "y" } } },
      contentType: merge,
    });
    const events = await w.take(3);
    assert.deepEqual(events.map((e) => e.type), ["ADDED", "MODIFIED", "DELETED"]);
    assert.equal(events[0].object.metadata.resourceVersion, joined.json.metadata.resourceVersion);
    assert.equal(events[2].object.metadata.labels.team, "x", "DELETED carries the old content");
    assert.equal(events[2].object.metadata.resourceVersion, left.json.metadata.resourceVersion);
    await w.close();
  });
});

Deno.test("the resourceVersion counter never goes backwards across restarts", async () => {
  const first = await startFakeKube({ tls: false });
  const rv1 = Number(
    first.store.create("configmaps", { metadata: { name: "a" } }).ok &&
      first.store.resourceVersion(),
  );
  await first.close();
  const second = await startFakeKube({ tls: false });
  try {
    assert.ok(Number(second.store.resourceVersion()) > rv1);
  } finally {
    await second.close();
  }
});

Deno.test("no-op writes bump no resourceVersion and emit no event", async () => {
  await withKube({}, async (k) => {
    const created = await call(k, "POST", CMS, {
      body: { metadata: { name: "a", labels: { x: "1" } }, data: { k: "v" } },
    });
    const coOwner = await call(k, "PATCH", `${CMS}/a?fieldManager=m`, {
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { k: "v" } },
      contentType: "application/apply-patch+yaml",
    });
    assert.notEqual(
      coOwner.json.metadata.resourceVersion,
      created.json.metadata.resourceVersion,
      "a first apply of equal values still writes: the applier becomes a co-owner in managedFields",
    );
    const a = await call(k, "GET", `${CMS}/a`);
    const w = await openWatch(
      k,
      `${CMS}?watch=true&resourceVersion=${a.json.metadata.resourceVersion}`,
    );
    const same = [
      await call(k, "PUT", `${CMS}/a`, { body: a.json }),
      await call(k, "PATCH", `${CMS}/a`, {
        body: { data: { k: "v" } },
        contentType: "application/merge-patch+json",
      }),
      await call(k, "PATCH", `${CMS}/a`, {
        body: { metadata: { labels: { x: "1" } } },
        contentType: "application/strategic-merge-patch+json",
      }),
      await call(k, "PATCH", `${CMS}/a?fieldManager=m`, {
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { k: "v" } },
        contentType: "application/apply-patch+yaml",
      }),
    ];
    for (const r of same) {
      assert.equal(r.json.metadata.resourceVersion, a.json.metadata.resourceVersion);
    }
    const changed = await call(k, "PATCH", `${CMS}/a`, {
      body: { data: { k: "w" } },
      contentType: "application/merge-patch+json",
    });
    const e = await w.next();
    assert.equal(e.type, "MODIFIED");
    assert.equal(e.object.metadata.resourceVersion, changed.json.metadata.resourceVersion);
    await w.close();
  });
});

Deno.test("JSON patch is implemented and an object body sent as JSON patch is 400", async () => {
  await withKube({}, async (k) => {
    await call(k, "POST", "/api/v1/nodes", { body: { metadata: { name: "n1" } } });
    const r = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: { spec: { unschedulable: true } },
      contentType: "application/json-patch+json",
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.reason, "BadRequest");
    const ok = await call(k, "PATCH", "/api/v1/nodes/n1", {
      body: [{ op: "add", path: "/spec/unschedulable", value: true }],
      contentType: "application/json-patch+json",
    });
    assert.equal(ok.json.spec.unschedulable, true);
  });
});

Deno.test("a watch with an unsupported field selector is a plain 400, not a stream", async () => {
  await withKube({}, async (k) => {
    const r = await call(k, "GET", `${PODS}?watch=true&fieldSelector=spec.foo%3Dx`);
    assert.equal(r.status, 400);
    assert.equal(r.json.message, "field label not supported: spec.foo");
  });
});
