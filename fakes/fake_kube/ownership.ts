/**
 * Server-side apply field ownership, kept in each object's `metadata.managedFields` as the
 * real API server keeps it: one entry per manager identity (manager, operation, subresource,
 * and apiVersion for updates) with its fields in `fieldsV1`. Creates, updates and non-apply
 * patches record `Update` entries for what they changed; applies record `Apply` entries for
 * what they applied. An apply that changes a field another manager owns is a 409 unless
 * forced (which moves ownership); fields an applier applied before, omits now, and nobody
 * else owns are removed.
 *
 * May import: field_set.ts, patch.ts, status.ts, objects.ts (types).
 */
import {
  type FieldMap,
  fieldsOf,
  fromFieldsV1,
  NODE,
  pathText,
  type Seg,
  toFieldsV1,
} from "./field_set.ts";
import type { KObj } from "./objects.ts";
import { canonicalJson, type Json, type ListRules } from "./patch.ts";
import { failure, type Status } from "./status.ts";

/** Who writes: a field manager, through the main resource ("") or a subresource. */
export type Writer = { manager: string; subresource: string; apiVersion: string; time: string };

/** One managedFields entry with its fields decoded. */
export type ManagerEntry = Writer & { operation: "Apply" | "Update"; fields: FieldMap };

const isObj = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The identity that makes two writes the same manager (time never counts). */
function idOf(e: Writer & { operation: string }): string {
  const version = e.operation === "Update" ? e.apiVersion : "";
  return [e.manager, e.operation, e.subresource, version].join("\u0000");
}

/** Decodes an object's managedFields (entries that do not parse are dropped). */
export function readManaged(obj: KObj | undefined): ManagerEntry[] {
  const raw = obj?.metadata?.managedFields;
  if (!Array.isArray(raw)) return [];
  const out: ManagerEntry[] = [];
  for (const m of raw) {
    if (!isObj(m) || typeof m.manager !== "string") continue;
    const fields: FieldMap = new Map();
    for (const f of fromFieldsV1(m.fieldsV1)) {
      fields.set(pathText(f.segs), { segs: f.segs, value: f.value });
    }
    out.push({
      manager: m.manager,
      operation: m.operation === "Apply" ? "Apply" : "Update",
      apiVersion: typeof m.apiVersion === "string" ? m.apiVersion : "",
      time: typeof m.time === "string" ? m.time : "",
      subresource: typeof m.subresource === "string" ? m.subresource : "",
      fields,
    });
  }
  return out;
}

/** Encodes entries as managedFields, in the API server's order (operation, time, manager). */
export function writeManaged(entries: ManagerEntry[]): Json[] {
  const sorted = entries.filter((e) => e.fields.size > 0).sort((a, b) =>
    a.operation !== b.operation
      ? (a.operation < b.operation ? -1 : 1)
      : a.time !== b.time
      ? (a.time < b.time ? -1 : 1)
      : a.manager !== b.manager
      ? (a.manager < b.manager ? -1 : 1)
      : a.apiVersion !== b.apiVersion
      ? (a.apiVersion < b.apiVersion ? -1 : 1)
      : (a.subresource < b.subresource ? -1 : a.subresource > b.subresource ? 1 : 0)
  );
  return sorted.map((e) => ({
    manager: e.manager,
    operation: e.operation,
    apiVersion: e.apiVersion,
    time: e.time,
    fieldsType: "FieldsV1",
    fieldsV1: toFieldsV1(e.fields.values()),
    ...(e.subresource ? { subresource: e.subresource } : {}),
  }));
}

/** managedFields without times: a write that changes only times is no change. */
export function managedWithoutTimes(obj: KObj): string {
  const m = obj.metadata.managedFields;
  return Array.isArray(m) ? canonicalJson(m.map((e) => ({ ...e, time: undefined }))) : "";
}

function withFields(e: ManagerEntry, fields: FieldMap, time: string): ManagerEntry {
  const same = fields.size === e.fields.size && [...fields.keys()].every((k) => e.fields.has(k));
  return { ...e, fields, time: same ? e.time : time };
}

/**
 * Ownership after a non-apply write from `before` to `after`: fields that vanished are owned
 * by nobody; fields the write added or changed move to the writer's Update entry. Without a
 * writer (the fake's own controllers) only vanished fields are dropped.
 */
export function afterUpdate(
  entries: ManagerEntry[],
  w: Writer | undefined,
  before: Json,
  after: Json,
  rules: ListRules,
): ManagerEntry[] {
  const old = fieldsOf(before ?? {}, rules, true);
  const now = fieldsOf(after, rules, true);
  const changed: FieldMap = new Map();
  if (w) { for (const [p, f] of now) if (old.get(p)?.value !== f.value) changed.set(p, f); }
  const kept = (e: ManagerEntry) =>
    new Map([...e.fields].filter(([p]) => now.has(p) && !changed.has(p)));
  const me = w ? idOf({ ...w, operation: "Update" }) : "";
  const out = entries.filter((e) => idOf(e) !== me).map((e) => withFields(e, kept(e), e.time));
  if (w) {
    const prev = entries.find((e) => idOf(e) === me);
    const mine = new Map([...(prev ? kept(prev) : []), ...changed]);
    // The writer's time moves whenever its write changed something.
    const stamped = prev && changed.size ? { ...prev, time: w.time } : prev;
    out.push(
      stamped
        ? withFields({ ...stamped, apiVersion: w.apiVersion }, mine, w.time)
        : { ...w, operation: "Update", fields: mine },
    );
  }
  return out;
}

/** What an accepted apply does: the new entries and the fields to remove from the result. */
export type ApplyPlan = { entries: ManagerEntry[]; remove: Seg[][] };

/**
 * Checks an apply of `applied` over `live` by `w`: the 409 Status when it changes fields
 * other managers own (unless `force`), else the plan.
 */
export function planApply(
  entries: ManagerEntry[],
  w: Writer,
  live: Json | undefined,
  applied: Json,
  rules: ListRules,
  force: boolean,
): Status | ApplyPlan {
  const me = idOf({ ...w, operation: "Apply" });
  const want = fieldsOf(applied, rules, false);
  const have = fieldsOf(live ?? {}, rules, true);
  const conflicts: { owner: ManagerEntry; path: string }[] = [];
  for (const e of entries) {
    if (idOf(e) === me) continue;
    for (const p of e.fields.keys()) {
      const a = want.get(p)?.value;
      const b = have.get(p)?.value;
      if (a === undefined || b === undefined || a === NODE || b === NODE) continue;
      if (a !== b) conflicts.push({ owner: e, path: p });
    }
  }
  if (conflicts.length && !force) return conflictStatus(conflicts);
  const lost = new Set(conflicts.map((c) => `${idOf(c.owner)}\u0001${c.path}`));
  const others = entries.filter((e) => idOf(e) !== me).map((e) =>
    withFields(e, new Map([...e.fields].filter(([p]) => !lost.has(`${idOf(e)}\u0001${p}`))), e.time)
  );
  const prev = entries.find((e) => idOf(e) === me);
  const remove: Seg[][] = [];
  if (prev) {
    // A dropped field stays while anyone (this apply included) still owns it or a field
    // inside it: a map or list element goes only when nothing in it is owned any more.
    const kept = [...others.flatMap((e) => [...e.fields.keys()]), ...want.keys()];
    const inside = (p: string) =>
      kept.some((o) => o === p || o.startsWith(`${p}.`) || o.startsWith(`${p}[`));
    for (const [p, f] of prev.fields) if (!inside(p)) remove.push(f.segs);
  }
  const changes = [...want].some(([p, f]) => f.value !== NODE && have.get(p)?.value !== f.value);
  const mine: ManagerEntry = prev
    ? withFields({ ...prev, ...w, time: changes ? w.time : prev.time }, want, w.time)
    : { ...w, operation: "Apply", fields: want };
  return { entries: [...others, mine], remove };
}

function describe(o: ManagerEntry): string {
  let who = JSON.stringify(o.manager);
  if (o.subresource) who += ` with subresource ${JSON.stringify(o.subresource)}`;
  return o.operation === "Apply" ? who : `${who} using ${o.apiVersion}`;
}

function conflictStatus(conflicts: { owner: ManagerEntry; path: string }[]): Status {
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    message = `conflict with ${describe(c.owner)}: ${c.path}`;
  } else {
    const byOwner = new Map<string, string[]>();
    for (const c of conflicts) {
      const k = describe(c.owner);
      byOwner.set(k, [...(byOwner.get(k) ?? []), c.path]);
    }
    const lines: string[] = [];
    for (const k of [...byOwner.keys()].sort()) {
      lines.push(`conflicts with ${k}:`);
      for (const p of byOwner.get(k)!) lines.push(`- ${p}`);
    }
    message = lines.join("\n");
  }
  const n = conflicts.length;
  return failure(
    409,
    "Conflict",
    `Apply failed with ${n} conflict${n === 1 ? "" : "s"}: ${message}`,
    {
      causes: conflicts.map((c) => ({
        reason: "FieldManagerConflict",
        message: `conflict with ${describe(c.owner)}`,
        field: c.path,
      })),
    },
  );
}
