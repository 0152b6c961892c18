/**
 * Tests of structural_validate.ts on a small hand-written schema: defaults filled bottom-up,
 * each OpenAPI check reported at its path in the API server's words, unknown fields refused,
 * list-map keys unique, and CEL rules run only when every value has the right type.
 *
 * May import: this folder.
 */
import assert from "node:assert/strict";
import type { Structural } from "./structural_schema.ts";
import { admit, applyDefaults, validateStructural } from "./structural_validate.ts";

const SCHEMA: Structural = {
  type: "object",
  properties: {
    metadata: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    spec: {
      type: "object",
      required: ["name"],
      properties: {
        name: { type: "string", pattern: "^[a-z]+$", maxLength: 8 },
        replicas: { type: "integer", minimum: 0, maximum: 10, default: 1 },
        mode: { type: "string", enum: ["fast", "safe"], default: "safe" },
        size: { "x-kubernetes-int-or-string": true },
        limits: {
          type: "object",
          properties: { cpu: { type: "integer", default: 2 } },
        },
        labels: { type: "object", additionalProperties: { type: "string" } },
        disks: {
          type: "array",
          maxItems: 2,
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["slot"],
          items: {
            type: "object",
            properties: { slot: { type: "string" }, gb: { type: "integer", default: 8 } },
          },
        },
      },
      "x-kubernetes-validations": [
        {
          rule: "self.replicas <= 5 || self.mode == 'safe'",
          message: "fast mode allows 5 replicas",
        },
      ],
    },
  },
};

/** The OpenAPI checks' errors (CEL rules left out) as "path: message" lines. */
const messages = (value: unknown) =>
  validateStructural(applyDefaults(value, SCHEMA), SCHEMA, "", false).map((e) =>
    `${e.path}: ${e.message}`
  );

Deno.test("defaults fill absent fields at every depth, in list items too, and never overwrite", () => {
  assert.deepEqual(
    applyDefaults(
      { spec: { name: "a", mode: "fast", limits: {}, disks: [{ slot: "scsi1" }] } },
      SCHEMA,
    ),
    {
      spec: {
        name: "a",
        mode: "fast",
        replicas: 1,
        limits: { cpu: 2 },
        disks: [{ slot: "scsi1", gb: 8 }],
      },
    },
  );
});

Deno.test("a valid object is admitted with its defaults", () => {
  const r = admit({ spec: { name: "web", size: "10Gi", labels: { a: "b" } } }, SCHEMA);
  assert.deepEqual(r, {
    ok: true,
    value: { spec: { name: "web", size: "10Gi", labels: { a: "b" }, replicas: 1, mode: "safe" } },
  });
});

Deno.test("each check is reported at its path in the API server's words", () => {
  assert.deepEqual(
    messages({
      spec: {
        name: "Web-1",
        replicas: 11,
        mode: "slow",
        size: 1.5,
        labels: { a: 1 },
        disks: [{ slot: "a" }, { slot: "a" }, { slot: "b" }],
        extra: true,
      },
    }),
    [
      `spec.name: Invalid value: "Web-1": spec.name in body should match '^[a-z]+$'`,
      "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
      'spec.mode: Unsupported value: "slow": supported values: "fast", "safe"',
      'spec.size: Invalid value: 1.5: spec.size in body must be of type integer-or-string: "number"',
      'spec.labels.a: Invalid value: 1: spec.labels.a in body must be of type string: "integer"',
      `spec.disks: Invalid value: ${
        JSON.stringify([{ slot: "a", gb: 8 }, { slot: "a", gb: 8 }, { slot: "b", gb: 8 }])
      }: spec.disks in body should have at most 2 items`,
      'spec.disks[1]: Duplicate value: ["a"]',
      'spec.extra: unknown field "spec.extra"',
    ],
  );
  assert.deepEqual(messages({ spec: {} }), ["spec.name: Required value"]);
  assert.deepEqual(messages({ spec: { name: "abcdefghi" } }), [
    'spec.name: Invalid value: "abcdefghi": spec.name in body may not be longer than 8',
  ]);
});

Deno.test("a CEL rule refuses with its message, but only once no value has the wrong type", () => {
  const fast = admit({ spec: { name: "a", mode: "fast", replicas: 6 } }, SCHEMA);
  assert.deepEqual(fast, {
    ok: false,
    errors: [{ path: "spec", message: 'Invalid value: "object": fast mode allows 5 replicas' }],
  });
  const typed = admit({ spec: { name: "a", mode: "fast", replicas: "6" } }, SCHEMA);
  assert.ok(!typed.ok);
  assert.deepEqual(typed.errors.map((e) => e.path), ["spec.replicas"]);
});
