/**
 * Protobuf bodies of the plain built-in objects kubectl creates with its typed clients:
 * `kubectl create secret generic`, `create configmap` and `create namespace` send
 * `application/vnd.kubernetes.protobuf`, which a real API server accepts for every built-in
 * kind. The fake reads these three kinds: the `Unknown` envelope, ObjectMeta (name 1,
 * generateName 2, namespace 3, labels 11, annotations 12), and each kind's own fields by their
 * numbers in k8s.io/api core/v1 `generated.proto` (Secret: data 2 as bytes, type 3, stringData
 * 4, immutable 5; ConfigMap: data 2, binaryData 3, immutable 4; Namespace: spec.finalizers).
 * The result is the object's JSON form (bytes base64-encoded, as JSON carries them).
 *
 * May import: review_protobuf.ts.
 */
import { decode, isKubeProtobuf, type Message } from "./review_protobuf.ts";

const text = new TextDecoder();

function bytesOf(m: Message, f: number): Uint8Array | undefined {
  const v = m.get(f)?.[0];
  return v instanceof Uint8Array ? v : undefined;
}

function strOf(m: Message, f: number): string | undefined {
  const b = bytesOf(m, f);
  return b ? text.decode(b) : undefined;
}

function base64(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return btoa(s);
}

/** A map field (entries key = 1, value = 2), values as text or base64 of their bytes. */
function mapOf(m: Message, f: number, asBytes: boolean): Record<string, string> | undefined {
  const entries = m.get(f) ?? [];
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    if (!(e instanceof Uint8Array)) continue;
    const entry = decode(e);
    const k = entry && strOf(entry, 1);
    if (k === undefined || !entry) continue;
    const v = bytesOf(entry, 2) ?? new Uint8Array();
    out[k] = asBytes ? base64(v) : text.decode(v);
  }
  return out;
}

function metadata(m: Message | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!m) return out;
  for (const [f, name] of [[1, "name"], [2, "generateName"], [3, "namespace"]] as const) {
    const v = strOf(m, f);
    if (v) out[name] = v;
  }
  const labels = mapOf(m, 11, false);
  if (labels) out.labels = labels;
  const annotations = mapOf(m, 12, false);
  if (annotations) out.annotations = annotations;
  return out;
}

/**
 * The JSON object a protobuf Secret, ConfigMap or Namespace body stands for, or undefined when
 * the bytes are not one of those kinds (the caller answers 415 as before).
 */
export function objectFromProtobuf(bytes: Uint8Array): Record<string, unknown> | undefined {
  if (!isKubeProtobuf(bytes)) return undefined;
  const envelope = decode(bytes.subarray(4));
  const typeMeta = envelope && bytesOf(envelope, 1);
  const raw = envelope && bytesOf(envelope, 2);
  const tm = typeMeta ? decode(typeMeta) : undefined;
  const obj = raw ? decode(raw) : undefined;
  if (!tm || !obj) return undefined;
  const apiVersion = strOf(tm, 1) ?? "";
  const kind = strOf(tm, 2) ?? "";
  if (apiVersion !== "v1") return undefined;
  const meta = metadata(bytesOf(obj, 1) ? decode(bytesOf(obj, 1)!) : undefined);
  const out: Record<string, unknown> = { apiVersion, kind, metadata: meta };
  const flag = (f: number) => obj.get(f)?.[0] === 1;
  switch (kind) {
    case "Secret": {
      const data = mapOf(obj, 2, true);
      if (data) out.data = data;
      const type = strOf(obj, 3);
      if (type) out.type = type;
      const stringData = mapOf(obj, 4, false);
      if (stringData) out.stringData = stringData;
      if (flag(5)) out.immutable = true;
      return out;
    }
    case "ConfigMap": {
      const data = mapOf(obj, 2, false);
      if (data) out.data = data;
      const binaryData = mapOf(obj, 3, true);
      if (binaryData) out.binaryData = binaryData;
      if (flag(4)) out.immutable = true;
      return out;
    }
    case "Namespace": {
      const spec = bytesOf(obj, 2) ? decode(bytesOf(obj, 2)!) : undefined;
      const finalizers = (spec?.get(1) ?? []).filter((v) => v instanceof Uint8Array)
        .map((v) => text.decode(v as Uint8Array));
      if (finalizers.length) out.spec = { finalizers };
      return out;
    }
    default:
      return undefined;
  }
}
