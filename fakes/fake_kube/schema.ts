/**
 * A small structural-schema engine for custom resources: prune
 * undeclared fields, apply defaults, validate types, required fields, enums, patterns and
 * bounds, with the apiserver's field-error wording; then the CEL rules, compiled from their
 * source text (cel.ts).
 */
import type { StatusCause } from "./status.ts";
import type { Json, ListRule, ListRules } from "./patch.ts";
import { celRuleErrors, type ValidationRule } from "./cel.ts";

/** The subset of an openAPIV3Schema node this engine reads. */
export type SchemaNode = {
  type?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required?: string[];
  enum?: Json[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  default?: Json;
  format?: string;
  description?: string;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: ValidationRule[];
};

const isObj = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const OBJECT_META_FIELDS = new Set([
  "name",
  "generateName",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
  "selfLink",
]);

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * Removes fields the schema does not declare and returns their paths, which the caller
 * reports per `fieldValidation` (Ignore, Warn, Strict). `metadata` keeps ObjectMeta fields.
 */
export function prune(
  obj: Record<string, Json>,
  schema: SchemaNode,
): { value: Json; unknown: string[] } {
  const unknown: string[] = [];
  const value: Record<string, Json> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === "apiVersion" || k === "kind") value[k] = v;
    else if (k === "metadata" && isObj(v)) {
      const meta: Record<string, Json> = {};
      for (const [mk, mv] of Object.entries(v)) {
        if (OBJECT_META_FIELDS.has(mk)) meta[mk] = mv;
        else unknown.push(`metadata.${mk}`);
      }
      value.metadata = meta;
    } else {
      const sub = schema.properties?.[k];
      if (sub) value[k] = pruneNode(v, sub, k, unknown);
      else if (schema["x-kubernetes-preserve-unknown-fields"]) value[k] = v;
      else unknown.push(k);
    }
  }
  return { value, unknown };
}

function pruneNode(v: Json, s: SchemaNode, path: string, unknown: string[]): Json {
  if (s["x-kubernetes-preserve-unknown-fields"] && !s.properties && !s.additionalProperties) {
    return v;
  }
  if (Array.isArray(v)) {
    return s.items ? v.map((e, i) => pruneNode(e, s.items!, `${path}[${i}]`, unknown)) : v;
  }
  if (!isObj(v)) return v;
  if (s["x-kubernetes-embedded-resource"]) return v;
  const out: Record<string, Json> = {};
  for (const [k, x] of Object.entries(v)) {
    const sub = s.properties?.[k] ??
      (isObj(s.additionalProperties) ? s.additionalProperties : undefined);
    if (sub) out[k] = pruneNode(x, sub, join(path, k), unknown);
    else if (s.additionalProperties === true || s["x-kubernetes-preserve-unknown-fields"]) {
      out[k] = x;
    } else unknown.push(join(path, k));
  }
  return out;
}

/** Fills absent fields with their `default`, bottom-up; non-nullable `null`s are dropped first. */
export function applyDefaults(v: Json, s: SchemaNode): Json {
  if (Array.isArray(v)) return s.items ? v.map((e) => applyDefaults(e, s.items!)) : v;
  if (!isObj(v)) return v;
  const out: Record<string, Json> = { ...v };
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    if (out[k] === null && !sub.nullable) delete out[k];
    if (out[k] === undefined && sub.default !== undefined) out[k] = structuredClone(sub.default);
    if (out[k] !== undefined) out[k] = applyDefaults(out[k], sub);
  }
  if (isObj(s.additionalProperties)) {
    for (const k of Object.keys(out)) {
      if (!s.properties?.[k]) out[k] = applyDefaults(out[k], s.additionalProperties);
    }
  }
  return out;
}

function typeOf(v: Json): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function show(v: Json): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (isObj(v) || Array.isArray(v)) return `"${typeOf(v)}"`;
  return String(v);
}

/** Validates against the schema and returns field errors in the apiserver's wording. */
export function validate(
  v: Json,
  s: SchemaNode,
  path: string,
  old?: Json,
): StatusCause[] {
  const errs: StatusCause[] = [];
  walk(v, s, path, errs, false, old);
  // Like the apiserver, CEL rules are skipped when the object has type errors.
  if (errs.some((e) => e.reason === "FieldValueTypeInvalid")) return errs;
  const celErrs: StatusCause[] = [];
  walk(v, s, path, celErrs, true, old);
  return [
    ...errs,
    ...celErrs.filter((e) => !errs.some((x) => x.field === e.field && x.message === e.message)),
  ];
}

function walk(
  v: Json,
  s: SchemaNode,
  path: string,
  errs: StatusCause[],
  cel: boolean,
  old: Json | undefined,
): void {
  if (v === null) {
    if (!s.nullable && s.type) {
      errs.push({
        reason: "FieldValueTypeInvalid",
        field: path,
        message: `Invalid value: "null": ${path} in body must be of type ${s.type}: "null"`,
      });
    }
    return;
  }
  const t = typeOf(v);
  if (s["x-kubernetes-int-or-string"]) {
    if (t !== "integer" && t !== "string") {
      errs.push({
        reason: "FieldValueTypeInvalid",
        field: path,
        message: `Invalid value: "${t}": ${path} in body must be of type integer-or-string: "${t}"`,
      });
      return;
    }
  } else if (s.type) {
    const okType = s.type === t || (s.type === "number" && t === "integer");
    if (!okType) {
      errs.push({
        reason: "FieldValueTypeInvalid",
        field: path,
        message: `Invalid value: "${t}": ${path} in body must be of type ${s.type}: "${t}"`,
      });
      return;
    }
  }
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    errs.push({
      reason: "FieldValueNotSupported",
      field: path,
      message: `Unsupported value: ${JSON.stringify(v)}: supported values: ${
        s.enum.map((e) => JSON.stringify(e)).join(", ")
      }`,
    });
  }
  const bad = (msg: string) =>
    errs.push({
      reason: "FieldValueInvalid",
      field: path,
      message: `Invalid value: ${show(v)}: ${path} in body ${msg}`,
    });
  if (typeof v === "number") {
    if (s.minimum !== undefined) {
      if (s.exclusiveMinimum ? !(v > s.minimum) : v < s.minimum) {
        bad(`should be greater than ${s.exclusiveMinimum ? "" : "or equal to "}${s.minimum}`);
      }
    }
    if (s.maximum !== undefined) {
      if (s.exclusiveMaximum ? !(v < s.maximum) : v > s.maximum) {
        bad(`should be less than ${s.exclusiveMaximum ? "" : "or equal to "}${s.maximum}`);
      }
    }
  }
  if (typeof v === "string") {
    const len = [...v].length;
    if (s.minLength !== undefined && len < s.minLength) {
      bad(`should be at least ${s.minLength} chars long`);
    }
    if (s.maxLength !== undefined && len > s.maxLength) {
      bad(`should be at most ${s.maxLength} chars long`);
    }
    if (s.pattern !== undefined && !new RegExp(s.pattern, "u").test(v)) {
      bad(`should match '${s.pattern}'`);
    }
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) {
      errs.push({
        reason: "FieldValueInvalid",
        field: path,
        message:
          `Invalid value: ${v.length}: ${path} in body should have at least ${s.minItems} items`,
      });
    }
    if (s.maxItems !== undefined && v.length > s.maxItems) {
      errs.push({
        reason: "FieldValueTooMany",
        field: path,
        message: `Too many: ${v.length}: must have at most ${s.maxItems} items`,
      });
    }
    if (s.items) {
      v.forEach((e, i) => walk(e, s.items!, `${path}[${i}]`, errs, cel, oldItem(s, e, old)));
    }
  }
  if (isObj(v)) {
    for (const r of s.required ?? []) {
      if (v[r] === undefined) {
        errs.push({
          reason: "FieldValueRequired",
          field: join(path, r),
          message: "Required value",
        });
      }
    }
    for (const [k, x] of Object.entries(v)) {
      if (path === "" && (k === "metadata" || k === "apiVersion" || k === "kind")) continue;
      const sub = s.properties?.[k] ??
        (isObj(s.additionalProperties) ? s.additionalProperties : undefined);
      if (sub) walk(x, sub, join(path, k), errs, cel, isObj(old) ? old[k] : undefined);
    }
  }
  const rules = s["x-kubernetes-validations"];
  if (cel && rules?.length) errs.push(...celRuleErrors(rules, v, old, s, path, path === ""));
}

/**
 * The previous value of a list item, for transition rules: items of a list-map are matched
 * by their keys and items of a set by value; items of atomic lists have none.
 */
function oldItem(s: SchemaNode, item: Json, old: Json | undefined): Json | undefined {
  if (!Array.isArray(old)) return undefined;
  const type = s["x-kubernetes-list-type"];
  if (type === "set") return old.find((o) => JSON.stringify(o) === JSON.stringify(item));
  const keys = s["x-kubernetes-list-map-keys"];
  if (type !== "map" || !keys || !isObj(item)) return undefined;
  return old.find((o) =>
    isObj(o) && keys.every((k) => JSON.stringify(o[k]) === JSON.stringify(item[k]))
  );
}

/** List-merge rules from `x-kubernetes-list-type` (`map` by keys, `set`), for apply and SMP-like merges. */
export function schemaListRules(root: SchemaNode | undefined): ListRules {
  const rules = new Map<string, ListRule>();
  const visit = (s: SchemaNode, path: string) => {
    if (s.type === "array" || s.items) {
      const lt = s["x-kubernetes-list-type"];
      const keys = s["x-kubernetes-list-map-keys"];
      if (lt === "map" && keys && keys[0]) rules.set(path, { key: keys[0], keys });
      else if (lt === "set") rules.set(path, "set");
      if (s.items) visit(s.items, path);
    }
    for (const [k, sub] of Object.entries(s.properties ?? {})) visit(sub, join(path, k));
  };
  if (root) visit(root, "");
  return (p) => rules.get(p) ?? (p === "metadata.finalizers" ? "set" : undefined);
}

/**
 * Checks that a schema is structural; returns field errors with the CRD validation wording
 * (`…type: Required value: must not be empty for specified object fields`).
 */
export function structuralErrors(s: SchemaNode, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const visit = (n: SchemaNode, p: string, isItems: boolean) => {
    const exempt = n["x-kubernetes-int-or-string"] || n["x-kubernetes-preserve-unknown-fields"];
    if (!n.type && !exempt) {
      out.push({
        reason: "FieldValueRequired",
        field: `${p}.type`,
        message: `Required value: must not be empty for specified ${
          isItems ? "array items" : "object fields"
        }`,
      });
    }
    if (n["x-kubernetes-preserve-unknown-fields"] === false) {
      out.push({
        reason: "FieldValueInvalid",
        field: `${p}.x-kubernetes-preserve-unknown-fields`,
        message: "Invalid value: false: must be true or undefined",
      });
    }
    for (const [k, sub] of Object.entries(n.properties ?? {})) {
      visit(sub, `${p}.properties[${k}]`, false);
    }
    if (n.items) visit(n.items, `${p}.items`, true);
  };
  visit(s, path, false);
  return out;
}
