/**
 * PATCH handling for the fake API server: picks the patch type from
 * the Content-Type, enforces the PatchOptions rules (fieldManager for apply, no force
 * elsewhere, 415 for strategic merge on custom resources), applies the patch to the live
 * object and hands the result to the store's update path (preconditions, status rules,
 * no-op detection). Server-side apply upserts, merges lists by their apply list types
 * (list_types.ts) and checks field ownership (ownership.ts): 409 on conflicts unless forced,
 * removal of fields the applier dropped.
 */
import { err, type Result } from "../result.ts";
import { formatTime, type KObj } from "./objects.ts";
import { removeField } from "./field_set.ts";
import { applyListRules } from "./list_types.ts";
import { type ManagerEntry, planApply, readManaged, type Writer } from "./ownership.ts";
import { type Json, jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { apiVersionOf, type ResourceDef } from "./resources.ts";
import {
  badRequest,
  conflict,
  failure,
  notFound,
  type Status,
  unsupportedMediaType,
} from "./status.ts";
import type { KubeStore, WriteOptions, WriteResult } from "./store.ts";

/** The four patch types a v1.32 server accepts. */
export type PatchType = "json" | "merge" | "strategic" | "apply";

/** Content-Type (media type only) → patch type. */
export const PATCH_MEDIA_TYPES: Record<string, PatchType> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
};

/** The 415 list for a resource: custom resources leave out strategic merge patch. */
export function acceptedPatchTypes(def: ResourceDef): string[] {
  const all = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
  ];
  return def.builtin
    ? [...all.slice(0, 2), "application/strategic-merge-patch+json", all[2]!]
    : all;
}

/** PATCH query options beyond WriteOptions. */
export type PatchOptions = WriteOptions & { fieldManager?: string; force?: boolean };

const isObj = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function patchOptionsInvalid(field: string, message: string): Status {
  return failure(422, "Invalid", `PatchOptions.meta.k8s.io "" is invalid: ${field}: ${message}`, {
    group: "meta.k8s.io",
    kind: "PatchOptions",
    causes: [{
      reason: message.startsWith("Required") ? "FieldValueRequired" : "FieldValueForbidden",
      message,
      field,
    }],
  });
}

/** Applies a parsed patch body of `type` to the named object. */
export function patchObject(
  store: KubeStore,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
  type: PatchType,
  body: Json,
  opts: PatchOptions = {},
): Result<WriteResult, Status> {
  if (opts.force && type !== "apply") {
    return err(patchOptionsInvalid("force", "Forbidden: may not be specified for non-apply patch"));
  }
  if (type === "apply" && !opts.fieldManager) {
    return err(patchOptionsInvalid("fieldManager", "Required value: is required for apply patch"));
  }
  if (type === "strategic" && !def.builtin) {
    return err(unsupportedMediaType(acceptedPatchTypes(def)));
  }
  const ns = def.namespaced ? namespace ?? "default" : undefined;
  const current = store.peek(def, ns, name);
  if (!current) {
    if (type === "apply" && !opts.subresource) {
      if (!isObj(body)) return err(badRequest("error decoding YAML: the body must be an object"));
      const meta = isObj(body.metadata) ? body.metadata : {};
      if (meta.name !== undefined && meta.name !== name) return err(nameMismatch(meta.name, name));
      const rules = applyListRules(def);
      const applied = ownedPart(def, opts, body);
      const plan = planApply([], writer(def, opts, store), undefined, applied, rules, true);
      if (!("entries" in plan)) return err(plan);
      const { managedFields: _m, ...cleanMeta } = meta;
      return store.create(def, { ...body, metadata: { ...cleanMeta, name } } as KObj, {
        ...writeOpts(opts, false),
        ...(store.ownership() ? { owners: plan.entries } : {}),
        ...(ns ? { namespace: ns } : {}),
      });
    }
    return err(notFound(def, name));
  }
  let patched: Json;
  let owners: ManagerEntry[] | undefined;
  switch (type) {
    case "json": {
      const r = jsonPatch(current, body);
      if (!r.ok) {
        return err(
          r.error.code === 400
            ? badRequest(r.error.message)
            : failure(422, "Invalid", r.error.message),
        );
      }
      patched = r.value;
      break;
    }
    case "merge":
      if (!isObj(body)) {
        return err(badRequest("error decoding patch: the patch must be a JSON object"));
      }
      patched = mergePatch(current, body);
      break;
    case "strategic":
      if (!isObj(body)) {
        return err(badRequest("error decoding patch: the patch must be a JSON object"));
      }
      patched = strategicMergePatch(current, body, def.listRules);
      break;
    case "apply": {
      if (!isObj(body)) return err(badRequest("error decoding YAML: the body must be an object"));
      if (
        (body.kind && body.kind !== def.kind) ||
        (body.apiVersion && body.apiVersion !== apiVersionOf(def))
      ) {
        return err(badRequest(
          `the API version in the data (${body.apiVersion}) does not match the expected API version (${
            apiVersionOf(def)
          })`,
        ));
      }
      const rules = applyListRules(def);
      const applied = ownedPart(def, opts, body);
      patched = strategicMergePatch(current, applied, rules, true);
      if (store.ownership()) {
        const plan = planApply(
          readManaged(current),
          writer(def, opts, store),
          current,
          applied,
          rules,
          !!opts.force,
        );
        if (!("entries" in plan)) return err(plan);
        // The merge shares untouched subtrees with the stored object: copy before removing.
        if (plan.remove.length) patched = structuredClone(patched);
        for (const segs of plan.remove) removeField(patched, segs, rules);
        owners = plan.entries;
      }
      break;
    }
  }
  if (!isObj(patched) || !isObj(patched.metadata)) {
    return err(badRequest("the patched object has no metadata"));
  }
  if (patched.metadata.name !== undefined && patched.metadata.name !== name) {
    return err(nameMismatch(patched.metadata.name, name));
  }
  const rv = patched.metadata.resourceVersion;
  if (rv !== undefined && rv !== current.metadata.resourceVersion) return err(conflict(def, name));
  if (type === "apply") patched.metadata.managedFields = current.metadata.managedFields;
  return store.updateFrom(def, current, patched as KObj, {
    ...writeOpts(opts, type !== "apply"),
    ...(owners ? { owners } : {}),
  });
}

function writer(def: ResourceDef, opts: PatchOptions, store: KubeStore): Writer {
  return {
    manager: opts.fieldManager ?? "unknown",
    subresource: opts.subresource ?? "",
    apiVersion: apiVersionOf(def),
    time: formatTime(store.now()),
  };
}

/**
 * The part of an applied manifest that the endpoint writes: only status through `/status`,
 * everything but status through the main resource of kinds with a status subresource.
 */
function ownedPart(def: ResourceDef, opts: PatchOptions, body: Record<string, Json>): Json {
  if (opts.subresource === "status") {
    const meta = isObj(body.metadata) ? body.metadata : {};
    const out: Record<string, Json> = { apiVersion: body.apiVersion, kind: body.kind };
    out.metadata = { name: meta.name, namespace: meta.namespace };
    if (body.status !== undefined) out.status = body.status;
    return out;
  }
  if (!def.status) return body;
  const { status: _st, ...rest } = body;
  return rest;
}

function nameMismatch(body: string, url: string): Status {
  return badRequest(`the name of the object (${body}) does not match the name on the URL (${url})`);
}

/** Store options for the write; apply records its ownership itself (`asUpdate` false). */
function writeOpts(o: PatchOptions, asUpdate: boolean): WriteOptions {
  const w: WriteOptions = {};
  if (asUpdate && o.fieldManager) w.fieldManager = o.fieldManager;
  if (o.dryRun) w.dryRun = true;
  if (o.fieldValidation) w.fieldValidation = o.fieldValidation;
  if (o.subresource) w.subresource = o.subresource;
  return w;
}
