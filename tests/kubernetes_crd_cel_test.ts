/**
 * The CEL rules of the shipped CRDs (deploy/crds/), judged from their text: each compiles in
 * the fake API server and in the adapters' evaluator, a valid configuration passes, each rule
 * refuses one bad input through the fake over HTTP with its own message at its field, a
 * transition rule (none ships yet, so a fixture CRD) compares with oldSelf on update only, and
 * a CRD whose rule does not compile is refused.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { call, withKube } from "../fakes/fake_kube/testing/client.ts";
import type { FakeKube } from "../fakes/fake_kube/server.ts";
import { compileRule } from "../fakes/fake_kube/cel.ts";
import { compileCel } from "../adapters/kubernetes/cel.ts";
import { type Manifest, manifestsFromConfig } from "../adapters/config/crd_manifests.ts";
import { BAD_INPUTS, specToMutate } from "./testing/kubernetes_bad_inputs.ts";

const root = new URL("../", import.meta.url);
const example = await Deno.readTextFile(new URL("config.example.yaml", root));
const CRD_FILES = ["providers", "machinetemplates", "nodepools", "nodeclaims", "tenants"];
const CRDS = await Promise.all(
  CRD_FILES.map(async (f) =>
    parse(await Deno.readTextFile(new URL(`deploy/crds/${f}.yaml`, root))) as Crd
  ),
);
const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

type Rule = { rule: string; message: string };
type Node = {
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node;
  "x-kubernetes-validations"?: Rule[];
};
type Crd = {
  spec: { names: { plural: string }; versions: { schema: { openAPIV3Schema: Node } }[] };
};

/** Every rule of a schema with the field path it guards (`[*]` for list items and map values). */
function rulesOf(n: Node, path: string, out: { path: string; rule: Rule }[]) {
  for (const rule of n["x-kubernetes-validations"] ?? []) out.push({ path, rule });
  for (const [k, sub] of Object.entries(n.properties ?? {})) {
    rulesOf(sub, path ? `${path}.${k}` : k, out);
  }
  if (n.items) rulesOf(n.items, `${path}[*]`, out);
  if (n.additionalProperties) rulesOf(n.additionalProperties, `${path}.*`, out);
  return out;
}

const SHIPPED = CRDS.flatMap((c) => rulesOf(c.spec.versions[0]!.schema.openAPIV3Schema, "", []));

async function applyShippedCrds(k: FakeKube) {
  for (const crd of CRDS) {
    const r = await call(k, "POST", CRD_PATH, { body: crd });
    assert.equal(r.status, 201, r.text);
  }
}

const PLURAL = {
  Provider: "providers",
  MachineTemplate: "machinetemplates",
  NodePool: "nodepools",
  Tenant: "tenants",
};
function post(k: FakeKube, m: Manifest) {
  const plural = PLURAL[m.kind as keyof typeof PLURAL];
  return call(k, "POST", `/apis/proxscale.io/v1alpha1/${plural}`, { body: m });
}

Deno.test("every CEL rule in the shipped CRDs compiles in the fake and in the adapters' evaluator", () => {
  assert.ok(SHIPPED.length >= 20, `only ${SHIPPED.length} rules found`);
  for (const { path, rule } of SHIPPED) {
    const fake = compileRule(structuredClone(rule));
    assert.notEqual(typeof fake, "string", `${path}: ${rule.rule}: ${fake}`);
    const adapter = compileCel(rule.rule);
    assert.ok(adapter.ok, `${path}: ${rule.rule}: ${!adapter.ok && adapter.error}`);
  }
});

Deno.test("the example configuration's Provider, MachineTemplate and NodePool pass every CEL rule of the fake", async () => {
  await withKube({}, async (k) => {
    await applyShippedCrds(k);
    for (const m of manifestsFromConfig(parse(example)).filter((m) => m.kind !== "ConfigMap")) {
      const r = await post(k, m);
      assert.equal(r.status, 201, `${m.kind}: ${r.text}`);
    }
  });
});

Deno.test("each CEL rule of the shipped CRDs refuses a bad input through the fake over HTTP with its own message", async () => {
  const messages = new Set(SHIPPED.map((s) => s.rule.message));
  const cases = BAD_INPUTS.filter((b) => b.celMessage);
  const uncovered = [...messages].filter((m) => !cases.some((b) => b.celMessage === m));
  assert.deepEqual(uncovered, [], "CEL rules without a bad input in the shared table");
  await withKube({}, async (k) => {
    await applyShippedCrds(k);
    for (const bad of cases) {
      const doc = parse(example);
      bad.mutate(specToMutate(doc, bad.kind));
      const obj = manifestsFromConfig(doc).find((o) => o.kind === bad.kind)!;
      obj.metadata.name = `bad-${BAD_INPUTS.indexOf(bad)}`;
      const r = await post(k, obj);
      assert.equal(r.status, 422, `${bad.name}: ${r.text}`);
      const causes = r.json.details.causes as { field: string; message: string }[];
      const cause = causes.find((c) => c.message.endsWith(`": ${bad.celMessage}`));
      assert.ok(cause, `${bad.name}: ${r.json.message}`);
      const guarded = SHIPPED.filter((s) => s.rule.message === bad.celMessage).map((s) => s.path);
      const field = cause.field.replace(/\[\d+\]/g, "[*]");
      assert.ok(
        guarded.some((p) =>
          p === field || p.replace(/\.\*$/, "") === field.replace(/\.[^.]+$/, "")
        ),
        `${bad.name}: reported at ${cause.field}, the rule sits at ${guarded.join(" or ")}`,
      );
      assert.ok(r.json.message.includes(`${cause.field}: ${cause.message}`), r.json.message);
    }
  });
});

const WIDGETS = "/apis/example.com/v1/widgets";

function widgetCrd(rule: string, message: string) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      scope: "Cluster",
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
                  size: {
                    type: "integer",
                    "x-kubernetes-validations": [{ rule, message }],
                  },
                  ports: {
                    type: "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    items: {
                      type: "object",
                      required: ["name"],
                      properties: { name: { type: "string" }, port: { type: "integer" } },
                      "x-kubernetes-validations": [{
                        rule: "self.port == oldSelf.port",
                        message: "a port number is immutable",
                      }],
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
}

const widget = (size: number, ports: { name: string; port: number }[] = []) => ({
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name: "w" },
  spec: { size, ports },
});

Deno.test("a transition rule is skipped on create and compares self with oldSelf on update", async () => {
  await withKube({}, async (k) => {
    const crd = await call(k, "POST", CRD_PATH, {
      body: widgetCrd("self >= oldSelf", "size may not shrink"),
    });
    assert.equal(crd.status, 201, crd.text);
    const created = await call(k, "POST", WIDGETS, { body: widget(5, [{ name: "a", port: 80 }]) });
    assert.equal(created.status, 201, "oldSelf rules do not run on create");
    const merge = (spec: unknown) =>
      call(k, "PATCH", `${WIDGETS}/w`, {
        body: { spec },
        contentType: "application/merge-patch+json",
      });
    assert.equal((await merge({ size: 7 })).status, 200, "growing is allowed");
    const shrink = await merge({ size: 6 });
    assert.equal(shrink.status, 422);
    assert.equal(
      shrink.json.message,
      'Widget.example.com "w" is invalid: spec.size: Invalid value: "integer": size may not shrink',
    );
    const added = await merge({ ports: [{ name: "a", port: 80 }, { name: "b", port: 1 }] });
    assert.equal(added.status, 200, "a new list-map item has no old value");
    const changed = await merge({ ports: [{ name: "b", port: 1 }, { name: "a", port: 81 }] });
    assert.equal(changed.status, 422, "items are matched by key, not by position");
    assert.equal(
      changed.json.message,
      'Widget.example.com "w" is invalid: spec.ports[1]: Invalid value: "object": a port number is immutable',
    );
  });
});

Deno.test("a CRD whose CEL rule does not compile is refused with the compiler's message", async () => {
  await withKube({}, async (k) => {
    const r = await call(k, "POST", CRD_PATH, { body: widgetCrd("self >= ", "broken") });
    assert.equal(r.status, 422);
    const cause = r.json.details.causes[0];
    assert.equal(
      cause.field,
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].x-kubernetes-validations[0].rule",
    );
    assert.match(
      cause.message,
      /^Invalid value: "self >= ": compilation failed: ERROR: <input>:1:/,
    );
    assert.match(
      r.json.message,
      /^CustomResourceDefinition.apiextensions.k8s.io "widgets.example.com" is invalid: /,
    );
    const unknown = await call(k, "POST", CRD_PATH, {
      body: widgetCrd("isPrime(self)", "no such function"),
    });
    assert.equal(unknown.status, 422);
    assert.match(unknown.json.message, /undeclared reference to 'isPrime'/);
    assert.equal((await call(k, "GET", WIDGETS)).status, 404, "nothing is served");
  });
});
