/**
 * Tests of crd_manifests.ts: a written configuration becomes one object per entry plus the
 * settings ConfigMap, in apply order, and reading those objects back gives the same Config as
 * the file.
 *
 * May import: this folder, core/, npm:yaml.
 */
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { DEFAULT_NAMESPACE, manifestsFromConfig, renderManifests } from "./crd_manifests.ts";
import { configFromObjects, SETTINGS_CONFIGMAP, SETTINGS_KEY } from "./crd_source.ts";
import { parseConfigText } from "./load.ts";

const TEXT = `nodePools:
  - name: general
    spec: { machineTemplate: worker, minNodes: 1 }
machineTemplates:
  - name: worker
    spec:
      provider: home
      source: { clone: { templateVmid: 8000 } }
      shapes: [{ cpu: 2, memory: 4Gi }]
providers:
  - name: home
    spec:
      endpoint: https://pve.example:8006
      tokenId: root@pam!proxscale
      tokenSecret: { env: PVE_TOKEN }
      hosts: [{ name: pve1 }]
      vmidRange: { lower: 9000, upper: 9099 }
settings:
  launchTimeout: 3m
`;

Deno.test("objects come in apply order, referenced kinds first, with the settings ConfigMap last", () => {
  const objects = manifestsFromConfig(parse(TEXT));
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), [
    "Provider/home",
    "MachineTemplate/worker",
    "NodePool/general",
    `ConfigMap/${SETTINGS_CONFIGMAP}`,
  ]);
  assert.ok(objects.every((o) => o.metadata.labels?.["app.kubernetes.io/managed-by"]));
  assert.equal(objects[3]!.metadata.namespace, DEFAULT_NAMESPACE);
  assert.equal(objects[0]!.metadata.namespace, undefined, "the config kinds are cluster-scoped");
  assert.deepEqual(parse(objects[3]!.data![SETTINGS_KEY]!), { settings: { launchTimeout: "3m" } });
});

Deno.test("specs are copied as written, before defaults", () => {
  const objects = manifestsFromConfig(parse(TEXT));
  assert.deepEqual(objects[2]!.spec, { machineTemplate: "worker", minNodes: 1 });
});

Deno.test("without settings or queue the ConfigMap holds an empty map, in the namespace asked", () => {
  const objects = manifestsFromConfig({ providers: [] }, "ops");
  assert.equal(objects.length, 1);
  assert.deepEqual(objects[0]!.metadata.namespace, "ops");
  assert.equal(objects[0]!.data![SETTINGS_KEY], "{}\n");
});

Deno.test("the rendered manifests read back as the same Config the file gives", () => {
  const fromFile = parseConfigText(TEXT, "c.yaml");
  assert.ok(fromFile.ok);
  const text = renderManifests(manifestsFromConfig(parse(TEXT)), "migrated\nfrom c.yaml");
  assert.match(text, /^# migrated\n# from c\.yaml\n---\n/);
  const docs = parseAllDocuments(text);
  assert.ok(Array.isArray(docs));
  assert.equal(docs.length, 4);
  const back = configFromObjects(docs.map((d) => d.toJS()));
  assert.ok(back.ok, back.ok ? "" : JSON.stringify(back.error));
  assert.deepEqual(back.value, fromFile.value);
});
