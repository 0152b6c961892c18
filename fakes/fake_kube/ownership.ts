/**
 * Server-side apply field ownership (kubernetes-api.md §6.4 items 4-5), behind the
 * `applyOwnership` switch: which manager set which leaf field, conflicts when an applier
 * changes a field another manager owns (409 unless force), and removal of fields an
 * applier stopped applying. Paths print like structured-merge-diff's:
 * `.spec.minNodes`, `.status.conditions[type="Ready"].status`, `.metadata.finalizers[="a"]`.
 */
import type { Json, ListRules } from "./patch.ts";
import { canonicalJson } from "./patch.ts";
import { failure, type Status } from "./status.ts";

type Owner = {
  manager: string;
  subresource: string;
  paths: Set<string>;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
};

/** Who writes: a field manager, through the main resource ("") or a subresource. */
export type Writer = { manager: string; subresource: string; apiVersion: string; time: string };

const keyOf = (w: { manager: string; subresource: string }) => `${w.manager}\u0000${w.subresource}`;

const isObj = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

// Identity and server-set fields nobody "owns".
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
]);

/** Leaf paths of an object fragment with their canonical values. */
export function leafValues(obj: Json, rules: ListRules): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (v: Json, display: string, dotted: string) => {
    if (isObj(v)) {
      const keys = Object.keys(v).filter((k) => v[k] !== undefined);
      if (keys.length === 0 && display) out.set(display, "{}");
      for (const k of keys) {
        if (!display && SKIP_ROOT.has(k)) continue;
        if (display === ".metadata" && SKIP_META.has(k)) continue;
        walk(v[k], `${display}.${k}`, dotted ? `${dotted}.${k}` : k);
      }
      return;
    }
    if (Array.isArray(v)) {
      const rule = rules(dotted);
      if (rule === "set") {
        for (const e of v) out.set(`${display}[=${JSON.stringify(e)}]`, canonicalJson(e));
      } else if (rule && rule !== "replace") {
        for (const e of v) {
          if (isObj(e)) walk(e, `${display}[${rule.key}=${JSON.stringify(e[rule.key])}]`, dotted);
        }
      } else out.set(display, canonicalJson(v));
      return;
    }
    out.set(display, canonicalJson(v));
  };
  walk(obj, "", "");
  return out;
}

const SEGMENT = /\.([^.[\]]+)|\[([^=\]]*)=((?:"(?:[^"\\]|\\.)*"|[^\]])*)\]/y;

/** Removes one leaf (by display path) from an object in place. */
export function removePath(obj: Json, path: string): void {
  const segs: ({ key: string } | { match: string; value: Json })[] = [];
  SEGMENT.lastIndex = 0;
  while (SEGMENT.lastIndex < path.length) {
    const m = SEGMENT.exec(path);
    if (!m) return;
    if (m[1] !== undefined) segs.push({ key: m[1] });
    else segs.push({ match: m[2]!, value: JSON.parse(m[3]!) });
  }
  let parent: Json = obj;
  // The keyed list element we are inside, so that removing its key removes the element.
  let element: { list: Json[]; index: number; key: string } | undefined;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if ("key" in s) {
      if (!isObj(parent)) return;
      if (last) {
        if (element && element.key === s.key) element.list.splice(element.index, 1);
        else delete parent[s.key];
      } else {
        parent = parent[s.key];
        element = undefined;
      }
    } else {
      if (!Array.isArray(parent)) return;
      const list: Json[] = parent;
      const idx = list.findIndex((e: Json) =>
        s.match === ""
          ? canonicalJson(e) === canonicalJson(s.value)
          : isObj(e) && e[s.match] === s.value
      );
      if (idx < 0) return;
      if (last) list.splice(idx, 1);
      else {
        parent = list[idx];
        element = s.match === "" ? undefined : { list, index: idx, key: s.match };
      }
    }
  }
}

/** Per-object field ownership, keyed by uid. */
export class FieldOwnership {
  #byUid = new Map<string, Map<string, Owner>>();

  #owners(uid: string): Map<string, Owner> {
    let m = this.#byUid.get(uid);
    if (!m) this.#byUid.set(uid, m = new Map());
    return m;
  }

  /** Forgets a deleted object. */
  forget(uid: string): void {
    this.#byUid.delete(uid);
  }

  /** A non-apply write: fields it added or changed now belong to `manager`. */
  recordUpdate(uid: string, w: Writer, before: Json, after: Json, rules: ListRules): void {
    const old = leafValues(before ?? {}, rules);
    const now = leafValues(after, rules);
    const owners = this.#owners(uid);
    const changed = [...now.keys()].filter((p) => old.get(p) !== now.get(p));
    for (const o of owners.values()) {
      for (const p of [...o.paths]) if (!now.has(p) || changed.includes(p)) o.paths.delete(p);
    }
    if (!changed.length) return;
    const mine = owners.get(keyOf(w));
    const paths = new Set([...(mine?.operation === "Update" ? mine.paths : []), ...changed]);
    owners.set(keyOf(w), { ...w, paths, operation: "Update" });
  }

  /**
   * Checks an apply of `applied` over `live` by `manager`. Returns the 409 Status on
   * conflicts (unless `force`), else the paths to remove from the merged object (fields this
   * manager applied before, omits now, and nobody else owns).
   */
  checkApply(
    uid: string | undefined,
    w: Writer,
    live: Json | undefined,
    applied: Json,
    rules: ListRules,
    force: boolean,
  ): Status | string[] {
    if (!uid) return [];
    const owners = this.#owners(uid);
    const manager = keyOf(w);
    const want = leafValues(applied, rules);
    const have = leafValues(live ?? {}, rules);
    const conflicts: { manager: string; path: string }[] = [];
    for (const [name, o] of owners) {
      if (name === manager) continue;
      for (const p of o.paths) {
        if (want.has(p) && have.has(p) && want.get(p) !== have.get(p)) {
          conflicts.push({ manager: name, path: p });
        }
      }
    }
    if (conflicts.length && !force) {
      return conflictStatus(
        conflicts.map((c) => ({ owner: owners.get(c.manager)!, path: c.path })),
      );
    }
    for (const c of conflicts) owners.get(c.manager)!.paths.delete(c.path);
    const prev = owners.get(manager);
    if (!prev || prev.operation !== "Apply") return [];
    const others = new Set(
      [...owners].filter(([n]) => n !== manager).flatMap(([, o]) => [...o.paths]),
    );
    return [...prev.paths].filter((p) => !want.has(p) && !others.has(p));
  }

  /** Records what an apply set, after it was committed. */
  recordApply(uid: string, w: Writer, applied: Json, rules: ListRules): void {
    const paths = new Set(leafValues(applied, rules).keys());
    const owners = this.#owners(uid);
    for (const [key, o] of owners) {
      if (key !== keyOf(w)) { for (const p of paths) o.paths.delete(p); }
    }
    owners.set(keyOf(w), { ...w, paths, operation: "Apply" });
  }
}

function describe(o: Owner): string {
  let who = JSON.stringify(o.manager);
  if (o.subresource) who += ` with subresource ${JSON.stringify(o.subresource)}`;
  return o.operation === "Apply" ? who : `${who} using ${o.apiVersion} at ${o.time}`;
}

function conflictStatus(conflicts: { owner: Owner; path: string }[]): Status {
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    message = `conflict with ${describe(c.owner)}: ${c.path}`;
  } else {
    const lines: string[] = [];
    const byOwner = new Map<string, { owner: Owner; paths: string[] }>();
    for (const c of conflicts) {
      const k = describe(c.owner);
      const e = byOwner.get(k) ?? { owner: c.owner, paths: [] };
      e.paths.push(c.path);
      byOwner.set(k, e);
    }
    for (const k of [...byOwner.keys()].sort()) {
      lines.push(`conflicts with ${k}:`);
      for (const p of byOwner.get(k)!.paths) lines.push(`- ${p}`);
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
