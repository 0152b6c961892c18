/**
 * Tests of crd_source.ts: Provider, MachineTemplate and NodePool objects plus the settings
 * ConfigMap become the same Config a file would, and every problem names its object.
 *
 * May import: this folder, core/, adapters/kubernetes/ (the CRDs' schemas and their defaulting).
 */
import assert from "node:assert/strict";
import { KINDS, objectSchema } from "../kubernetes/crds.ts";
import { admit } from "../kubernetes/structural_validate.ts";
import {
  CONFIG_API_VERSION,
  configFromObjects,
  type CrdProblem,
  formatCrdProblem,
  SETTINGS_CONFIGMAP,
  SETTINGS_KEY,
} from "./crd_source.ts";

const provider = {
  apiVersion: CONFIG_API_VERSION,
  kind: "Provider",
  metadata: { name: "home" },
  spec: {
    endpoint: "https://pve.example:8006",
    tokenId: "root@pam!proxscale",
    tokenSecret: { env: "PVE_TOKEN" },
    hosts: [{ name: "pve1" }],
    vmidRange: { lower: 9000, upper: 9099 },
  },
};
const template = {
  apiVersion: CONFIG_API_VERSION,
  kind: "MachineTemplate",
  metadata: { name: "worker" },
  spec: {
    provider: "home",
    source: { clone: { templateVmid: 8000 } },
    shapes: [{ cpu: 2, memory: "4Gi" }],
  },
};
const pool = {
  apiVersion: CONFIG_API_VERSION,
  kind: "NodePool",
  metadata: { name: "general" },
  spec: { machineTemplate: "worker" },
};
const settings = (text: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: SETTINGS_CONFIGMAP, namespace: "proxscale-system" },
  data: { [SETTINGS_KEY]: text },
});

/** The problems of objects that must be refused, formatted. */
function problems(objects: unknown[]): string[] {
  const r = configFromObjects(objects);
  assert.ok(!r.ok, "the objects should be refused");
  return r.error.map((p: CrdProblem) => formatCrdProblem(p));
}

Deno.test("the three kinds and the settings ConfigMap become a Config; other objects are ignored", () => {
  const r = configFromObjects([
    { apiVersion: "v1", kind: "Secret", metadata: { name: "x" } },
    pool,
    template,
    provider,
    settings("settings:\n  launchTimeout: 2m\n"),
    "not an object",
    null,
  ]);
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatCrdProblem).join("\n"));
  assert.deepEqual(r.value.providers.map((p) => p.name), ["home"]);
  assert.deepEqual(r.value.machineTemplates.map((t) => t.name), ["worker"]);
  assert.deepEqual(r.value.nodePools.map((p) => p.name), ["general"]);
  assert.equal(r.value.settings.launchTimeout, 120_000);
});

Deno.test("without a settings ConfigMap the defaults apply", () => {
  const r = configFromObjects([provider, template, pool]);
  assert.ok(r.ok);
  assert.equal(r.value.settings.launchTimeout, 600_000);
  assert.ok(!("queue" in r.value));
});

Deno.test("a schema problem names the object and the field inside its spec", () => {
  const bad = { ...pool, spec: { machineTemplate: "worker", weight: "fifty" } };
  const got = problems([provider, template, bad]);
  assert.equal(got.length, 1, got.join("\n"));
  assert.match(got[0]!, /^NodePool\/general: spec\.weight: /);
});

Deno.test("an unknown spec field is named by object and path", () => {
  const bad = { ...pool, spec: { machineTemplate: "worker", maxNodez: 3 } };
  assert.deepEqual(problems([provider, template, bad]), [
    "NodePool/general: spec.maxNodez: unknown field",
  ]);
});

Deno.test("a missing kind says no such objects were found", () => {
  assert.deepEqual(problems([provider, template]), ["NodePool: no NodePool objects found"]);
});

Deno.test("a cross-reference problem names the object that refers", () => {
  const bad = { ...pool, spec: { machineTemplate: "wrker" } };
  assert.deepEqual(problems([provider, template, bad]), [
    'NodePool/general: spec.machineTemplate: no MachineTemplate named "wrker" (known: worker)',
  ]);
});

Deno.test("an object of the wrong API version is refused by name", () => {
  const old = { ...provider, apiVersion: "proxscale.io/v0" };
  assert.deepEqual(problems([old, template, pool]), [
    'Provider/home: apiVersion: must be proxscale.io/v1alpha1, got "proxscale.io/v0"',
  ]);
});

Deno.test("the settings ConfigMap allows only settings and queue, and must be YAML", () => {
  assert.deepEqual(problems([provider, template, pool, settings("nodePools: []\n")]), [
    `ConfigMap/${SETTINGS_CONFIGMAP}: data.config.yaml.nodePools: unknown field`,
  ]);
  const [broken] = problems([provider, template, pool, settings("settings: [\n")]);
  assert.match(broken!, /^ConfigMap\/proxscale-settings: data\.config\.yaml: not valid YAML: /);
});

Deno.test("a settings problem is named at the ConfigMap with its path", () => {
  const got = problems([provider, template, pool, settings("settings:\n  launchTimeout: soon\n")]);
  assert.equal(got.length, 1, got.join("\n"));
  assert.match(got[0]!, /^ConfigMap\/proxscale-settings: settings\.launchTimeout: /);
});

Deno.test("formatCrdProblem leaves out an empty path", () => {
  assert.equal(formatCrdProblem({ object: "NodePool", path: "", message: "m" }), "NodePool: m");
  assert.equal(formatCrdProblem({ object: "A/b", path: "spec.x", message: "m" }), "A/b: spec.x: m");
});

Deno.test("Tenant objects become the Config's tenants; a pool's tenancy adds its label and taint", () => {
  const tenant = {
    apiVersion: CONFIG_API_VERSION,
    kind: "Tenant",
    metadata: { name: "team-a" },
    spec: { namespaces: ["a"], quota: { cpu: "8", nodes: 2 }, sharing: { tenants: [] } },
  };
  const owned = { ...pool, spec: { ...pool.spec, tenancy: { tenant: "team-a" } } };
  const r = configFromObjects([provider, template, owned, tenant]);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.deepEqual(r.value.tenants, [{
    name: "team-a",
    namespaces: ["a"],
    quota: { cpu: 8000, nodes: 2 },
    sharing: [],
  }]);
  const p = r.value.nodePools[0]!;
  assert.deepEqual(p.tenancy, { tenant: "team-a", shared: false });
  assert.equal(p.labels["proxscale.io/tenant"], "team-a");
  assert.deepEqual(p.taints.at(-1), {
    key: "proxscale.io/tenant",
    value: "team-a",
    effect: "NoSchedule",
  });
  // A pool naming a Tenant that does not exist is a problem of that pool.
  const orphan = configFromObjects([provider, template, owned]);
  assert.ok(!orphan.ok);
  assert.match(
    formatCrdProblem(orphan.error[0]!),
    /^NodePool\/.*: spec\.tenancy\.tenant: no Tenant named "team-a"/,
  );
  // Without Tenants the Config has no tenants key at all (decisions unchanged).
  const plain = configFromObjects([provider, template, pool]);
  assert.ok(plain.ok);
  assert.equal("tenants" in plain.value, false);
});

/** An object as the API server stores it: defaulted and validated by its kind's CRD schema. */
function stored(obj: { kind: string; [k: string]: unknown }): unknown {
  const r = admit(structuredClone(obj), objectSchema(KINDS.find((k) => k.kind === obj.kind)!));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.value;
}

Deno.test("a NodePool applied without template, weight or budgets takes its Tenant's defaults; the CRD fills none of them", () => {
  const tenant = {
    apiVersion: CONFIG_API_VERSION,
    kind: "Tenant",
    metadata: { name: "team-a" },
    spec: {
      namespaces: ["a"],
      defaults: {
        machineTemplate: "worker",
        weight: 60,
        disruption: { budgets: [{ nodes: "2" }] },
      },
    },
  };
  const bare = {
    apiVersion: CONFIG_API_VERSION,
    kind: "NodePool",
    metadata: { name: "pool-a" },
    spec: { tenancy: { tenant: "team-a" }, disruption: { consolidateAfter: "1m" } },
  };
  const pool = stored(bare) as { spec: Record<string, unknown> };
  // The API server leaves the fields a tenant may default unset, so the loader can see it.
  assert.equal("weight" in pool.spec, false);
  assert.equal("machineTemplate" in pool.spec, false);
  assert.deepEqual(pool.spec.disruption, {
    consolidateAfter: "1m",
    expireAfter: "720h",
    drainTimeoutAction: "uncordon",
  });
  const r = configFromObjects([stored(provider), stored(template), stored(tenant), pool]);
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatCrdProblem).join("\n"));
  const p = r.value.nodePools[0]!;
  assert.equal(p.machineTemplate, "worker");
  assert.equal(p.weight, 60);
  assert.deepEqual(p.disruption.budgets, [{ nodes: "2" }]);
  assert.equal(p.disruption.consolidateAfter, 60_000, "the pool's own value wins");
  assert.equal(p.disruption.consolidationPolicy, "WhenEmptyOrUnderutilized", "global default");
  // A stored pool of no tenant gets the same global defaults the CRD used to fill.
  const open = configFromObjects([
    provider,
    template,
    stored({ ...bare, metadata: { name: "open" }, spec: { machineTemplate: "worker" } }),
  ]);
  assert.ok(open.ok);
  assert.equal(open.value.nodePools[0]!.weight, 10);
  assert.deepEqual(open.value.nodePools[0]!.disruption.budgets, [{ nodes: "10%" }]);
  // Without a tenant default template the pool is refused, by name.
  const noTemplate = { ...tenant, spec: { namespaces: ["a"], defaults: { weight: 60 } } };
  assert.deepEqual(problems([provider, template, stored(noTemplate), pool]), [
    'NodePool/pool-a: spec: NodePool "pool-a" has no machineTemplate and its Tenant "team-a" ' +
    "has no defaults.machineTemplate: name one in either",
  ]);
});
