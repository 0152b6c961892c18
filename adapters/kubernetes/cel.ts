/**
 * Evaluates the CRDs' `x-kubernetes-validations` rules from their CEL source text
 * (`@bufbuild/cel`), so structural_validate.ts judges a custom resource by the same rule
 * strings the API server runs. `self` is typed by the structural schema: integers as int,
 * numbers as double, objects as maps, int-or-string as int or string. Kubernetes' own CEL
 * libraries are provided for what proxscale's rules use: quantities (`quantity`,
 * `isQuantity`, `isInteger`, `asInteger`, `sign`, `compareTo`, `isGreaterThan`,
 * `isLessThan`) and `isURL`, plus the CEL strings extension.
 *
 * May import: @bufbuild/cel, @bufbuild/protobuf, core/quantity.ts (the grammar), and
 * structural_schema.ts (types).
 */
import {
  celEnv,
  celFunc,
  celMethod,
  CelScalar,
  type CelValue,
  isCelError,
  objectType,
  parse,
  plan,
} from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { create, createFileRegistry, createRegistry, type DescMessage } from "@bufbuild/protobuf";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { QUANTITY_PATTERN } from "../../core/quantity.ts";
import type { Structural } from "./structural_schema.ts";

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "proxscale/kubernetes_cel.proto",
    package: "k8s",
    syntax: "proto3",
    // A quantity as a whole number of nano-units (the API server's finest precision).
    messageType: [{
      name: "Quantity",
      field: [{ name: "nanos", number: 1, type: 9, label: 1, jsonName: "nanos" }],
    }],
  }),
  () => undefined,
);
const QUANTITY_DESC = registry.getMessage("k8s.Quantity") as DescMessage;
const QUANTITY_TYPE = objectType(QUANTITY_DESC);
const QUANTITY = new RegExp(QUANTITY_PATTERN);
const SUFFIX_NANOS: Record<string, bigint> = {
  n: 1n,
  u: 10n ** 3n,
  m: 10n ** 6n,
  "": 10n ** 9n,
  k: 10n ** 12n,
  M: 10n ** 15n,
  G: 10n ** 18n,
  T: 10n ** 21n,
  P: 10n ** 24n,
  E: 10n ** 27n,
  Ki: 1024n * 10n ** 9n,
  Mi: 1024n ** 2n * 10n ** 9n,
  Gi: 1024n ** 3n * 10n ** 9n,
  Ti: 1024n ** 4n * 10n ** 9n,
  Pi: 1024n ** 5n * 10n ** 9n,
  Ei: 1024n ** 6n * 10n ** 9n,
};
const NANO = 10n ** 9n;
const INT64_MAX = (1n << 63n) - 1n;

/** A quantity in nano-units, rounded up like the API server; undefined if not a quantity. */
function nanos(text: string): bigint | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [whole, frac = ""] = m[2]!.split(".");
  let num = BigInt(`${whole || "0"}${frac}`) * SUFFIX_NANOS[m[4] ?? ""]!;
  let exp = -frac.length + (m[3] ? Number(m[3].slice(1)) : 0);
  if (exp >= 0) num *= 10n ** BigInt(exp);
  else {
    const div = 10n ** BigInt(-exp);
    num = (num + div - 1n) / div;
    exp = 0;
  }
  return m[1] === "-" ? -num : num;
}

const valueOf = (q: ReflectMessage) => BigInt((q.message as unknown as { nanos: string }).nanos);
const quantityOf = (n: bigint) => create(QUANTITY_DESC, { nanos: n.toString() } as never);
const { STRING, INT, BOOL } = CelScalar;
const cmp = (a: bigint, b: bigint) => BigInt(a < b ? -1 : a > b ? 1 : 0);

const ENV = celEnv({
  registry: createRegistry(QUANTITY_DESC),
  funcs: [
    ...strings,
    celFunc("isQuantity", [STRING], BOOL, (s) => nanos(s) !== undefined),
    celFunc("quantity", [STRING], QUANTITY_TYPE, (s) => {
      const n = nanos(s);
      if (n === undefined) throw new Error(`"${s}" is not a quantity`);
      return quantityOf(n);
    }),
    celMethod("isInteger", QUANTITY_TYPE, [], BOOL, function () {
      const n = valueOf(this);
      return n % NANO === 0n && n / NANO <= INT64_MAX && n / NANO >= -INT64_MAX - 1n;
    }),
    celMethod("asInteger", QUANTITY_TYPE, [], INT, function () {
      const n = valueOf(this);
      if (n % NANO !== 0n || n / NANO > INT64_MAX) {
        throw new Error("cannot convert value to integer");
      }
      return n / NANO;
    }),
    celMethod("sign", QUANTITY_TYPE, [], INT, function () {
      return cmp(valueOf(this), 0n);
    }),
    celMethod("compareTo", QUANTITY_TYPE, [QUANTITY_TYPE], INT, function (o) {
      return cmp(valueOf(this), valueOf(o));
    }),
    celMethod("isGreaterThan", QUANTITY_TYPE, [QUANTITY_TYPE], BOOL, function (o) {
      return valueOf(this) > valueOf(o);
    }),
    celMethod("isLessThan", QUANTITY_TYPE, [QUANTITY_TYPE], BOOL, function (o) {
      return valueOf(this) < valueOf(o);
    }),
    celFunc("isURL", [STRING], BOOL, isRequestUri),
  ],
});

/** Go's url.ParseRequestURI acceptance: an absolute URL or an absolute path. */
function isRequestUri(s: string): boolean {
  // deno-lint-ignore no-control-regex
  if (s === "" || /[\x00-\x20\x7f]/.test(s)) return false;
  if (s.startsWith("/")) return true;
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:(.*)$/s.exec(s);
  if (!m) return false;
  const rest = m[1]!;
  if (!rest.startsWith("//")) return true;
  const authority = rest.slice(2).split(/[/?]/)[0]!.replace(/^.*@/, "");
  return /^(\[[0-9a-fA-F:.]+\]|[^[\]:]*)(:\d*)?$/.test(authority);
}

/** A compiled rule, or the reason it does not compile. */
export type CelProgram =
  | { ok: true; run: (self: unknown, oldSelf?: unknown) => CelValue | Error }
  | { ok: false; error: string };

const compiled = new Map<string, CelProgram>();

/** Parses and plans a rule once per rule text; unknown function names do not compile. */
export function compileCel(rule: string): CelProgram {
  const hit = compiled.get(rule);
  if (hit) return hit;
  let out: CelProgram;
  try {
    const parsed = parse(rule);
    const unknown = calledFunctions(parsed.expr).filter((f) =>
      !/^[_@!-]/.test(f) && !ENV.funcs.find(f)
    );
    if (unknown.length) throw new Error(`undeclared reference to '${unknown[0]}'`);
    const program = plan(ENV, parsed);
    out = {
      ok: true,
      run: (self, oldSelf) => {
        try {
          return program({ self, oldSelf } as never);
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      },
    };
  } catch (e) {
    out = { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  compiled.set(rule, out);
  return out;
}

function calledFunctions(e: unknown): string[] {
  const out: string[] = [];
  const visit = (x: unknown) => {
    if (Array.isArray(x)) return x.forEach(visit);
    if (typeof x !== "object" || x === null) return;
    const call = x as { $typeName?: string; function?: string };
    if (call.$typeName === "cel.expr.Expr.Call" && call.function) out.push(call.function);
    Object.values(x).forEach(visit);
  };
  visit(e);
  return out;
}

/** The CEL value of a JSON value at a structural schema node. */
export function toCel(value: unknown, s: Structural | undefined): unknown {
  if (typeof value === "number") {
    const int = s?.type === "integer" || s?.["x-kubernetes-int-or-string"] === true ||
      (s?.type === undefined && Number.isInteger(value));
    return int && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => toCel(v, s?.items));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map((
        [k, v],
      ) => [k, toCel(v, s?.properties?.[k] ?? s?.additionalProperties)]),
    );
  }
  return value;
}

/**
 * Runs one rule against `value` typed by `s`: true when it holds, false when it fails, or the
 * evaluation error's text (the API server reports those as failures too).
 */
export function evaluateCel(rule: string, value: unknown, s: Structural): boolean | string {
  const p = compileCel(rule);
  if (!p.ok) return `compilation failed: ${p.error}`;
  const r = p.run(toCel(value, s));
  if (r instanceof Error || isCelError(r)) return (r as Error).message;
  return typeof r === "boolean" ? r : `rule did not evaluate to a bool`;
}
