/**
 * Tests of structural_schema.ts on small zod schemas and on the real specs: objects stay
 * typed with their required keys and no additionalProperties:false, quantities become
 * int-or-string with a non-negative pattern and rule, unions of objects merge under an
 * "exactly one" rule, scalar unions preserve unknown fields, unexpressible unions throw,
 * refinements without a CEL rule are reported, and the provider hosts list is keyed by name.
 *
 * May import: this folder, adapters/config/, npm:zod.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import {
  budgetSpec,
  machineTemplateSpec,
  nodePoolSpec,
  providerSpec,
  quantity,
} from "../config/schema.ts";
import { type Structural, structuralSchema } from "./structural_schema.ts";

/** Every node of a schema tree, with its path. */
function* nodes(s: Structural, path = "$"): Generator<[string, Structural]> {
  yield [path, s];
  for (const [k, v] of Object.entries(s.properties ?? {})) yield* nodes(v, `${path}.${k}`);
  if (s.items) yield* nodes(s.items, `${path}[]`);
  if (s.additionalProperties) yield* nodes(s.additionalProperties, `${path}{}`);
}

Deno.test("an object keeps its typed properties and required keys, and never forbids extra fields", () => {
  const s = structuralSchema(
    z.strictObject({ name: z.string().min(2), count: z.int().min(0).optional() }),
  );
  assert.equal(s.type, "object");
  assert.deepEqual(s.required, ["name"]);
  assert.deepEqual(s.properties?.name, { type: "string", minLength: 2 });
  assert.equal(s.properties?.count?.type, "integer");
  assert.equal(s.properties?.count?.minimum, 0);
  assert.equal(s.properties?.count?.maximum, undefined, "the safe-integer bound is dropped");
  assert.equal(s.additionalProperties, undefined);
});

Deno.test("a quantity is int-or-string with a non-negative pattern, a length bound and a rule", () => {
  const s = structuralSchema(z.object({ cpu: quantity }));
  const q = s.properties!.cpu!;
  assert.equal(q["x-kubernetes-int-or-string"], true);
  assert.deepEqual(q.anyOf, [{ type: "integer" }, { type: "string" }]);
  assert.equal(q.maxLength, 64);
  const re = new RegExp(q.pattern!);
  for (const ok of ["500m", "2", "+4Gi", "1.5", ".5", "1e3"]) assert.match(ok, re);
  for (const bad of ["-1", "4GB", "", "1 Gi"]) assert.doesNotMatch(bad, re);
  assert.deepEqual(q["x-kubernetes-validations"], [
    { rule: "type(self) != int || self >= 0", message: "must not be negative" },
  ]);
});

Deno.test("a union of one-key objects merges into one object under an exactly-one rule", () => {
  const s = structuralSchema(
    z.union([z.object({ a: z.string() }), z.object({ b: z.int() })]),
  );
  assert.equal(s.type, "object");
  assert.deepEqual(Object.keys(s.properties!), ["a", "b"]);
  assert.deepEqual(s["x-kubernetes-validations"], [
    {
      rule: "[has(self.a), has(self.b)].exists_one(x, x)",
      message: "exactly one of a, b must be set",
    },
  ]);
});

Deno.test("a union of scalars preserves unknown fields and checks the value type by rule", () => {
  const s = structuralSchema(z.object({ v: z.union([z.string(), z.number(), z.boolean()]) }));
  const v = s.properties!.v!;
  assert.equal(v.type, undefined);
  assert.equal(v["x-kubernetes-preserve-unknown-fields"], true);
  assert.equal(v["x-kubernetes-validations"]?.[0]?.message, "must be a string, number or boolean");
});

Deno.test("a union of an object and a string cannot be structural and is refused", () => {
  assert.throws(
    () => structuralSchema(z.union([z.object({ a: z.string() }), z.string()])),
    /Cannot express this union structurally/,
  );
});

Deno.test("a refinement without a CEL rule is reported by path; the real specs have none missing", () => {
  const missing: string[] = [];
  structuralSchema(
    z.object({ x: z.string().refine((s) => s !== "no"), y: z.string() }),
    missing,
  );
  assert.deepEqual(missing, ["properties.x"]);
  for (const spec of [providerSpec, machineTemplateSpec, nodePoolSpec, budgetSpec]) {
    const m: string[] = [];
    structuralSchema(spec, m);
    assert.deepEqual(m, []);
  }
});

Deno.test("every node of the real specs is typed, int-or-string, or preserves unknown fields", () => {
  for (const spec of [providerSpec, machineTemplateSpec, nodePoolSpec]) {
    for (const [path, n] of nodes(structuralSchema(spec))) {
      assert.ok(
        n.type !== undefined || n["x-kubernetes-int-or-string"] ||
          n["x-kubernetes-preserve-unknown-fields"],
        `${path} has no type`,
      );
      assert.equal((n as { $ref?: string }).$ref, undefined, `${path} has a $ref`);
    }
  }
});

Deno.test("provider hosts are a list-map keyed by name with bounded size, and the endpoint a bounded https URL rule", () => {
  const s = structuralSchema(providerSpec);
  const hosts = s.properties!.hosts!;
  assert.equal(hosts["x-kubernetes-list-type"], "map");
  assert.deepEqual(hosts["x-kubernetes-list-map-keys"], ["name"]);
  assert.equal(hosts.maxItems, 100);
  assert.equal(s.properties!.endpoint!.maxLength, 2048);
  assert.ok(
    s.properties!.endpoint!["x-kubernetes-validations"]?.some((r) => r.rule.includes("https://")),
  );
});

Deno.test("every rule is its own object, so YAML output repeats rules instead of aliasing them", () => {
  for (const spec of [providerSpec, machineTemplateSpec, nodePoolSpec]) {
    const rules = [...nodes(structuralSchema(spec))].flatMap(([, n]) =>
      n["x-kubernetes-validations"] ?? []
    );
    assert.ok(rules.length > 1);
    assert.equal(new Set(rules).size, rules.length, "a rule object is shared between nodes");
  }
});
