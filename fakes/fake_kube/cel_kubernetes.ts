/**
 * The Kubernetes CEL extension libraries the fake API server offers to
 * `x-kubernetes-validations` rules, written from the Kubernetes documentation as functions
 * registered with `@bufbuild/cel`: quantities (`quantity`, `isQuantity`, `sign`, `isInteger`,
 * `asInteger`, `asApproximateFloat`, `add`, `sub`, `compareTo`, `isGreaterThan`,
 * `isLessThan`), URLs (`url`, `isURL`, `getScheme`, `getHost`, `getHostname`, `getPort`,
 * `getEscapedPath`, `getQuery`) and regexes (`find`, `findAll`). Quantities and URLs are
 * opaque values, carried as small protobuf messages so the library can dispatch on their type.
 *
 * May import: @bufbuild/cel, @bufbuild/protobuf. Nothing from core/ or adapters/.
 */
import {
  type CelFunc,
  celFunc,
  celMethod,
  CelScalar,
  listType,
  mapType,
  objectType,
} from "@bufbuild/cel";
import { create, createFileRegistry, createRegistry, type DescMessage } from "@bufbuild/protobuf";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

const STRING_FIELD = 9;
const INT32_FIELD = 5;
const OPTIONAL = 1;

const file = create(FileDescriptorProtoSchema, {
  name: "fake_kube/cel_kubernetes.proto",
  package: "kubernetes",
  syntax: "proto3",
  messageType: [
    {
      name: "Quantity",
      field: [
        { name: "mantissa", number: 1, type: STRING_FIELD, label: OPTIONAL, jsonName: "mantissa" },
        { name: "exponent", number: 2, type: INT32_FIELD, label: OPTIONAL, jsonName: "exponent" },
      ],
    },
    {
      name: "URL",
      field: [{ name: "text", number: 1, type: STRING_FIELD, label: OPTIONAL, jsonName: "text" }],
    },
  ],
});
const files = createFileRegistry(file, () => undefined);
const QUANTITY_DESC = files.getMessage("kubernetes.Quantity") as DescMessage;
const URL_DESC = files.getMessage("kubernetes.URL") as DescMessage;

/** The protobuf registry that knows the opaque Kubernetes CEL types. */
export const KUBERNETES_CEL_REGISTRY = createRegistry(QUANTITY_DESC, URL_DESC);

const Q = objectType(QUANTITY_DESC);
const U = objectType(URL_DESC);
const { STRING, INT, BOOL, DOUBLE } = CelScalar;

/** An exact quantity: mantissa × 10^exponent, normalised (mantissa not a multiple of 10). */
type Exact = { m: bigint; e: number };

const QUANTITY =
  /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;
const BINARY_POWER: Record<string, bigint> = {
  Ki: 10n,
  Mi: 20n,
  Gi: 30n,
  Ti: 40n,
  Pi: 50n,
  Ei: 60n,
};
const DECIMAL_EXPONENT: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

function normalise(x: Exact): Exact {
  if (x.m === 0n) return { m: 0n, e: 0 };
  let { m, e } = x;
  while (m % 10n === 0n) {
    m /= 10n;
    e += 1;
  }
  return { m, e };
}

/** Parses a Kubernetes quantity string exactly; undefined when it is not one. */
export function parseExactQuantity(text: string): Exact | undefined {
  const g = QUANTITY.exec(text);
  if (!g) return undefined;
  const [, sign, number, exp, suffix] = g;
  const [whole, frac = ""] = number!.split(".");
  let m = BigInt(`${whole || "0"}${frac}`);
  let e = -frac.length;
  if (exp) e += Number(exp.slice(1));
  if (suffix && BINARY_POWER[suffix] !== undefined) m <<= BINARY_POWER[suffix]!;
  else if (suffix) e += DECIMAL_EXPONENT[suffix]!;
  if (sign === "-") m = -m;
  return normalise({ m, e });
}

function align(a: Exact, b: Exact): [bigint, bigint, number] {
  const e = Math.min(a.e, b.e);
  return [a.m * 10n ** BigInt(a.e - e), b.m * 10n ** BigInt(b.e - e), e];
}

function compare(a: Exact, b: Exact): number {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function asInt64(x: Exact): bigint | undefined {
  if (x.e < 0) return undefined;
  const v = x.m * 10n ** BigInt(x.e);
  return v > INT64_MAX || v < INT64_MIN ? undefined : v;
}

function toMessage(x: Exact) {
  return create(QUANTITY_DESC, { mantissa: x.m.toString(), exponent: x.e } as never);
}

function exact(v: ReflectMessage): Exact {
  const msg = v.message as unknown as { mantissa: string; exponent: number };
  return { m: BigInt(msg.mantissa || "0"), e: msg.exponent };
}

function quantityOf(text: string) {
  const x = parseExactQuantity(text);
  if (!x) throw new Error(`quantities must match the regular expression '${QUANTITY.source}'`);
  return toMessage(x);
}

const quantityFuncs: CelFunc[] = [
  celFunc("quantity", [STRING], Q, quantityOf),
  celFunc("isQuantity", [STRING], BOOL, (s) => parseExactQuantity(s) !== undefined),
  celMethod("sign", Q, [], INT, function () {
    return BigInt(Math.sign(Number(exact(this).m)));
  }),
  celMethod("isInteger", Q, [], BOOL, function () {
    return asInt64(exact(this)) !== undefined;
  }),
  celMethod("asInteger", Q, [], INT, function () {
    const v = asInt64(exact(this));
    if (v === undefined) throw new Error("cannot convert value to integer");
    return v;
  }),
  celMethod("asApproximateFloat", Q, [], DOUBLE, function () {
    const x = exact(this);
    return Number(x.m) * 10 ** x.e;
  }),
  celMethod("add", Q, [Q], Q, function (o) {
    const [x, y, e] = align(exact(this), exact(o));
    return toMessage(normalise({ m: x + y, e }));
  }),
  celMethod("add", Q, [INT], Q, function (n) {
    const [x, y, e] = align(exact(this), normalise({ m: n, e: 0 }));
    return toMessage(normalise({ m: x + y, e }));
  }),
  celMethod("sub", Q, [Q], Q, function (o) {
    const [x, y, e] = align(exact(this), exact(o));
    return toMessage(normalise({ m: x - y, e }));
  }),
  celMethod("sub", Q, [INT], Q, function (n) {
    const [x, y, e] = align(exact(this), normalise({ m: n, e: 0 }));
    return toMessage(normalise({ m: x - y, e }));
  }),
  celMethod("compareTo", Q, [Q], INT, function (o) {
    return BigInt(compare(exact(this), exact(o)));
  }),
  celMethod("isGreaterThan", Q, [Q], BOOL, function (o) {
    return compare(exact(this), exact(o)) > 0;
  }),
  celMethod("isLessThan", Q, [Q], BOOL, function (o) {
    return compare(exact(this), exact(o)) < 0;
  }),
];

/** A request URI split as Go's url.ParseRequestURI does; undefined when it refuses it. */
export type RequestUri = { scheme: string; host: string; path: string; query: string };

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s;
const HOST = /^(\[[0-9a-fA-F:.]+\]|[^\s/?#@[\]:]*)(:\d*)?$/;

/** Parses an absolute URL or an absolute path (what the Kubernetes `url` library accepts). */
export function parseRequestUri(text: string): RequestUri | undefined {
  // deno-lint-ignore no-control-regex
  if (text === "" || /[\x00-\x1f\x7f]/.test(text)) return undefined;
  let scheme = "";
  let rest = text;
  const s = SCHEME.exec(text);
  if (s) {
    scheme = s[1]!.toLowerCase();
    rest = s[2]!;
  } else if (!text.startsWith("/")) return undefined;
  const q = rest.indexOf("?");
  const query = q >= 0 ? rest.slice(q + 1) : "";
  if (q >= 0) rest = rest.slice(0, q);
  if (scheme && !rest.startsWith("/")) return { scheme, host: "", path: rest, query };
  let host = "";
  if (scheme && rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    let authority = slash >= 0 ? rest.slice(2, slash) : rest.slice(2);
    rest = slash >= 0 ? rest.slice(slash) : "";
    const at = authority.lastIndexOf("@");
    if (at >= 0) authority = authority.slice(at + 1);
    if (!HOST.test(authority)) return undefined;
    host = authority;
  }
  return { scheme, host, path: rest, query };
}

function uri(v: ReflectMessage): RequestUri {
  return parseRequestUri((v.message as unknown as { text: string }).text)!;
}

function hostname(host: string): string {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]"));
  const colon = host.indexOf(":");
  return colon >= 0 ? host.slice(0, colon) : host;
}

const urlFuncs: CelFunc[] = [
  celFunc("isURL", [STRING], BOOL, (s) => parseRequestUri(s) !== undefined),
  celFunc("url", [STRING], U, (s) => {
    if (!parseRequestUri(s)) throw new Error(`URL parse error during conversion from string: ${s}`);
    return create(URL_DESC, { text: s } as never);
  }),
  celMethod("getScheme", U, [], STRING, function () {
    return uri(this).scheme;
  }),
  celMethod("getHost", U, [], STRING, function () {
    return uri(this).host;
  }),
  celMethod("getHostname", U, [], STRING, function () {
    return hostname(uri(this).host);
  }),
  celMethod("getPort", U, [], STRING, function () {
    const h = uri(this).host;
    const end = h.startsWith("[") ? h.indexOf("]") + 1 : 0;
    const colon = h.indexOf(":", end);
    return colon >= 0 ? h.slice(colon + 1) : "";
  }),
  celMethod("getEscapedPath", U, [], STRING, function () {
    return uri(this).path;
  }),
  celMethod("getQuery", U, [], mapType(STRING, listType(STRING)), function () {
    const out = new Map<string, string[]>();
    for (const [k, v] of new URLSearchParams(uri(this).query)) {
      out.set(k, [...(out.get(k) ?? []), v]);
    }
    return out;
  }),
];

const regexFuncs: CelFunc[] = [
  celMethod("find", STRING, [STRING], STRING, function (re) {
    return new RegExp(re, "u").exec(this)?.[0] ?? "";
  }),
  celMethod("findAll", STRING, [STRING], listType(STRING), function (re) {
    return [...this.matchAll(new RegExp(re, "gu"))].map((m) => m[0]);
  }),
  celMethod("findAll", STRING, [STRING, INT], listType(STRING), function (re, n) {
    const all = [...this.matchAll(new RegExp(re, "gu"))].map((m) => m[0]);
    return n < 0n ? all : all.slice(0, Number(n));
  }),
];

/** Every Kubernetes extension function the fake registers besides the CEL strings extension. */
export const KUBERNETES_CEL_FUNCS: CelFunc[] = [...quantityFuncs, ...urlFuncs, ...regexFuncs];
