/**
 * A small evaluator of the structural schemas proxscale generates: defaulting, then OpenAPI
 * validation with the API server's message forms, unknown fields rejected as with
 * `fieldValidation=Strict`, and the CEL rules evaluated from their text (cel.ts). Tests use it
 * to prove the CRDs reject what the YAML validation rejects.
 */
import type { Structural } from "./structural_schema.ts";
import { evaluateCel } from "./cel.ts";

/** One field error, as in a 422 Invalid Status cause. */
export type SchemaError = { path: string; message: string };

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const describeType = (v: unknown) =>
  Array.isArray(v)
    ? "array"
    : v === null
    ? "null"
    : typeof v === "number"
    ? Number.isInteger(v) ? "integer" : "number"
    : typeof v;

/** Returns a copy of `value` with schema defaults filled in, bottom-up like the API server. */
export function applyDefaults(value: unknown, s: Structural): unknown {
  if (Array.isArray(value)) {
    return s.items ? value.map((v) => applyDefaults(v, s.items!)) : value;
  }
  if (!isObj(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    if (out[k] === undefined && sub.default !== undefined) {
      out[k] = structuredClone(sub.default);
    }
    if (out[k] !== undefined) out[k] = applyDefaults(out[k], sub);
  }
  if (s.additionalProperties) {
    for (const k of Object.keys(out)) {
      if (!s.properties?.[k]) out[k] = applyDefaults(out[k], s.additionalProperties);
    }
  }
  return out;
}

/** Validates an already defaulted value (CEL rules too unless `cel` is false); every error. */
export function validateStructural(
  value: unknown,
  s: Structural,
  path = "",
  cel = true,
): SchemaError[] {
  const errors: SchemaError[] = [];
  const at = path || "<root>";
  const invalid = (detail: string) =>
    errors.push({ path: at, message: `Invalid value: ${JSON.stringify(value)}: ${detail}` });

  if (s["x-kubernetes-int-or-string"]) {
    if (!(typeof value === "string" || (typeof value === "number" && Number.isInteger(value)))) {
      invalid(`${at} in body must be of type integer-or-string: "${describeType(value)}"`);
      return errors;
    }
  } else if (s.type) {
    const t = describeType(value);
    const okType = s.type === t || (s.type === "number" && t === "integer");
    if (!okType) {
      invalid(`${at} in body must be of type ${s.type}: "${t}"`);
      return errors;
    }
  }
  if (typeof value === "string") {
    if (s.pattern && !new RegExp(s.pattern).test(value)) {
      invalid(`${at} in body should match '${s.pattern}'`);
    }
    if (s.minLength !== undefined && value.length < s.minLength) {
      invalid(`${at} in body should be at least ${s.minLength} chars long`);
    }
    if (s.maxLength !== undefined && value.length > s.maxLength) {
      invalid(`${at} in body may not be longer than ${s.maxLength}`);
    }
  }
  if (typeof value === "number") {
    // An exclusive bound (a positive number, say) refuses the bound itself, as the API server does.
    if (s.minimum !== undefined && (s.exclusiveMinimum ? value <= s.minimum : value < s.minimum)) {
      invalid(
        `${at} in body should be greater than ${
          s.exclusiveMinimum ? "" : "or equal to "
        }${s.minimum}`,
      );
    }
    if (s.maximum !== undefined && (s.exclusiveMaximum ? value >= s.maximum : value > s.maximum)) {
      invalid(
        `${at} in body should be less than ${s.exclusiveMaximum ? "" : "or equal to "}${s.maximum}`,
      );
    }
  }
  if (s.enum && !s.enum.includes(value)) {
    errors.push({
      path: at,
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${
        s.enum.map((e) => JSON.stringify(e)).join(", ")
      }`,
    });
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) {
      invalid(`${at} in body should have at least ${s.minItems} items`);
    }
    if (s.maxItems !== undefined && value.length > s.maxItems) {
      invalid(`${at} in body should have at most ${s.maxItems} items`);
    }
    const items = s.items;
    if (items) {
      value.forEach((v, i) => errors.push(...validateStructural(v, items, `${path}[${i}]`, cel)));
    }
    if (s["x-kubernetes-list-type"] === "map") {
      const keys = s["x-kubernetes-list-map-keys"] ?? [];
      const seen = new Set<string>();
      value.forEach((v, i) => {
        const k = JSON.stringify(keys.map((key) => isObj(v) ? v[key] : undefined));
        if (seen.has(k)) {
          errors.push({ path: `${path}[${i}]`, message: `Duplicate value: ${k}` });
        }
        seen.add(k);
      });
    }
  }
  if (isObj(value) && s.type === "object") {
    for (const r of s.required ?? []) {
      if (value[r] === undefined) {
        errors.push({ path: path ? `${path}.${r}` : r, message: "Required value" });
      }
    }
    for (const [k, v] of Object.entries(value)) {
      const child = path ? `${path}.${k}` : k;
      const sub = s.properties?.[k] ?? s.additionalProperties;
      if (!sub) {
        if (!s["x-kubernetes-preserve-unknown-fields"]) {
          errors.push({ path: child, message: `unknown field "${child}"` });
        }
        continue;
      }
      errors.push(...validateStructural(v, sub, child, cel));
    }
  }
  for (const rule of cel ? s["x-kubernetes-validations"] ?? [] : []) {
    const verdict = evaluateCel(rule.rule, value, s);
    if (verdict === true) continue;
    const detail = verdict === false ? rule.message : `${verdict} evaluating rule: ${rule.message}`;
    errors.push({ path: at, message: `Invalid value: "${s.type ?? ""}": ${detail}` });
  }
  return errors;
}

/** Defaults then validates one custom resource body against its kind's openAPIV3Schema. */
export function admit(
  obj: unknown,
  schema: Structural,
): { ok: true; value: unknown } | { ok: false; errors: SchemaError[] } {
  const withDefaults = applyDefaults(obj, schema);
  // metadata is ObjectMeta, validated by the API server itself, not by the CRD schema.
  const body = isObj(withDefaults) ? { ...withDefaults, metadata: {} } : withDefaults;
  // Like the API server, CEL rules run only when no value has the wrong type.
  const plain = validateStructural(body, schema, "", false);
  const typeError = plain.some((e) => / in body must be of type /.test(e.message));
  const errors = typeError ? plain : validateStructural(body, schema);
  return errors.length ? { ok: false, errors } : { ok: true, value: withDefaults };
}
