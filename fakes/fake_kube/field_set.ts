/**
 * Field sets of server-side apply: the fields an object (or an applied manifest) sets, as
 * paths printed like structured-merge-diff's (`.spec.replicas`,
 * `.spec.containers[name="app"].image`, `.spec.ports[port=80,protocol="TCP"]`,
 * `.metadata.finalizers[="a"]`), their `fieldsV1` encoding (`f:` field, `k:` keyed list
 * element, `v:` set value, `.` the node itself), and removal of a field from an object.
 *
 * May import: patch.ts.
 */
import { canonicalJson, type Json, type ListRules, sameKey } from "./patch.ts";

/** One path step: a map field, a keyed list element (its key fields), or a set value. */
export type Seg = { f: string } | { k: Record<string, Json> } | { v: Json };

/** One field of a set: its steps and its value (canonical JSON; NODE for a node itself). */
export type Field = { segs: Seg[]; value: string };

/** A field set keyed by printed path. */
export type FieldMap = Map<string, Field>;

/** The value of a node (a list element or a map that exists), compared as equal always. */
export const NODE = "\u0000node";

const isObj = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

// Identity and server-set fields nobody owns.
const SKIP_ROOT = new Set(["apiVersion", "kind"]);
const SKIP_META = new Set([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
]);
// Struct fields a create or update never marks as a node of its own (value structs).
const NO_NODE = new Set(["metadata", "spec", "status", "template", "strategy"]);

/** Prints one step as structured-merge-diff does. */
export function segText(s: Seg): string {
  if ("f" in s) return `.${s.f}`;
  if ("v" in s) return `[=${JSON.stringify(s.v)}]`;
  return `[${Object.keys(s.k).sort().map((k) => `${k}=${canonicalJson(s.k[k])}`).join(",")}]`;
}

/** Prints a path. */
export function pathText(segs: Seg[]): string {
  return segs.map(segText).join("");
}

/**
 * The fields `obj` sets. With `nodes`, maps that exist are listed as nodes of their own
 * (what an update records); list elements of keyed lists and sets always are.
 */
export function fieldsOf(obj: Json, rules: ListRules, nodes = false): FieldMap {
  const out: FieldMap = new Map();
  const add = (segs: Seg[], value: string) => out.set(pathText(segs), { segs, value });
  const walk = (v: Json, segs: Seg[], dotted: string) => {
    const rule = dotted ? rules(dotted) : undefined;
    if (isObj(v) && rule !== "replace") {
      const keys = Object.keys(v).filter((k) => v[k] !== undefined);
      if (keys.length === 0 && segs.length) {
        add(segs, "{}");
        return;
      }
      const last = segs[segs.length - 1];
      if (nodes && segs.length > 1 && last && "f" in last && !NO_NODE.has(last.f)) {
        add(segs, NODE);
      }
      for (const k of keys) {
        if (!segs.length && SKIP_ROOT.has(k)) continue;
        if (segs.length === 1 && dotted === "metadata" && SKIP_META.has(k)) continue;
        walk(v[k], [...segs, { f: k }], dotted ? `${dotted}.${k}` : k);
      }
      return;
    }
    if (Array.isArray(v) && rule === "set") {
      for (const e of v) add([...segs, { v: e }], NODE);
      return;
    }
    if (Array.isArray(v) && typeof rule === "object") {
      const keys = rule.keys ?? [rule.key];
      for (const e of v) {
        if (!isObj(e)) continue;
        const k: Record<string, Json> = {};
        for (const name of keys) {
          const kv = e[name] ?? rule.keyDefaults?.[name];
          if (kv !== undefined) k[name] = kv;
        }
        const el = [...segs, { k }];
        add(el, NODE);
        for (const f of Object.keys(e)) {
          if (e[f] !== undefined) walk(e[f], [...el, { f }], `${dotted}.${f}`);
        }
      }
      return;
    }
    add(segs, canonicalJson(v));
  };
  walk(obj, [], "");
  return out;
}

/** Encodes paths as `fieldsV1` (keys sorted, `.` first). */
export function toFieldsV1(paths: Iterable<Field>): Json {
  const root: Record<string, Json> = {};
  for (const { segs, value } of paths) {
    let cur = root;
    for (const s of segs) cur = cur[segKey(s)] ??= {};
    const last = segs[segs.length - 1];
    // A set value is a leaf; maps and keyed elements mark themselves with ".".
    if (value === NODE && !(last && "v" in last)) cur["."] = {};
  }
  const sort = (o: Record<string, Json>): Json => {
    const keys = Object.keys(o).sort((a, b) => a === "." ? -1 : b === "." ? 1 : a < b ? -1 : 1);
    const out: Record<string, Json> = {};
    for (const k of keys) out[k] = sort(o[k]);
    return out;
  };
  return sort(root);
}

function segKey(s: Seg): string {
  if ("f" in s) return `f:${s.f}`;
  if ("v" in s) return `v:${canonicalJson(s.v)}`;
  return `k:${canonicalJson(s.k)}`;
}

/** Decodes `fieldsV1` into the paths it names (leaves and `.` nodes); bad input gives none. */
export function fromFieldsV1(f: Json): Field[] {
  const out: Field[] = [];
  const walk = (o: Json, segs: Seg[]) => {
    if (!isObj(o)) return;
    const keys = Object.keys(o);
    if (keys.length === 0 && segs.length) out.push({ segs, value: "" });
    for (const k of keys) {
      if (k === ".") {
        out.push({ segs, value: NODE });
        continue;
      }
      const seg = parseSegKey(k);
      if (seg) walk(o[k], [...segs, seg]);
    }
  };
  walk(f, []);
  return out;
}

function parseSegKey(k: string): Seg | undefined {
  try {
    if (k.startsWith("f:")) return { f: k.slice(2) };
    if (k.startsWith("v:")) return { v: JSON.parse(k.slice(2)) };
    if (k.startsWith("k:")) {
      const v = JSON.parse(k.slice(2));
      return isObj(v) ? { k: v } : undefined;
    }
  } catch { /* not a path step */ }
  return undefined;
}

/** Does list element `e` match the key step `k`? */
function matches(k: Record<string, Json>, e: Json, keyDefaults?: Record<string, Json>): boolean {
  const names = Object.keys(k);
  return sameKey(
    { key: names[0] ?? "", keys: names, ...(keyDefaults ? { keyDefaults } : {}) },
    e,
    k,
  );
}

/** Removes one field (a leaf, a list element or a set value) from `obj` in place. */
export function removeField(obj: Json, segs: Seg[], rules: ListRules): void {
  let parent: Json = obj;
  let dotted = "";
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if ("f" in s) {
      if (!isObj(parent)) return;
      dotted = dotted ? `${dotted}.${s.f}` : s.f;
      if (last) delete parent[s.f];
      else parent = parent[s.f];
      continue;
    }
    if (!Array.isArray(parent)) return;
    const list: Json[] = parent;
    const rule = rules(dotted);
    const defaults = rule && typeof rule === "object" ? rule.keyDefaults : undefined;
    const idx = "v" in s
      ? list.findIndex((e) => canonicalJson(e) === canonicalJson(s.v))
      : list.findIndex((e) => matches(s.k, e, defaults));
    if (idx < 0) return;
    if (last) list.splice(idx, 1);
    else parent = list[idx];
  }
}
