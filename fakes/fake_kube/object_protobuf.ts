/**
 * Protobuf bodies of built-in objects, as kubectl's typed clients send them
 * (`kubectl create deployment|job|cronjob|pdb|serviceaccount|secret|configmap|namespace`,
 * `create service`): `application/vnd.kubernetes.protobuf`, which a real API server accepts for
 * every built-in kind. The body is the 4-byte magic `k8s\0`, then a runtime.Unknown envelope
 * (1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType) whose `raw` is
 * the typed message; the message tables (protobuf_schema.ts) turn it into the JSON a real API
 * server's Go decoding and encoding would give:
 *
 * - the typed clients write every non-pointer field, zero or not; zero strings, numbers, bools
 *   and empty sub-messages are left out (Go's `omitempty`), except Go pointers, whose zero is a
 *   value (`replicas: 0`, `emptyDir: {}`, `selector: {}`);
 * - Time is an RFC 3339 string (left out when zero), Quantity its string, IntOrString a number
 *   or a string, FieldsV1 the JSON it holds, bytes base64, maps objects, repeated fields
 *   arrays (empty items kept), Go-inline fields merged into their parent;
 * - a field the tables do not know is skipped when it carries nothing (a zero the client wrote
 *   by habit) and refused by message and number otherwise, so data is never dropped silently.
 *
 * A kind without a table is answered 415 by the caller, as before; malformed bytes are a 400.
 *
 * May import: protobuf_schema.ts, protobuf_wire.ts.
 */
import {
  type FieldSchema,
  KIND_MESSAGES,
  MESSAGES,
  type MessageSchema,
} from "./protobuf_schema.ts";
import {
  carriesNothing,
  hasKubeMagic,
  packedVarints,
  readFields,
  signed,
  type WireField,
} from "./protobuf_wire.ts";

/** Why a protobuf body did not become an object. */
export type ProtobufBodyError =
  /** The fake has no table for this kind (the caller answers 415, as for any unknown format). */
  | { reason: "NoSchema"; apiVersion: string; kind: string }
  /** The bytes are not a valid message of the kind, or carry a field the fake cannot read (400). */
  | { reason: "BadRequest"; message: string };

/** The JSON object a protobuf body stands for, or why there is none. */
export type ProtobufBody =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; error: ProtobufBodyError };

class DecodeError extends Error {}

/** Types whose wire value is whole in one field (a repeated singular field keeps the last). */
const SCALARS_ON_BYTES = new Set(["string", "bytes"]);

const text = new TextDecoder();

function base64(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return btoa(s);
}

function at(path: string): string {
  return path ? ` at ${path}` : "";
}

function fieldsOf(bytes: Uint8Array, message: string, path: string): WireField[] {
  const r = readFields(bytes);
  if (!r.ok) throw new DecodeError(`malformed ${message}${at(path)}: ${r.error}`);
  return r.value;
}

function isZero(f: WireField): boolean {
  if (f.wire === "varint") return f.value === 0n;
  if (f.wire === "bytes") return carriesNothing(f.value);
  return f.value.every((b) => b === 0);
}

function describe(f: WireField): string {
  if (f.wire === "varint") return `varint ${f.value}`;
  return `${f.wire === "bytes" ? "length-delimited" : f.wire} value of ${f.value.length} bytes`;
}

/** A decoded value, and whether it is its type's zero (left out unless a pointer). */
type Value = { value: unknown; zero: boolean };

/** The JSON form of the messages that have one (Time, Quantity, IntOrString, FieldsV1). */
const SPECIAL: Record<string, (m: Record<string, unknown>, path: string) => Value> = {
  Time: (m, path) => {
    const seconds = (m.seconds as number | undefined) ?? 0;
    if (seconds === 0 && ((m.nanos as number | undefined) ?? 0) === 0) {
      return { value: null, zero: true };
    }
    if (Math.abs(seconds) > 8.64e12) {
      throw new DecodeError(`malformed Time${at(path)}: ${seconds} seconds is out of range`);
    }
    const iso = new Date(seconds * 1000).toISOString();
    return { value: iso.replace(/\.\d+Z$/, "Z"), zero: false };
  },
  Quantity: (m) => {
    const s = (m.string as string | undefined) ?? "";
    return { value: s || "0", zero: s === "" };
  },
  IntOrString: (m) => {
    if (((m.type as number | undefined) ?? 0) === 1) {
      const s = (m.strVal as string | undefined) ?? "";
      return { value: s, zero: s === "" };
    }
    const n = (m.intVal as number | undefined) ?? 0;
    return { value: n, zero: n === 0 };
  },
  FieldsV1: (m, path) => {
    const raw = m.Raw as string | undefined;
    if (!raw) return { value: {}, zero: true };
    try {
      const bytes = Uint8Array.from(atob(raw), (c) => c.charCodeAt(0));
      return { value: JSON.parse(text.decode(bytes)), zero: false };
    } catch {
      throw new DecodeError(`malformed FieldsV1${at(path)}: its bytes are not JSON`);
    }
  },
};

function schemaOf(name: string): MessageSchema {
  const s = MESSAGES.get(name);
  if (!s) throw new Error(`Protobuf schema names a message ${name} that has no table`);
  return s;
}

/** One wire value of a field of scalar or message type. */
function valueOf(f: FieldSchema, w: WireField, owner: string, path: string): Value {
  const wantVarint = f.type === "int" || f.type === "bool";
  if (wantVarint !== (w.wire === "varint") || (!wantVarint && w.wire !== "bytes")) {
    throw new DecodeError(
      `malformed ${owner}${at(path)}: field ${f.number} is a ${w.wire} value where ` +
        `${wantVarint ? "a varint" : "length-delimited bytes"} belongs`,
    );
  }
  if (w.wire === "varint") {
    if (f.type === "bool") return { value: w.value !== 0n, zero: w.value === 0n };
    const n = signed(w.value);
    return { value: n, zero: n === 0 };
  }
  const bytes = w.value as Uint8Array;
  if (f.type === "string") {
    const s = text.decode(bytes);
    return { value: s, zero: s === "" };
  }
  if (f.type === "bytes") return { value: base64(bytes), zero: bytes.length === 0 };
  const m = decodeMessage(schemaOf(f.type), bytes, path);
  const special = SPECIAL[f.type];
  if (special) return special(m, path);
  return { value: m, zero: Object.keys(m).length === 0 };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

function mapOf(f: FieldSchema, ws: WireField[], owner: string, path: string) {
  const key: FieldSchema = { ...f, number: 1, json: "key", type: "string", map: false };
  const val: FieldSchema = { ...f, number: 2, json: "value", map: false };
  const out: Record<string, unknown> = {};
  for (const w of ws) {
    if (w.wire !== "bytes") {
      throw new DecodeError(`malformed ${owner}${at(path)}: map field ${f.number} is not bytes`);
    }
    let k = "";
    let v: Value | undefined;
    for (const e of fieldsOf(w.value, `${owner}.${f.json} entry`, path)) {
      if (e.field === 1) k = valueOf(key, e, owner, path).value as string;
      else if (e.field === 2) v = valueOf(val, e, owner, `${path}[${JSON.stringify(k)}]`);
      else if (!isZero(e)) throw unknownField(`${owner}.${f.json} entry`, e, path);
    }
    out[k] = v ? v.value : valueOf(val, zeroOf(val.type), owner, path).value;
  }
  return out;
}

function zeroOf(type: string): WireField {
  return type === "int" || type === "bool"
    ? { field: 2, wire: "varint", value: 0n }
    : { field: 2, wire: "bytes", value: new Uint8Array() };
}

function repeatedOf(f: FieldSchema, ws: WireField[], owner: string, path: string): unknown[] {
  const out: unknown[] = [];
  for (const w of ws) {
    if ((f.type === "int" || f.type === "bool") && w.wire === "bytes") {
      const packed = packedVarints(w.value);
      if (!packed) {
        throw new DecodeError(`malformed ${owner}${at(path)}: packed field ${f.number} is cut`);
      }
      for (const value of packed) {
        out.push(valueOf(f, { field: w.field, wire: "varint", value }, owner, path).value);
      }
      continue;
    }
    out.push(valueOf(f, w, owner, `${path}[${out.length}]`).value);
  }
  return out;
}

function unknownField(owner: string, w: WireField, path: string): DecodeError {
  return new DecodeError(
    `field ${w.field} of ${owner}${at(path)} is not known to the fake API server and carries ` +
      `a value (${describe(w)}); send this object as JSON`,
  );
}

/** Decodes one message by its table into its JSON object. */
function decodeMessage(schema: MessageSchema, bytes: Uint8Array, path: string) {
  const byField = new Map<number, WireField[]>();
  for (const w of fieldsOf(bytes, schema.name, path)) {
    if (!schema.byNumber.has(w.field)) {
      if (!isZero(w)) throw unknownField(schema.name, w, path);
      continue;
    }
    const list = byField.get(w.field) ?? [];
    list.push(w);
    byField.set(w.field, list);
  }
  const out: Record<string, unknown> = {};
  for (const f of schema.order) {
    const ws = byField.get(f.number);
    if (!ws) continue;
    const p = f.inline ? path : path ? `${path}.${f.json}` : f.json;
    if (f.map) {
      const m = mapOf(f, ws, schema.name, p);
      if (Object.keys(m).length) out[f.json] = m;
      continue;
    }
    if (f.repeated) {
      const items = repeatedOf(f, ws, schema.name, p);
      if (items.length) out[f.json] = items;
      continue;
    }
    // A singular field seen twice: the last scalar wins, message parts merge (protobuf rules).
    const last = ws[ws.length - 1]!;
    const w: WireField = last.wire === "bytes" && !SCALARS_ON_BYTES.has(f.type)
      ? { ...last, value: concat(ws.map((x) => x.value as Uint8Array)) }
      : last;
    const v = valueOf(f, w, schema.name, p);
    if (f.inline) Object.assign(out, v.value);
    else if (!v.zero || (f.pointer && f.type !== "Time")) out[f.json] = v.value;
  }
  return out;
}

function envelopeOf(bytes: Uint8Array) {
  const env = {
    apiVersion: "",
    kind: "",
    raw: new Uint8Array() as Uint8Array,
    contentEncoding: "",
  };
  const str = (w: WireField, field: string) => {
    if (w.wire !== "bytes") throw new DecodeError(`malformed envelope: ${field} is not bytes`);
    return w.value;
  };
  for (const w of fieldsOf(bytes, "Unknown envelope", "")) {
    if (w.field === 1) {
      for (const t of fieldsOf(str(w, "typeMeta"), "TypeMeta", "")) {
        if (t.field === 1) env.apiVersion = text.decode(str(t, "apiVersion"));
        else if (t.field === 2) env.kind = text.decode(str(t, "kind"));
        else if (!isZero(t)) throw unknownField("TypeMeta", t, "");
      }
    } else if (w.field === 2) env.raw = str(w, "raw");
    else if (w.field === 3) env.contentEncoding = text.decode(str(w, "contentEncoding"));
    else if (w.field !== 4 && !isZero(w)) throw unknownField("Unknown", w, "");
  }
  return env;
}

/**
 * The JSON object a Kubernetes protobuf body stands for, by the message tables of its kind;
 * NoSchema when the fake has no table for the kind, BadRequest when the bytes are malformed or
 * carry a field the tables do not know.
 */
export function objectFromProtobuf(bytes: Uint8Array): ProtobufBody {
  const bad = (message: string): ProtobufBody => ({
    ok: false,
    error: { reason: "BadRequest", message },
  });
  if (!hasKubeMagic(bytes)) {
    return bad(
      "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]",
    );
  }
  let label = "the protobuf body";
  try {
    const env = envelopeOf(bytes.subarray(4));
    const root = KIND_MESSAGES[`${env.apiVersion} ${env.kind}`];
    if (!root) {
      return {
        ok: false,
        error: { reason: "NoSchema", apiVersion: env.apiVersion, kind: env.kind },
      };
    }
    label = `the protobuf body of ${env.apiVersion} ${env.kind}`;
    if (env.contentEncoding) {
      return bad(`${label} has content encoding "${env.contentEncoding}", which is not supported`);
    }
    const obj = decodeMessage(schemaOf(root), env.raw, "");
    return {
      ok: true,
      value: { kind: env.kind, apiVersion: env.apiVersion, metadata: obj.metadata ?? {}, ...obj },
    };
  } catch (e) {
    if (e instanceof DecodeError) return bad(`${label} cannot be decoded: ${e.message}`);
    throw e;
  }
}
