/**
 * The CRDs are generated from the one schema, committed as generated, structurally valid, and
 * reject exactly the bad inputs the YAML validation rejects (one shared table, three judges:
 * YAML loader, CRD schema with its CEL rules, configuration loaded from CRD objects).
 */
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { KINDS, objectSchema, renderCrds } from "../adapters/kubernetes/crds.ts";
import { type Structural, structuralSchema } from "../adapters/kubernetes/structural_schema.ts";
import { admit } from "../adapters/kubernetes/structural_validate.ts";
import { parseConfigText } from "../adapters/config/load.ts";
import { configFromObjects } from "../adapters/config/crd_source.ts";
import { type Manifest, manifestsFromConfig } from "../adapters/config/crd_manifests.ts";
import { type Bad, BAD_INPUTS, specToMutate } from "./testing/kubernetes_bad_inputs.ts";

const root = new URL("../", import.meta.url);
const exampleText = await Deno.readTextFile(new URL("config.example.yaml", root));

Deno.test("committed deploy/crds equal what crds.ts generates", async () => {
  const generated = renderCrds();
  assert.deepEqual(Object.keys(generated).sort(), [
    "machinetemplates.yaml",
    "nodeclaims.yaml",
    "nodepools.yaml",
    "providers.yaml",
    "tenants.yaml",
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

function mutated(bad: Bad | null) {
  const doc = parse(exampleText);
  if (bad) bad.mutate(specToMutate(doc, bad.kind));
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
    if (bad.celMessage) {
      assert.ok(
        errors.some((e) => e.endsWith(`: ${bad.celMessage}`)),
        `the CEL rule's message is missing: ${errors.join("; ")}`,
      );
    }
  });
}
