/**
 * Unit tests of the fake's pure parts: selector grammars, patch semantics (JSON, merge and
 * strategic merge), Table helpers, and the RBAC hook's 403 wording.
 */
import assert from "node:assert/strict";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { builtinListRules } from "./patch.ts";
import {
  matchFields,
  matchLabels,
  matchLabelSelector,
  parseFieldSelector,
  parseLabelSelector,
} from "./selectors.ts";
import { humanDuration, jsonPath } from "./table.ts";
import { call, withKube } from "./testing/client.ts";

const labels = (sel: string, l: Record<string, string>) => {
  const r = parseLabelSelector(sel);
  assert.ok(r.ok, sel);
  return matchLabels(r.value, l);
};

Deno.test("label selectors: equality, inequality, sets, existence and numeric comparison", () => {
  const l = { app: "web", tier: "fe", n: "7" };
  assert.ok(labels("app=web,tier==fe", l));
  assert.ok(labels("app!=db,missing!=x", l));
  assert.ok(labels("app in (web, db),tier notin (be)", l));
  assert.ok(labels("app,!legacy", l));
  assert.ok(labels("n>5,n<8", l));
  assert.ok(!labels("app=db", l));
  assert.ok(!labels("!app", l));
  assert.ok(!labels("missing in (a)", l));
  assert.ok(labels("", l));
  assert.equal(parseLabelSelector("app=(").ok, false);
  assert.equal(parseLabelSelector("n>x").ok, false);
});

Deno.test("structured selectors: {} matches all, expressions as In/NotIn/Exists/DoesNotExist", () => {
  assert.ok(matchLabelSelector({}, { a: "1" }));
  assert.ok(
    matchLabelSelector({
      matchLabels: { a: "1" },
      matchExpressions: [{ key: "b", operator: "DoesNotExist" }],
    }, { a: "1" }),
  );
  assert.ok(
    !matchLabelSelector({ matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] }, {
      a: "1",
    }),
  );
});

Deno.test("field selectors: =, ==, !=, escapes and the empty value", () => {
  const r = parseFieldSelector("spec.nodeName=,status.phase!=Failed,metadata.name==a\\,b");
  assert.ok(r.ok);
  const values: Record<string, string> = {
    "spec.nodeName": "",
    "status.phase": "Running",
    "metadata.name": "a,b",
  };
  assert.ok(matchFields(r.value, (f) => values[f] ?? ""));
  assert.equal(parseFieldSelector("nonsense").ok, false);
});

Deno.test("JSON patch ops incl. move, copy, ~1 escapes and '-' append; merge patch null deletes and arrays replace", () => {
  const doc = { metadata: { labels: { "a/b": "1" } }, list: [1, 2] };
  const r = jsonPatch(doc, [
    { op: "add", path: "/list/-", value: 3 },
    { op: "copy", from: "/metadata/labels/a~1b", path: "/metadata/labels/c" },
    { op: "move", from: "/list/0", path: "/first" },
    { op: "replace", path: "/metadata/labels/a~1b", value: "2" },
  ]);
  assert.ok(r.ok);
  assert.deepEqual(r.value, {
    metadata: { labels: { "a/b": "2", c: "1" } },
    list: [2, 3],
    first: 1,
  });
  assert.deepEqual(doc.list, [1, 2], "the input is not mutated");
  const failed = jsonPatch(doc, [{ op: "remove", path: "/nope" }]);
  assert.ok(!failed.ok && failed.error.code === 422);
  assert.deepEqual(mergePatch({ a: 1, b: [1, 2], c: { d: 1 } }, { a: null, b: [3], c: { e: 2 } }), {
    b: [3],
    c: { d: 1, e: 2 },
  });
});

Deno.test("strategic merge: $patch delete/replace, $retainKeys, env merged by name inside containers", () => {
  const rules = builtinListRules("Pod");
  const pod = {
    spec: {
      containers: [{ name: "a", env: [{ name: "X", value: "1" }, { name: "Y", value: "1" }] }, {
        name: "b",
      }],
    },
  };
  const r = strategicMergePatch(pod, {
    spec: {
      containers: [{ name: "a", env: [{ name: "Y", value: "2" }] }, {
        name: "b",
        $patch: "delete",
      }],
    },
  }, rules);
  assert.deepEqual(r.spec.containers, [{
    name: "a",
    env: [{ name: "X", value: "1" }, { name: "Y", value: "2" }],
  }]);
  const replaced = strategicMergePatch(pod, {
    spec: { containers: [{ $patch: "replace" }, { name: "z" }] },
  }, rules);
  assert.deepEqual(replaced.spec.containers, [{ name: "z" }]);
  const retained = strategicMergePatch({ spec: { a: 1, b: 2 } }, {
    spec: { $retainKeys: ["b"], b: 3 },
  }, rules);
  assert.deepEqual(retained.spec, { b: 3 });
});

Deno.test("ages print like Go's HumanDuration; printer-column JSONPath picks filtered and indexed values", () => {
  assert.deepEqual(
    [5e3, 312e3, 600e3, 3 * 3600e3 + 60e3, 50 * 3600e3, 3 * 86400e3 + 3600e3].map(humanDuration),
    ["5s", "5m12s", "10m", "3h1m", "2d2h", "3d1h"],
  );
  const o = {
    status: { conditions: [{ type: "A", status: "False" }, { type: "Ready", status: "True" }] },
    spec: { list: [{ n: 1 }] },
  };
  assert.deepEqual(jsonPath(o, '.status.conditions[?(@.type=="Ready")].status'), ["True"]);
  assert.deepEqual(jsonPath(o, ".spec.list[0].n"), [1]);
  assert.deepEqual(jsonPath(o, ".spec.missing"), []);
});

Deno.test("a user no binding names is refused in the apiserver's 403 wording, subresources included", async () => {
  await withKube({ users: { alice: "alice" } }, async (k) => {
    const r = await call(k, "GET", "/api/v1/namespaces/default/pods/p1", { token: "alice" });
    assert.equal(r.status, 403);
    assert.equal(
      r.json.message,
      'pods "p1" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "default"',
    );
    assert.deepEqual(r.json.details, { name: "p1", kind: "pods" });
    const evict = await call(k, "POST", "/api/v1/namespaces/default/pods/p1/eviction", {
      token: "alice",
      body: {},
    });
    assert.equal(
      evict.json.message,
      'pods "p1" is forbidden: User "alice" cannot create resource "pods/eviction" in API group "" in the namespace "default"',
    );
    assert.equal(
      (await call(k, "GET", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=0")).status,
      200,
    );
    assert.deepEqual(
      k.denials.map((d) => d.resourceRequest && `${d.user} ${d.verb} ${d.resource}`),
      ["alice get pods", "alice create pods"],
    );
  });
});
