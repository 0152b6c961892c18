/**
 * Protobuf request bodies of the review and token endpoints. kubectl's typed clients send
 * `application/vnd.kubernetes.protobuf` for `auth can-i` (SelfSubjectAccessReview,
 * SelfSubjectRulesReview), `auth whoami` (SelfSubjectReview) and `create token`
 * (TokenRequest), so the fake reads those few messages: the `k8s\0` magic, the `Unknown`
 * envelope (typeMeta = 1, raw = 2), and the spec fields of each kind by their field numbers
 * in the published k8s.io/api `generated.proto` files. Answers stay JSON, which clients accept.
 *
 * May import: nothing of the project.
 */

/** One decoded field value: a varint, or the bytes of a length-delimited field. */
export type Field = number | Uint8Array;
/** A decoded message: field number -> values in wire order (fixed-width fields skipped). */
export type Message = Map<number, Field[]>;

/** The 4-byte prefix of every Kubernetes protobuf body. */
const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** Is this body a Kubernetes protobuf envelope? */
export function isKubeProtobuf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

/** Decodes one protobuf message (varint and length-delimited fields); undefined if malformed. */
export function decode(bytes: Uint8Array): Message | undefined {
  const out: Message = new Map();
  let i = 0;
  const varint = (): number | undefined => {
    let v = 0;
    let mul = 1;
    for (let n = 0; n < 10; n++) {
      if (i >= bytes.length) return undefined;
      const b = bytes[i++]!;
      v += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return v;
    }
    return undefined;
  };
  while (i < bytes.length) {
    const key = varint();
    if (key === undefined) return undefined;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let value: Field;
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return undefined;
      value = v;
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined || i + len > bytes.length) return undefined;
      value = bytes.subarray(i, i + len);
      i += len;
    } else if (wire === 1 || wire === 5) {
      i += wire === 1 ? 8 : 4;
      continue;
    } else return undefined;
    const list = out.get(field) ?? [];
    list.push(value);
    out.set(field, list);
  }
  return out;
}

const text = new TextDecoder();
const str = (m: Message, f: number) => {
  const v = m.get(f)?.[0];
  return v instanceof Uint8Array ? text.decode(v) : undefined;
};
const strs = (m: Message, f: number) =>
  (m.get(f) ?? []).filter((v) => v instanceof Uint8Array).map((v) => text.decode(v));
const sub = (m: Message, f: number) => {
  const v = m.get(f)?.[0];
  return v instanceof Uint8Array ? decode(v) : undefined;
};

function strings(m: Message, names: Record<number, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [f, name] of Object.entries(names)) {
    const v = str(m, Number(f));
    if (v) out[name] = v;
  }
  return out;
}

function accessSpec(spec: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const ra = sub(spec, 1);
  if (ra) {
    out.resourceAttributes = strings(ra, {
      1: "namespace",
      2: "verb",
      3: "group",
      4: "version",
      5: "resource",
      6: "subresource",
      7: "name",
    });
  }
  const na = sub(spec, 2);
  if (na) out.nonResourceAttributes = strings(na, { 1: "path", 2: "verb" });
  const user = str(spec, 3);
  if (user) out.user = user;
  const groups = strs(spec, 4);
  if (groups.length) out.groups = groups;
  const extra: Record<string, string[]> = {};
  for (const entry of spec.get(5) ?? []) {
    if (!(entry instanceof Uint8Array)) continue;
    const e = decode(entry);
    const k = e && str(e, 1);
    const v = e && sub(e, 2);
    if (k) extra[k] = v ? strs(v, 1) : [];
  }
  if (Object.keys(extra).length) out.extra = extra;
  const uid = str(spec, 6);
  if (uid) out.uid = uid;
  return out;
}

/**
 * The JSON body a protobuf review or token request stands for (`{kind, apiVersion, spec}`),
 * or undefined when the bytes are not a message of a kind this file reads.
 */
export function reviewFromProtobuf(bytes: Uint8Array): Record<string, unknown> | undefined {
  if (!isKubeProtobuf(bytes)) return undefined;
  const envelope = decode(bytes.subarray(4));
  if (!envelope) return undefined;
  const typeMeta = sub(envelope, 1);
  const kind = typeMeta ? str(typeMeta, 2) ?? "" : "";
  const apiVersion = typeMeta ? str(typeMeta, 1) ?? "" : "";
  const raw = envelope.get(2)?.[0];
  const obj = raw instanceof Uint8Array ? decode(raw) : new Map();
  if (!obj) return undefined;
  const spec = sub(obj, 2) ?? new Map();
  let s: Record<string, unknown>;
  switch (kind) {
    case "SelfSubjectAccessReview":
    case "SubjectAccessReview":
    case "LocalSubjectAccessReview":
      s = accessSpec(spec);
      break;
    case "SelfSubjectRulesReview":
      s = strings(spec, { 1: "namespace" });
      break;
    case "SelfSubjectReview":
      s = {};
      break;
    case "TokenRequest": {
      s = {};
      const aud = strs(spec, 1);
      if (aud.length) s.audiences = aud;
      const secs = spec.get(4)?.[0];
      if (typeof secs === "number") s.expirationSeconds = secs;
      break;
    }
    case "TokenReview": {
      s = strings(spec, { 1: "token" });
      const aud = strs(spec, 2);
      if (aud.length) s.audiences = aud;
      break;
    }
    default:
      return undefined;
  }
  return { kind, apiVersion, spec: s };
}
