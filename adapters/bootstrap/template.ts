/**
 * Logic-less bootstrap templates: `{{ path }}` and `{{ path | filter | filter }}`, nothing
 * else (no loops, no conditions), so an operator can read a template and know what a node gets.
 * Filters: `yaml` (a one-line YAML flow node, quoted by YAML 1.1 rules), `json`, `b64` (base64 of UTF-8) and `quote`
 * (a double-quoted string valid in YAML and JSON). `{{ "{{" }}` writes a literal `{{`, for
 * user-data that itself uses cloud-init's jinja.
 *
 * Every problem is a value with the template's line and column; an unknown variable is caught
 * when the configuration loads (checkBootstrapTemplate), not when a VM boots.
 */
import { stringify } from "yaml";
import { err, ok, type Result } from "../../core/result.ts";

/** A problem in a template, located 1-based in the template text. */
export type TemplateError = {
  kind: "TemplateSyntax" | "UnknownVariable" | "UnknownFilter" | "NeedsFilter" | "MissingValue";
  line: number;
  col: number;
  message: string;
};

/** The filters a template may use. */
export const FILTERS = ["yaml", "json", "b64", "quote"] as const;
export type Filter = typeof FILTERS[number];

type Expr = {
  /** Dotted variable path; `values.<key>` keeps the key whole (Secret keys may hold dots). */
  path?: string[];
  literal?: string;
  filters: Filter[];
  line: number;
  col: number;
};

/** A parsed template: text pieces and expressions, in order. */
export type Template = { parts: (string | Expr)[] };

/** A value a template variable may hold. */
export type TemplateValue =
  | string
  | number
  | boolean
  | TemplateValue[]
  | { [key: string]: TemplateValue };
/** The variables a template renders with. */
export type TemplateVars = { [key: string]: TemplateValue };

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$|^\d+$/;
const LITERAL_EXPR = /^\{\{\s*"[^"]*"\s*(\|\s*[A-Za-z0-9]+\s*)*\}\}/;

/** Splits a template into text and expressions, reporting every syntax problem. */
export function parseTemplate(text: string): Result<Template, TemplateError[]> {
  const parts: (string | Expr)[] = [];
  const errors: TemplateError[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf("{{", pos);
    if (open < 0) {
      parts.push(text.slice(pos));
      break;
    }
    if (open > pos) parts.push(text.slice(pos, open));
    const where = position(text, open);
    // A string literal may itself hold braces ("{{" or "}}"), so it is matched first.
    const literal = LITERAL_EXPR.exec(text.slice(open));
    const close = literal ? open + literal[0].length - 2 : text.indexOf("}}", open + 2);
    const nextOpen = text.indexOf("{{", open + 2);
    if (close < 0 || (!literal && nextOpen >= 0 && nextOpen < close)) {
      errors.push({ kind: "TemplateSyntax", ...where, message: "'{{' is never closed by '}}'" });
      pos = close < 0 ? text.length : nextOpen;
      continue;
    }
    const inner = text.slice(open + 2, close);
    const lead = inner.length - inner.trimStart().length;
    const exprAt = position(text, open + 2 + lead);
    const parsed = parseExpr(inner.trim(), exprAt);
    if (parsed.ok) parts.push(parsed.value);
    else errors.push(parsed.error);
    pos = close + 2;
  }
  return errors.length > 0 ? err(errors) : ok({ parts });
}

function parseExpr(src: string, at: { line: number; col: number }): Result<Expr, TemplateError> {
  const fail = (message: string) => err<TemplateError>({ kind: "TemplateSyntax", ...at, message });
  if (src === "") return fail("empty '{{ }}'");
  // A leading string literal may contain '|'; filters follow its closing quote.
  const lit = /^"([^"]*)"/.exec(src);
  const afterHead = lit ? src.slice(lit[0].length) : src;
  const [headText = "", ...rest] = afterHead.split("|").map((s) => s.trim());
  const head = lit ? lit[0] : headText;
  if (lit && headText !== "") return fail(`unexpected "${headText}" after the string literal`);
  const filters: Filter[] = [];
  for (const f of rest) {
    if (!(FILTERS as readonly string[]).includes(f)) {
      return err({
        kind: "UnknownFilter",
        ...at,
        message: `unknown filter "${f}" (known: ${FILTERS.join(", ")})`,
      });
    }
    filters.push(f as Filter);
  }
  if (lit) return ok({ literal: lit[1]!, filters, ...at });
  const path = head.startsWith("values.") ? ["values", head.slice(7)] : head.split(".");
  const valuesKey = path[0] === "values" && path.length === 2 && /^[-._A-Za-z0-9]+$/.test(path[1]!);
  if (!valuesKey && !path.every((s) => SEGMENT.test(s))) {
    return fail(`"${head}" is not a variable name such as node.name or values.sshKey`);
  }
  return ok({ path, filters, ...at });
}

/** 1-based line and column of an offset. */
function position(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

/**
 * The shape of the variables a bootstrap template may name: "s" a scalar, "m" a map with any
 * keys, ["list", shape] a list, "any" free keys (values from the operator Secret).
 */
export type VariableShape = "s" | "m" | "any" | ["list", VariableShape] | {
  [key: string]: VariableShape;
};

/** The variables user-data templates may use (plus list forms k3s's config file needs). */
export const BOOTSTRAP_VARIABLES: VariableShape = {
  node: {
    name: "s",
    vmid: "s",
    instanceID: "s",
    uuid: "s",
    providerID: "s",
    region: "s",
    zone: "s",
    host: "s",
    labels: "m",
    labelsFlag: "s",
    labelsList: ["list", "s"],
    taints: ["list", { key: "s", value: "s", effect: "s" }],
    taintsFlag: "s",
    taintsList: ["list", "s"],
    interfaces: ["list", { name: "s", mac: "s" }],
  },
  nodePool: "s",
  nodeClaim: "s",
  resources: { cpu: "s", memoryMiB: "s" },
  cluster: {
    server: "s",
    apiServerEndpoint: "s",
    caPEM: "s",
    caCertHash: "s",
    kubernetesVersion: "s",
  },
  join: { token: "s", tokenID: "s", expiresAt: "s", k3sToken: "s" },
  values: "any",
};

/** Checks every expression against a variable shape, without values. */
export function checkTemplateVariables(
  t: Template,
  shape: VariableShape = BOOTSTRAP_VARIABLES,
): TemplateError[] {
  const errors: TemplateError[] = [];
  for (const p of t.parts) {
    if (typeof p === "string" || p.path === undefined) continue;
    const found = shapeAt(shape, p.path);
    const name = p.path.join(".");
    if (found === undefined) {
      errors.push({
        kind: "UnknownVariable",
        line: p.line,
        col: p.col,
        message: `unknown variable "${name}"${suggest(shape, p.path)}`,
      });
    } else if (found !== "s" && found !== "any" && !serializes(p.filters)) {
      errors.push({
        kind: "NeedsFilter",
        line: p.line,
        col: p.col,
        message: `"${name}" is a ${
          Array.isArray(found) ? "list" : "map"
        }; write {{ ${name} | yaml }} or {{ ${name} | json }}`,
      });
    }
  }
  return errors;
}

/** Parses a template and checks it names only bootstrap variables. */
export function checkBootstrapTemplate(text: string): Result<Template, TemplateError[]> {
  const t = parseTemplate(text);
  if (!t.ok) return t;
  const errors = checkTemplateVariables(t.value);
  return errors.length > 0 ? err(errors) : t;
}

function shapeAt(shape: VariableShape, path: string[]): VariableShape | undefined {
  let cur: VariableShape = shape;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (cur === "any") return "any";
    if (cur === "s") return undefined;
    if (cur === "m") return i === path.length - 1 ? "s" : undefined;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg)) return undefined;
      cur = cur[1];
      continue;
    }
    const next: VariableShape | undefined = Object.hasOwn(cur, seg) ? cur[seg] : undefined;
    if (next === undefined) return undefined;
    cur = next;
  }
  return cur;
}

/** ", did you mean node.name?" for a near miss at the first unknown segment. */
function suggest(shape: VariableShape, path: string[]): string {
  let cur: VariableShape = shape;
  for (let i = 0; i < path.length; i++) {
    if (typeof cur !== "object" || Array.isArray(cur)) return "";
    const seg = path[i]!;
    if (!Object.hasOwn(cur, seg)) {
      const keys = Object.keys(cur);
      const near = keys.find((k) => k.toLowerCase() === seg.toLowerCase()) ??
        keys.find((k) => editDistance(k, seg) <= 2);
      const prefix = path.slice(0, i).join(".");
      return near
        ? `, did you mean ${prefix ? prefix + "." : ""}${near}?`
        : ` (known under ${prefix || "the top level"}: ${keys.join(", ")})`;
    }
    cur = cur[seg]!;
  }
  return "";
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

function serializes(filters: Filter[]): boolean {
  return filters[0] === "yaml" || filters[0] === "json";
}

/** Renders a parsed template; a variable with no value is a MissingValue error. */
export function renderTemplate(t: Template, vars: TemplateVars): Result<string, TemplateError[]> {
  const out: string[] = [];
  const errors: TemplateError[] = [];
  for (const p of t.parts) {
    if (typeof p === "string") {
      out.push(p);
      continue;
    }
    let value: TemplateValue | undefined = p.literal ?? lookup(vars, p.path ?? []);
    const name = p.path?.join(".") ?? JSON.stringify(p.literal);
    if (value === undefined) {
      errors.push({
        kind: "MissingValue",
        line: p.line,
        col: p.col,
        message: p.path?.[0] === "values"
          ? `"${name}" is not among the operator Secret's keys`
          : `"${name}" has no value for this node`,
      });
      continue;
    }
    for (const f of p.filters) value = applyFilter(f, value);
    if (typeof value === "object") {
      errors.push({
        kind: "NeedsFilter",
        line: p.line,
        col: p.col,
        message: `"${name}" is a ${
          Array.isArray(value) ? "list" : "map"
        }; write {{ ${name} | yaml }} or {{ ${name} | json }}`,
      });
      continue;
    }
    out.push(String(value));
  }
  return errors.length > 0 ? err(errors) : ok(out.join(""));
}

function lookup(vars: TemplateVars, path: string[]): TemplateValue | undefined {
  let cur: TemplateValue | undefined = vars;
  for (const seg of path) {
    if (cur === undefined || typeof cur !== "object") return undefined;
    cur = Array.isArray(cur)
      ? (/^\d+$/.test(seg) ? cur[Number(seg)] : undefined)
      : (Object.hasOwn(cur, seg) ? cur[seg] : undefined);
  }
  return cur;
}

function applyFilter(f: Filter, v: TemplateValue): TemplateValue {
  switch (f) {
    case "json":
      return JSON.stringify(v);
    case "yaml": {
      // YAML 1.1 rules: cloud-init (PyYAML) and Go's yaml read "yes", "on" or a MAC such as
      // 10:20:30:40:50:00 as booleans and numbers unless quoted.
      const text = stringify(v, { collectionStyle: "flow", lineWidth: 0, version: "1.1" })
        .replace(/\n$/, "");
      // A multi-line string would be folded over lines: JSON's escaped form is also YAML.
      return text.includes("\n") ? JSON.stringify(v) : text;
    }
    case "quote":
      return JSON.stringify(typeof v === "object" ? JSON.stringify(v) : String(v));
    case "b64":
      return base64(typeof v === "object" ? JSON.stringify(v) : String(v));
  }
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** The variable paths a template names, each once, in order of first use ("values.clusterID"). */
export function variablesUsed(t: Template): string[] {
  const names = t.parts.flatMap((p) => typeof p === "string" || !p.path ? [] : [p.path.join(".")]);
  return [...new Set(names)];
}

/** Parses, then renders: the one call most callers need. */
export function renderTemplateText(
  text: string,
  vars: TemplateVars,
): Result<string, TemplateError[]> {
  const t = parseTemplate(text);
  return t.ok ? renderTemplate(t.value, vars) : t;
}

/** `file:line:col: message`, the form editors link to. */
export function formatTemplateError(e: TemplateError, file = "template"): string {
  return `${file}:${e.line}:${e.col}: ${e.message}`;
}
