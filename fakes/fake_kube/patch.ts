/**
 * The patch types a v1.32 API server accepts: RFC 6902 JSON patch, RFC 7386 merge patch and
 * strategic merge patch (list-merge rules by patch key, directives interpreted or stripped).
 * Server-side apply reuses the strategic merge without directives (create
 * when missing, fieldManager required, lists merged by their keys).
 */
import { err, ok, type Result } from "../result.ts";

// deno-lint-ignore no-explicit-any
export type Json = any;

/**
 * How one list field merges: by a key (server-side apply may name several `keys`, with
 * `keyDefaults` for key fields the server defaults), as a set of scalars, or replaced wholesale.
 */
export type ListRule =
  | { key: string; keys?: string[]; keyDefaults?: Record<string, Json> }
  | "set"
  | "replace";

/** Do two elements of a keyed list have the same key (defaults filled in)? */
export function sameKey(
  rule: { key: string; keys?: string[]; keyDefaults?: Record<string, Json> },
  a: Json,
  b: Json,
): boolean {
  if (!isObj(a) || !isObj(b)) return false;
  return (rule.keys ?? [rule.key]).every((k) =>
    deepEqual(a[k] ?? rule.keyDefaults?.[k] ?? null, b[k] ?? rule.keyDefaults?.[k] ?? null)
  );
}
/** Looks up the rule for a dotted field path without list indices (`spec.containers.env`). */
export type ListRules = (path: string) => ListRule | undefined;

const isObj = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Failure of a JSON patch: 400 for a malformed body, 422 for a failed operation. */
export type PatchError = { code: 400 | 422; message: string };

function decodePointer(path: string): string[] | undefined {
  if (path === "") return [];
  if (!path.startsWith("/")) return undefined;
  return path.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function deepEqual(a: Json, b: Json): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with sorted keys: equality and no-op detection must not depend on key order. */
export function canonicalJson(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Applies an RFC 6902 patch to a copy of `doc`. */
export function jsonPatch(doc: Json, ops: Json): Result<Json, PatchError> {
  if (!Array.isArray(ops)) {
    return err({
      code: 400,
      message:
        "error decoding patch: json: cannot unmarshal object into Go value of type jsonpatch.Patch",
    });
  }
  if (ops.length > 10000) {
    return err({
      code: 400,
      message: "The allowed maximum operations in a JSON patch is 10000, got " + ops.length,
    });
  }
  let root = structuredClone(doc);
  // The real server hides the operation's own error behind one generic sentence.
  const fail = (_op: string) =>
    err<PatchError>({
      code: 422,
      message: "the server rejected our request due to an error in our request",
    });
  for (const op of ops) {
    if (!isObj(op) || typeof op.op !== "string" || typeof op.path !== "string") {
      return err({ code: 400, message: "error decoding patch: invalid operation" });
    }
    const path = decodePointer(op.path);
    if (!path) return fail("bad path");
    const getAt = (p: string[]): { ok: boolean; value?: Json } => {
      let cur: Json = root;
      for (const seg of p) {
        if (Array.isArray(cur)) {
          const i = Number(seg);
          if (!/^\d+$/.test(seg) || i >= cur.length) return { ok: false };
          cur = cur[i];
        } else if (isObj(cur) && Object.hasOwn(cur, seg)) cur = cur[seg];
        else return { ok: false };
      }
      return { ok: true, value: cur };
    };
    const parentOf = (p: string[]) => getAt(p.slice(0, -1));
    const remove = (p: string[]): boolean => {
      const parent = parentOf(p);
      const last = p[p.length - 1]!;
      if (!parent.ok) return false;
      if (Array.isArray(parent.value)) {
        const i = Number(last);
        if (!/^\d+$/.test(last) || i >= parent.value.length) return false;
        parent.value.splice(i, 1);
        return true;
      }
      if (isObj(parent.value) && Object.hasOwn(parent.value, last)) {
        delete parent.value[last];
        return true;
      }
      return false;
    };
    const add = (p: string[], value: Json, replace: boolean): boolean => {
      if (p.length === 0) {
        root = value;
        return true;
      }
      const parent = parentOf(p);
      const last = p[p.length - 1]!;
      if (!parent.ok) return false;
      if (Array.isArray(parent.value)) {
        if (last === "-" && !replace) {
          parent.value.push(value);
          return true;
        }
        const i = Number(last);
        if (
          !/^\d+$/.test(last) || i > parent.value.length || (replace && i >= parent.value.length)
        ) return false;
        if (replace) parent.value[i] = value;
        else parent.value.splice(i, 0, value);
        return true;
      }
      if (isObj(parent.value)) {
        if (replace && !Object.hasOwn(parent.value, last)) return false;
        parent.value[last] = value;
        return true;
      }
      return false;
    };
    switch (op.op) {
      case "add":
        if (!add(path, structuredClone(op.value), false)) return fail("add");
        break;
      case "remove":
        if (!remove(path)) return fail("remove");
        break;
      case "replace":
        if (!add(path, structuredClone(op.value), true)) return fail("replace");
        break;
      case "test": {
        const got = getAt(path);
        if (!got.ok || !deepEqual(got.value, op.value)) return fail("test");
        break;
      }
      case "move":
      case "copy": {
        const from = typeof op.from === "string" ? decodePointer(op.from) : undefined;
        if (!from) return fail("from");
        const got = getAt(from);
        if (!got.ok) return fail("from");
        const value = structuredClone(got.value);
        if (op.op === "move" && !remove(from)) return fail("move");
        if (!add(path, value, false)) return fail(op.op);
        break;
      }
      default:
        return err({ code: 400, message: `error decoding patch: unexpected kind: ${op.op}` });
    }
  }
  return ok(root);
}

/** RFC 7386: objects merge recursively, `null` deletes, everything else (arrays too) replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Strategic merge patch: like merge patch, except lists named by `rules` merge element-wise
 * and `$patch`, `$retainKeys`, `$deleteFromPrimitiveList/…`, `$setElementOrder/…` are
 * interpreted and never stored. With `apply` set, `null` does not delete (apply semantics).
 */
export function strategicMergePatch(
  target: Json,
  patch: Json,
  rules: ListRules,
  apply = false,
): Json {
  return mergeMap(isObj(target) ? target : {}, patch, rules, "", apply);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function mergeMap(
  target: Record<string, Json>,
  patch: Record<string, Json>,
  rules: ListRules,
  path: string,
  apply: boolean,
): Json {
  if (patch.$patch === "replace") return stripDirectives({ ...patch, $patch: undefined });
  if (patch.$patch === "delete") return undefined;
  const out: Record<string, Json> = { ...target };
  const retain = Array.isArray(patch.$retainKeys) ? patch.$retainKeys as string[] : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith("$setElementOrder/")) continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      if (Array.isArray(out[field]) && Array.isArray(v)) {
        out[field] = out[field].filter((x: Json) => !v.includes(x));
      }
      continue;
    }
    const p = join(path, k);
    if (v === null) {
      if (!apply) delete out[k];
      continue;
    }
    if (isObj(v) && rules(p) === "replace") out[k] = stripDirectives(v);
    else if (isObj(v)) {
      const merged = mergeMap(isObj(out[k]) ? out[k] : {}, v, rules, p, apply);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else if (Array.isArray(v)) {
      out[k] = mergeList(Array.isArray(out[k]) ? out[k] : [], v, rules(p), rules, p, apply);
    } else out[k] = v;
  }
  if (retain) {
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  return out;
}

function mergeList(
  target: Json[],
  patch: Json[],
  rule: ListRule | undefined,
  rules: ListRules,
  path: string,
  apply: boolean,
): Json[] {
  if (patch.some((e) => isObj(e) && e.$patch === "replace")) {
    return stripDirectives(patch.filter((e) => !(isObj(e) && e.$patch === "replace")));
  }
  if (rule === "set") {
    const out = [...target];
    for (const e of patch) if (!out.some((x) => deepEqual(x, e))) out.push(e);
    return out;
  }
  if (rule === undefined || rule === "replace") return stripDirectives(patch);
  const out: Json[] = [...target];
  for (const e of patch) {
    if (!isObj(e)) continue;
    const idx = out.findIndex((x) => sameKey(rule, x, e));
    if (e.$patch === "delete") {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = mergeMap(out[idx], e, rules, path, apply);
    else out.push(mergeMap({}, e, rules, path, apply));
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  const out: Record<string, Json> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith("$") || x === undefined) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

const COMMON: Record<string, ListRule> = {
  "metadata.finalizers": "set",
  "metadata.ownerReferences": { key: "uid" },
};

/** The list-merge rules (patch keys and strategies) of the built-in kinds proxscale patches. */
export const BUILTIN_LIST_RULES: Record<string, Record<string, ListRule>> = {
  Node: {
    "spec.taints": "replace",
    "spec.podCIDRs": "set",
    "status.conditions": { key: "type" },
    "status.addresses": { key: "type" },
  },
  Pod: {
    "spec.containers": { key: "name" },
    "spec.initContainers": { key: "name" },
    "spec.ephemeralContainers": { key: "name" },
    "spec.imagePullSecrets": { key: "name" },
    "spec.volumes": { key: "name" },
    "spec.tolerations": "replace",
    "spec.readinessGates": "replace",
    "spec.topologySpreadConstraints": { key: "topologyKey" },
    "status.conditions": { key: "type" },
    "spec.containers.env": { key: "name" },
    "spec.containers.ports": { key: "containerPort" },
    "spec.containers.volumeMounts": { key: "mountPath" },
    "spec.initContainers.env": { key: "name" },
    "spec.initContainers.ports": { key: "containerPort" },
    "spec.initContainers.volumeMounts": { key: "mountPath" },
  },
  PodDisruptionBudget: { "status.conditions": { key: "type" } },
  Namespace: { "status.conditions": { key: "type" } },
};

/** Rules for a built-in kind (common metadata rules included). */
export function builtinListRules(kind: string): ListRules {
  const own = BUILTIN_LIST_RULES[kind] ?? {};
  return (p) => own[p] ?? COMMON[p];
}
