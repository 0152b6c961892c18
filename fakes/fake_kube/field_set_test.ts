import assert from "node:assert/strict";
import { fieldsOf, fromFieldsV1, pathText, removeField, toFieldsV1 } from "./field_set.ts";
import { applyListRules } from "./list_types.ts";
import { builtinResources } from "./resources.ts";

const deployment = builtinResources().find((d) => d.kind === "Deployment")!;
const rules = applyListRules(deployment);

const manifest = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { app: "web" }, finalizers: ["a"] },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: {
      spec: {
        containers: [{ name: "nginx", image: "nginx:1", ports: [{ containerPort: 80 }] }],
      },
    },
  },
};

Deno.test("applied fields print as structured-merge-diff paths, keyed by the list's map keys", () => {
  const paths = [...fieldsOf(manifest, rules).keys()];
  assert.deepEqual(paths, [
    ".metadata.labels.app",
    '.metadata.finalizers[="a"]',
    ".spec.replicas",
    ".spec.selector",
    '.spec.template.spec.containers[name="nginx"]',
    '.spec.template.spec.containers[name="nginx"].name',
    '.spec.template.spec.containers[name="nginx"].image',
    '.spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"]',
    '.spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"].containerPort',
  ]);
});

Deno.test("fieldsV1 uses f:, k: and v: keys with the element itself as '.' and round-trips", () => {
  const f = toFieldsV1(fieldsOf(manifest, rules).values());
  assert.deepEqual(f["f:spec"]["f:selector"], {}, "the atomic selector is one leaf");
  assert.deepEqual(f["f:metadata"]["f:finalizers"], { 'v:"a"': {} });
  const c = f["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}'];
  assert.deepEqual(Object.keys(c), [".", "f:image", "f:name", "f:ports"]);
  assert.deepEqual(c["f:ports"], {
    'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} },
  });
  const back = fromFieldsV1(f).map((x) => pathText(x.segs)).sort();
  assert.deepEqual(back, [...fieldsOf(manifest, rules).keys()].sort());
});

Deno.test("an update marks maps it creates as nodes of their own, value structs not", () => {
  const f = toFieldsV1(fieldsOf(manifest, rules, true).values());
  assert.deepEqual(f["f:metadata"]["f:labels"], { ".": {}, "f:app": {} });
  assert.ok(!("." in f["f:spec"]), "spec is a value struct");
  assert.ok(!("." in f["f:spec"]["f:template"]));
});

Deno.test("removing a keyed element finds it with the key's default filled in", () => {
  const obj = structuredClone(manifest);
  const port = [...fieldsOf(obj, rules).values()].find((x) =>
    pathText(x.segs).endsWith('protocol="TCP"]')
  )!;
  removeField(obj, port.segs, rules);
  assert.deepEqual(obj.spec.template.spec.containers[0]!.ports, []);
  const fin = [...fieldsOf(obj, rules).values()].find((x) => pathText(x.segs).includes("[="))!;
  removeField(obj, fin.segs, rules);
  assert.deepEqual(obj.metadata.finalizers, []);
});
