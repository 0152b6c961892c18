/**
 * The CRDs are generated from the one schema, committed as generated, structurally valid, and
 * reject exactly the bad inputs the YAML validation rejects (one shared table, three judges:
 * YAML loader, CRD schema with CEL predicates, configuration loaded from CRD objects).
 */
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { KINDS, objectSchema, renderCrds } from "../adapters/kubernetes/crds.ts";
import { type Structural, structuralSchema } from "../adapters/kubernetes/structural_schema.ts";
import { admit } from "../adapters/kubernetes/structural_validate.ts";
import { parseConfigText } from "../adapters/config/load.ts";
import { configFromObjects } from "../adapters/config/crd_source.ts";
import { type Manifest, manifestsFromConfig } from "../adapters/config/crd_manifests.ts";

const root = new URL("../", import.meta.url);
const exampleText = await Deno.readTextFile(new URL("config.example.yaml", root));

Deno.test("committed deploy/crds equal what crds.ts generates", async () => {
  const generated = renderCrds();
  assert.deepEqual(Object.keys(generated).sort(), [
    "machinetemplates.yaml",
    "nodeclaims.yaml",
    "nodepools.yaml",
    "providers.yaml",
  ]);
  for (const [file, text] of Object.entries(generated)) {
    const committed = await Deno.readTextFile(new URL(`deploy/crds/${file}`, root));
    assert.equal(
      committed,
      text,
      `deploy/crds/${file} is stale: run npx -y deno@2.9.6 run -A adapters/kubernetes/crds.ts`,
    );
  }
});

Deno.test("every zod refinement has a CEL rule in the CRD", () => {
  for (const k of KINDS) {
    const missing: string[] = [];
    structuralSchema(k.spec, missing);
    structuralSchema(k.status, missing);
    assert.deepEqual(missing, [], `${k.kind}: refinements without CEL rule at ${missing}`);
  }
});

/** Structural-schema rules of apiextensions.k8s.io/v1 that the generator must respect. */
function structuralProblems(s: Structural, path: string, out: string[]) {
  const raw = s as Record<string, unknown>;
  if ("$ref" in raw) out.push(`${path}: $ref`);
  if (raw.additionalProperties === false) out.push(`${path}: additionalProperties false`);
  if (s.properties && s.additionalProperties) {
    out.push(`${path}: properties with additionalProperties`);
  }
  const typeless = s["x-kubernetes-int-or-string"] || s["x-kubernetes-preserve-unknown-fields"];
  if (!s.type && !typeless) out.push(`${path}: no type`);
  for (const j of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) {
    // Inside junctors only value validations; types only in the int-or-string idiom.
    const keys = Object.keys(j).filter((k) => k !== "type" || !s["x-kubernetes-int-or-string"]);
    for (const k of keys) {
      if (["properties", "items", "default", "description", "type"].includes(k)) {
        out.push(`${path}: ${k} inside anyOf/oneOf`);
      }
    }
  }
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    structuralProblems(v, `${path}.${k}`, out);
  }
  if (s.items) structuralProblems(s.items, `${path}[]`, out);
  if (s.additionalProperties) structuralProblems(s.additionalProperties, `${path}{}`, out);
}

Deno.test("CRD schemas are structural, cluster-scoped, with status subresource and printer columns", () => {
  for (const k of KINDS) {
    const problems: string[] = [];
    structuralProblems(objectSchema(k), k.kind, problems);
    assert.deepEqual(problems, []);
  }
  const crds = Object.values(renderCrds()).map((t) => parse(t));
  for (const crd of crds) {
    assert.equal(crd.spec.group, "proxscale.io");
    assert.equal(crd.spec.scope, "Cluster");
    assert.equal(crd.metadata.name, `${crd.spec.names.plural}.proxscale.io`);
    const v = crd.spec.versions[0];
    assert.deepEqual(v.subresources, { status: {} });
    assert.ok(crd.spec.names.shortNames.length > 0);
    const cols = v.additionalPrinterColumns.map((c: { name: string }) => c.name);
    assert.ok(cols.includes("Ready") && cols.includes("Age"), `${crd.spec.names.kind}: ${cols}`);
    const conditions = v.schema.openAPIV3Schema.properties.status.properties.conditions;
    assert.equal(conditions["x-kubernetes-list-type"], "map");
    assert.deepEqual(conditions.items.required.sort(), [
      "lastTransitionTime",
      "message",
      "reason",
      "status",
      "type",
    ]);
  }
  const nodeclaim = crds.find((c) => c.spec.names.kind === "NodeClaim");
  const cols = nodeclaim.spec.versions[0].additionalPrinterColumns.map(
    (c: { name: string }) => c.name,
  );
  for (const want of ["Pool", "Shape", "Host", "VMID", "Node", "Ready"]) {
    assert.ok(cols.includes(want), `NodeClaim lacks printer column ${want}`);
  }
});

// ---- one table of bad inputs, three judges ---------------------------------------------------

type Kind = "Provider" | "MachineTemplate" | "NodePool";
// deno-lint-ignore no-explicit-any
type Spec = any;
type Bad = { name: string; kind: Kind; mutate: (s: Spec) => void; crossObject?: true };

/** Inputs the YAML validation rejects; every one must also be rejected from CRDs. */
export const BAD_INPUTS: Bad[] = [
  { name: "endpoint over http", kind: "Provider", mutate: (s) => (s.endpoint = "http://pve:8006") },
  { name: "endpoint not a URL", kind: "Provider", mutate: (s) => (s.endpoint = "pve1") },
  { name: "tokenId without realm", kind: "Provider", mutate: (s) => (s.tokenId = "proxscale") },
  {
    name: "vmidRange lower above upper",
    kind: "Provider",
    mutate: (s) => (s.vmidRange = { lower: 9500, upper: 9000 }),
  },
  { name: "vmid below 100", kind: "Provider", mutate: (s) => (s.vmidRange.lower = 99) },
  { name: "no hosts", kind: "Provider", mutate: (s) => (s.hosts = []) },
  {
    name: "host listed twice",
    kind: "Provider",
    mutate: (s) => s.hosts.push({ ...s.hosts[0] }),
  },
  {
    name: "token secret from two sources",
    kind: "Provider",
    mutate: (s) => (s.tokenSecret = { env: "A", file: "/b" }),
  },
  {
    name: "token secret with unknown field",
    kind: "Provider",
    mutate: (s) => (s.tokenSecret = { vault: "x" }),
  },
  { name: "unknown spec field", kind: "Provider", mutate: (s) => (s.nodeWhitelist = ["pve1"]) },
  { name: "placement not allowed", kind: "Provider", mutate: (s) => (s.placement = "random") },
  { name: "managedTag upper case", kind: "Provider", mutate: (s) => (s.managedTag = "Proxscale") },
  {
    name: "negative host reservation",
    kind: "Provider",
    mutate: (s) => (s.hosts[0].reserved = { memory: "-1Gi" }),
  },
  {
    name: "cpuOvercommit above 16",
    kind: "Provider",
    mutate: (s) => (s.hosts[0].cpuOvercommit = 17),
  },
  {
    name: "no shapes and no flexible range",
    kind: "MachineTemplate",
    mutate: (s) => delete s.shapes,
  },
  {
    name: "shape with a fraction of a core",
    kind: "MachineTemplate",
    mutate: (s) => (s.shapes[0].cpu = "1500m"),
  },
  {
    name: "shape memory not a quantity",
    kind: "MachineTemplate",
    mutate: (s) => (s.shapes[0].memory = "lots"),
  },
  {
    name: "clone without template",
    kind: "MachineTemplate",
    mutate: (s) => (s.source = { clone: { full: true } }),
  },
  {
    name: "clone and scratch at once",
    kind: "MachineTemplate",
    mutate: (s) => (s.source = { clone: { templateVmid: 9000 }, scratch: {} }),
  },
  { name: "bad disk slot", kind: "MachineTemplate", mutate: (s) => (s.disks[0].slot = "hda") },
  { name: "vlan 5000", kind: "MachineTemplate", mutate: (s) => (s.network[0].vlan = 5000) },
  {
    name: "bootstrap mode unknown",
    kind: "MachineTemplate",
    mutate: (s) => (s.bootstrap.mode = "ignition"),
  },
  {
    name: "overhead negative",
    kind: "MachineTemplate",
    mutate: (s) => (s.vmMemOverheadMiB = -1),
  },
  {
    name: "requirement In without values",
    kind: "NodePool",
    mutate: (s) => (s.requirements = [{ key: "a", operator: "In" }]),
  },
  {
    name: "requirement Gt not an integer",
    kind: "NodePool",
    mutate: (s) => (s.requirements = [{ key: "a", operator: "Gt", values: ["x"] }]),
  },
  {
    name: "requirement Exists with values",
    kind: "NodePool",
    mutate: (s) => (s.requirements = [{ key: "a", operator: "Exists", values: ["x"] }]),
  },
  {
    name: "requirement minValues above values",
    kind: "NodePool",
    mutate: (s) => (s.requirements = [{ key: "a", operator: "In", values: ["x"], minValues: 2 }]),
  },
  {
    name: "requirement operator unknown",
    kind: "NodePool",
    mutate: (s) => (s.requirements = [{ key: "a", operator: "Near", values: ["x"] }]),
  },
  {
    name: "minNodes above limits.nodes",
    kind: "NodePool",
    mutate: (s) => {
      s.minNodes = 5;
      s.limits.nodes = 2;
    },
  },
  { name: "weight 0", kind: "NodePool", mutate: (s) => (s.weight = 0) },
  { name: "weight 101", kind: "NodePool", mutate: (s) => (s.weight = 101) },
  {
    name: "budget schedule without duration",
    kind: "NodePool",
    mutate: (s) => (s.disruption.budgets = [{ nodes: "1", schedule: "@daily" }]),
  },
  {
    name: "budget of 150 %",
    kind: "NodePool",
    mutate: (s) => (s.disruption.budgets = [{ nodes: "150%" }]),
  },
  {
    name: "template name not a DNS label",
    kind: "NodePool",
    mutate: (s) => (s.machineTemplate = "Bad_Name"),
  },
  {
    name: "consolidateAfter in words",
    kind: "NodePool",
    mutate: (s) => (s.disruption.consolidateAfter = "5 minutes"),
  },
  { name: "minNodes as text", kind: "NodePool", mutate: (s) => (s.minNodes = "three") },
  {
    name: "taint effect unknown",
    kind: "NodePool",
    mutate: (s) => (s.taints = [{ key: "a", effect: "Never" }]),
  },
  {
    name: "pool names a missing template",
    kind: "NodePool",
    mutate: (s) => (s.machineTemplate = "nope"),
    crossObject: true,
  },
  {
    name: "template names a missing provider",
    kind: "MachineTemplate",
    mutate: (s) => (s.provider = "nope"),
    crossObject: true,
  },
  {
    name: "per-host template on an unknown host",
    kind: "MachineTemplate",
    mutate: (s) => (s.source = { clone: { perHost: { pve9: 9000 } } }),
    crossObject: true,
  },
];

const LIST: Record<Kind, string> = {
  Provider: "providers",
  MachineTemplate: "machineTemplates",
  NodePool: "nodePools",
};

function mutated(bad: Bad | null) {
  const doc = parse(exampleText);
  if (bad) bad.mutate(doc[LIST[bad.kind]][0].spec);
  return doc;
}

function crdVerdict(m: Manifest): string[] {
  const kind = KINDS.find((k) => k.kind === m.kind)!;
  const r = admit(structuredClone(m), objectSchema(kind));
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
}

Deno.test("the unchanged example passes all three judges", () => {
  const doc = mutated(null);
  assert.equal(parseConfigText(stringify(doc), "x.yaml").ok, true);
  const manifests = manifestsFromConfig(doc);
  for (const m of manifests.filter((m) => m.kind !== "ConfigMap")) {
    assert.deepEqual(crdVerdict(m), [], `${m.kind}/${m.metadata.name}`);
  }
  assert.equal(configFromObjects(manifests).ok, true);
});

for (const bad of BAD_INPUTS) {
  Deno.test(`rejected by YAML and by CRD alike: ${bad.kind} ${bad.name}`, () => {
    const doc = mutated(bad);
    const yaml = parseConfigText(stringify(doc), "x.yaml");
    assert.equal(yaml.ok, false, "the YAML validation should reject this input");
    const manifests = manifestsFromConfig(doc);
    const fromCrds = configFromObjects(manifests);
    assert.equal(fromCrds.ok, false, "loading the same objects from CRDs should fail");
    const target = manifests.find((m) => m.kind === bad.kind)!;
    const errors = crdVerdict(target);
    if (bad.crossObject) {
      // A reference to another object is not the CRD schema's business, only the loader's.
      assert.deepEqual(errors, []);
    } else {
      assert.ok(errors.length > 0, "the CRD schema should reject this input");
    }
  });
}
