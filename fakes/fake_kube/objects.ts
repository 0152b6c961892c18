/**
 * Shared object helpers for the fake API server: the object type, timestamps in the
 * apiserver's two formats, a seeded random source for uids and generated names, and
 * field-selector value extraction.
 */
import type { Json } from "./patch.ts";
import type { ResourceDef } from "./resources.ts";

/** ObjectMeta as stored (loosely typed: clients may send anything). */
export type ObjectMeta = {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Json[];
  managedFields?: Json[];
  [k: string]: Json;
};

/** A stored Kubernetes object. */
export type KObj = { apiVersion?: string; kind?: string; metadata: ObjectMeta; [k: string]: Json };

/** `metav1.Time`: RFC 3339, whole seconds, UTC. */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** `metav1.MicroTime`: exactly six fractional digits. */
export function formatMicroTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.slice(0, 23) + "000Z";
}

/** The only MicroTime form a v1.32 server accepts: RFC 3339 with exactly six fractional digits. */
export const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/** mulberry32: small, fast and deterministic for a given seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUID v4 drawn from `random`, so runs with one seed produce the same uids. */
export function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = "4";
  hex[16] = ((parseInt(hex[16]!, 16) & 3) | 8).toString(16);
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";

/** The five-character random suffix the server appends to `generateName`. */
export function nameSuffix(random: () => number): string {
  let s = "";
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(random() * NAME_CHARS.length)];
  return s;
}

function dig(obj: Json, path: string): Json {
  let cur = obj;
  for (const seg of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = cur[seg];
  }
  return cur;
}

const BOOLEAN_FIELDS = new Set(["Node:spec.unschedulable", "Pod:spec.hostNetwork"]);

/** A field's string form for field selectors; absent fields compare as "". */
export function fieldValue(def: ResourceDef, obj: KObj, field: string): string {
  let path = field;
  if (def.kind === "Pod" && field === "spec.host") path = "spec.nodeName";
  if (def.kind === "Pod" && field === "status.podIPs") path = "status.podIP";
  if (def.kind === "Event" && field === "source") path = "source.component";
  const v = dig(obj, path);
  // Go prints unset booleans as "false" (spec.unschedulable=false selects uncordoned nodes).
  if ((v === undefined || v === null) && BOOLEAN_FIELDS.has(`${def.kind}:${path}`)) return "false";
  if (v === undefined || v === null) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** True when the object is mid-deletion (has deletionTimestamp). */
export function isDeleting(o: KObj): boolean {
  return typeof o.metadata.deletionTimestamp === "string";
}
