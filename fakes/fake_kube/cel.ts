/**
 * CEL for custom resources in the fake API server: each `x-kubernetes-validations` rule is
 * compiled from its source text with `@bufbuild/cel` (once per CRD schema node, cached) and
 * evaluated at admission with `self` bound to the value at the rule's node, typed as the
 * schema says (integers as int, numbers as double, objects as maps, int-or-string as int or
 * string), and `oldSelf` bound to the previous value for transition rules on update.
 * A rule that does not compile makes the CRD invalid, as the apiserver refuses it.
 *
 * May import: @bufbuild/cel, ./cel_kubernetes.ts, ./status.ts (types).
 * Nothing from core/ or adapters/.
 */
import { celEnv, type CelValue, isCelError, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { KUBERNETES_CEL_FUNCS, KUBERNETES_CEL_REGISTRY } from "./cel_kubernetes.ts";
import type { StatusCause } from "./status.ts";

/** The JSON values the store holds. */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One `x-kubernetes-validations` entry as written in a CRD. */
export type ValidationRule = {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
};

/** The part of a schema node that decides how a value is typed for CEL. */
export type CelTyping = {
  type?: string;
  properties?: Record<string, CelTyping>;
  additionalProperties?: CelTyping | boolean;
  items?: CelTyping;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-validations"?: ValidationRule[];
};

/** A compiled rule: the program, and whether it is a transition rule (mentions oldSelf). */
export type CompiledRule = {
  transition: boolean;
  run: (self: unknown, oldSelf: unknown) => CelValue | Error;
  message?: (self: unknown, oldSelf: unknown) => CelValue | Error;
};

const ENV = celEnv({
  funcs: [...strings, ...KUBERNETES_CEL_FUNCS],
  registry: KUBERNETES_CEL_REGISTRY,
});

const TYPE_NAMES = new Set([
  "int",
  "uint",
  "double",
  "bool",
  "string",
  "bytes",
  "list",
  "map",
  "null_type",
  "type",
  "dyn",
]);
const BUILTIN_OPERATORS = new Set(["_&&_", "_||_", "_?_:_", "_[_]", "@not_strictly_false"]);

type Expr = ReturnType<typeof parse>["expr"];
/** Where an expression sits; for a call, cel-go points at its opening parenthesis. */
type Position = (id: bigint, call?: string) => string;

/** Names the program uses that the environment does not declare, as cel-go reports them. */
function undeclared(e: Expr | undefined, bound: Set<string>, at: Position, out: string[]): void {
  if (!e) return;
  const k = e.exprKind;
  switch (k.case) {
    case "identExpr":
      if (!bound.has(k.value.name) && !TYPE_NAMES.has(k.value.name)) {
        out.push(`${at(e.id)}: undeclared reference to '${k.value.name}' (in container '')`);
      }
      return;
    case "selectExpr":
      return undeclared(k.value.operand, bound, at, out);
    case "callExpr": {
      const f = k.value.function;
      if (!BUILTIN_OPERATORS.has(f) && !ENV.funcs.find(f)) {
        out.push(`${at(e.id, f)}: undeclared reference to '${f}' (in container '')`);
      }
      undeclared(k.value.target, bound, at, out);
      for (const a of k.value.args) undeclared(a, bound, at, out);
      return;
    }
    case "listExpr":
      for (const x of k.value.elements) undeclared(x, bound, at, out);
      return;
    case "structExpr":
      for (const x of k.value.entries) {
        if (x.keyKind.case === "mapKey") undeclared(x.keyKind.value, bound, at, out);
        undeclared(x.value, bound, at, out);
      }
      return;
    case "comprehensionExpr": {
      const c = k.value;
      undeclared(c.iterRange, bound, at, out);
      undeclared(c.accuInit, bound, at, out);
      const inner = new Set([...bound, c.iterVar, c.iterVar2, c.accuVar].filter(Boolean));
      undeclared(c.loopCondition, inner, at, out);
      undeclared(c.loopStep, inner, at, out);
      undeclared(c.result, inner, at, out);
      return;
    }
  }
}

// deno-lint-ignore no-explicit-any
type AnyExpr = any;
let literalIds = 1n << 40n;

/**
 * Object construction as admission policies write it (`Object{spec: Object.spec{...}}`,
 * `JSONPatch{op: ..., path: ..., value: ...}`) evaluated as map literals with the field names as
 * keys: the apiserver types these from the resource's schema; the fake reads them as plain data.
 */
function objectLiterals(e: AnyExpr): void {
  if (!e) return;
  const k = e.exprKind;
  switch (k.case) {
    case "selectExpr":
      return objectLiterals(k.value.operand);
    case "callExpr":
      objectLiterals(k.value.target);
      for (const a of k.value.args) objectLiterals(a);
      return;
    case "listExpr":
      for (const x of k.value.elements) objectLiterals(x);
      return;
    case "structExpr":
      if (k.value.messageName) {
        k.value.messageName = "";
        for (const en of k.value.entries) {
          if (en.keyKind.case !== "fieldKey") continue;
          en.keyKind = {
            case: "mapKey",
            value: {
              $typeName: "cel.expr.Expr",
              id: literalIds++,
              exprKind: {
                case: "constExpr",
                value: {
                  $typeName: "cel.expr.Constant",
                  constantKind: { case: "stringValue", value: en.keyKind.value },
                },
              },
            },
          };
        }
      }
      for (const en of k.value.entries) {
        if (en.keyKind.case === "mapKey") objectLiterals(en.keyKind.value);
        objectLiterals(en.value);
      }
      return;
    case "comprehensionExpr": {
      const c = k.value;
      for (const x of [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result]) {
        objectLiterals(x);
      }
      return;
    }
  }
}

/** Compiles one expression; the error text follows cel-go's `ERROR: <input>:line:col: ...`. */
export function compileExpression(
  source: string,
  vars: string[],
  opts: { objectLiterals?: boolean } = {},
): { ok: true; run: (b: Record<string, unknown>) => CelValue | Error } | {
  ok: false;
  error: string;
} {
  let parsed;
  try {
    parsed = parse(source);
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    return { ok: false, error: `ERROR: ${text.replace(/^syntax error: /, "")}` };
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const at: Position = (id, call) => {
    let offset = positions[Number(id)] ?? 0;
    const paren = call ? source.indexOf(`${call}(`, offset) : -1;
    if (call && paren >= 0) offset = paren + call.length;
    const line = source.slice(0, offset).split("\n");
    return `ERROR: <input>:${line.length}:${line.at(-1)!.length + 1}`;
  };
  const problems: string[] = [];
  undeclared(parsed.expr, new Set(vars), at, problems);
  if (problems.length) return { ok: false, error: problems.join("\n") };
  if (opts.objectLiterals) objectLiterals(parsed.expr);
  const program = plan(ENV, parsed);
  return {
    ok: true,
    run: (b) => {
      try {
        return program(b as never);
      } catch (e) {
        return e instanceof Error ? e : new Error(String(e));
      }
    },
  };
}

const cache = new WeakMap<ValidationRule, CompiledRule | string>();

/**
 * Compiles a rule (and its messageExpression) once; later calls with the same rule object
 * (the CRD's stored schema) reuse the program. Returns the compile error text on failure.
 */
export function compileRule(rule: ValidationRule): CompiledRule | string {
  const hit = cache.get(rule);
  if (hit !== undefined) return hit;
  const transition = /\boldSelf\b/.test(rule.rule);
  const vars = transition ? ["self", "oldSelf"] : ["self"];
  const main = compileExpression(rule.rule, vars);
  let out: CompiledRule | string;
  if (!main.ok) out = `compilation failed: ${main.error}`;
  else {
    out = { transition, run: (self, oldSelf) => main.run({ self, oldSelf }) };
    if (rule.messageExpression !== undefined) {
      const m = compileExpression(rule.messageExpression, vars);
      if (!m.ok) out = `messageExpression compilation failed: ${m.error}`;
      else out.message = (self, oldSelf) => m.run({ self, oldSelf });
    }
  }
  cache.set(rule, out);
  return out;
}

const isObj = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const RESERVED = new Set(
  "true false null in as break const continue else for function if import let loop package namespace return var void while"
    .split(" "),
);

/**
 * A schema property name as CEL rules spell it: reserved words become `__word__`, and `__`,
 * `.`, `-` and `/` become `__underscores__`, `__dot__`, `__dash__` and `__slash__`. Names
 * that cannot be escaped (e.g. starting with a digit) are not visible to rules.
 */
export function escapeProperty(name: string): string | undefined {
  if (RESERVED.has(name)) return `__${name}__`;
  if (!/^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$/.test(name)) return undefined;
  return name.replaceAll("__", "__underscores__").replaceAll(".", "__dot__")
    .replaceAll("-", "__dash__").replaceAll("/", "__slash__");
}

/** Converts a JSON value to the CEL value the apiserver binds for this schema node. */
export function celValue(v: Json, s: CelTyping | undefined, root = false): unknown {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") {
    const asInt = s?.type === "integer" || s?.["x-kubernetes-int-or-string"] ||
      (s?.type === undefined && Number.isInteger(v));
    return asInt && Number.isInteger(v) ? BigInt(v) : v;
  }
  if (Array.isArray(v)) return v.map((e) => celValue(e, s?.items));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (root && (k === "apiVersion" || k === "kind")) continue;
    if (root && k === "metadata" && isObj(x)) {
      // Rules at the root see only metadata.name and metadata.generateName.
      const meta: Record<string, unknown> = {};
      if (typeof x.name === "string") meta.name = x.name;
      if (typeof x.generateName === "string") meta.generateName = x.generateName;
      out.metadata = meta;
      continue;
    }
    const declared = s?.properties?.[k];
    const sub = declared ??
      (isObj(s?.additionalProperties) ? s.additionalProperties as CelTyping : undefined);
    // Declared property names are escaped into CEL identifiers; map keys stay as they are.
    const name = declared ? escapeProperty(k) : k;
    if (name !== undefined) out[name] = celValue(x, sub);
  }
  return out;
}

function fieldError(reason: string | undefined, field: string, type: string, detail: string) {
  switch (reason) {
    case "FieldValueForbidden":
      return { reason, field, message: `Forbidden: ${detail}` };
    case "FieldValueRequired":
      return { reason, field, message: `Required value: ${detail}` };
    case "FieldValueDuplicate":
      return { reason, field, message: `Duplicate value: "${type}"` };
    default:
      return { reason: "FieldValueInvalid", field, message: `Invalid value: "${type}": ${detail}` };
  }
}

const ruleText = (r: ValidationRule) => (r.message ?? r.rule).trim();

/**
 * Runs the rules of one schema node against `v` (and `old` on update) and returns the
 * failures as field errors at `path` (or the rule's fieldPath), in the apiserver's wording.
 */
export function celRuleErrors(
  rules: ValidationRule[],
  v: Json,
  old: Json | undefined,
  s: CelTyping,
  path: string,
  root = false,
): StatusCause[] {
  const errs: StatusCause[] = [];
  const type = s.type ?? "";
  let self: unknown;
  let oldSelf: unknown;
  for (const rule of rules) {
    const compiled = compileRule(rule);
    const at = rule.fieldPath
      ? (path ? `${path}.${rule.fieldPath.replace(/^\./, "")}` : rule.fieldPath.replace(/^\./, ""))
      : path;
    if (typeof compiled === "string") {
      errs.push(fieldError(undefined, at, type, `${compiled} evaluating rule: ${ruleText(rule)}`));
      continue;
    }
    if (compiled.transition && old === undefined) continue;
    self ??= celValue(v, s, root);
    if (compiled.transition) oldSelf ??= celValue(old!, s, root);
    const result = compiled.run(self, oldSelf);
    if (result === true) continue;
    if (result instanceof Error || isCelError(result)) {
      const text = (result as Error).message;
      const detail = text.startsWith("no such overload")
        ? `'${text}': call arguments did not match a supported operator, function or macro signature for rule: ${
          ruleText(rule)
        }`
        : `${text} evaluating rule: ${ruleText(rule)}`;
      errs.push(fieldError(undefined, at, type, detail));
      continue;
    }
    if (result !== false) {
      errs.push(fieldError(undefined, at, type, `rule did not evaluate to a bool: ${rule.rule}`));
      continue;
    }
    let detail = rule.message?.trim() || `failed rule: ${rule.rule.trim()}`;
    if (compiled.message) {
      const m = compiled.message(self, oldSelf);
      if (typeof m === "string" && m.trim() !== "" && !m.includes("\n")) detail = m.trim();
    }
    errs.push(fieldError(rule.reason, at, type, detail));
  }
  return errs;
}

/**
 * Compile errors of every rule in a CRD schema, as field errors under `path`, worded like the
 * apiserver's CRD validation (`...x-kubernetes-validations[0].rule: Invalid value: ...`).
 */
export function ruleCompileErrors(
  s: CelTyping,
  path: string,
): StatusCause[] {
  const out: StatusCause[] = [];
  (s["x-kubernetes-validations"] ?? []).forEach((rule, i) => {
    const compiled = compileRule(rule);
    if (typeof compiled === "string") {
      const field = compiled.startsWith("messageExpression") ? "messageExpression" : "rule";
      out.push({
        reason: "FieldValueInvalid",
        field: `${path}.x-kubernetes-validations[${i}].${field}`,
        message: `Invalid value: ${JSON.stringify(rule[field] ?? "")}: ${
          compiled.replace(/^messageExpression /, "")
        }`,
      });
    }
  });
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    out.push(...ruleCompileErrors(sub, `${path}.properties[${k}]`));
  }
  if (s.items) out.push(...ruleCompileErrors(s.items, `${path}.items`));
  if (isObj(s.additionalProperties)) {
    out.push(...ruleCompileErrors(s.additionalProperties, `${path}.additionalProperties`));
  }
  return out;
}
