/**
 * MutatingAdmissionPolicies (admissionregistration.k8s.io/v1alpha1, Kubernetes 1.32 where
 * enabled) in the fake API server, evaluated from their CEL source before validation: each
 * MutatingAdmissionPolicyBinding names a policy; when its matchConstraints, the binding's
 * matchResources and every matchCondition take the request, each mutation runs once per param
 * (paramRef by name or selector), in order, on the object as the previous ones left it. A
 * JSONPatch mutation's expression yields a list of JSONPatch{op, path, value} applied as RFC
 * 6902 says (add, replace, remove, test); an ApplyConfiguration's yields an Object{...} merged
 * into the object (maps merged key by key, lists and scalars replaced). An expression that errors
 * obeys failurePolicy (Fail denies, Ignore skips).
 *
 * May import: @bufbuild/cel, ./admission_policy.ts, ./objects.ts, ./status.ts (types).
 * Nothing from core/ or adapters/.
 */
import { isCelError, isCelList, isCelMap, isCelUint } from "@bufbuild/cel";
import {
  ADMISSION_GROUP,
  cel,
  denial,
  paramsOf,
  type PolicyRequest,
  type PolicyView,
  program,
  requestOf,
  resourcesMatch,
} from "./admission_policy.ts";
import type { KObj } from "./objects.ts";
import type { Status } from "./status.ts";

/** Version the fake serves the mutating policy kinds at (alpha in 1.32). */
export const MUTATING_VERSION = "v1alpha1";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
// deno-lint-ignore no-explicit-any
type Any = any;

/** A CEL result as JSON (ints as numbers, maps as objects). */
function toJson(v: unknown): Json {
  if (v === null || typeof v === "boolean" || typeof v === "string" || typeof v === "number") {
    return v;
  }
  if (typeof v === "bigint") return Number(v);
  if (isCelUint(v)) return Number(v.value);
  if (isCelList(v)) return [...v].map(toJson);
  if (isCelMap(v)) {
    const out: Record<string, Json> = {};
    for (const [k, x] of v.entries()) out[String(k)] = toJson(x);
    return out;
  }
  throw new Error(`cannot use ${String(v)} in a patch`);
}

const unescape = (s: string) => s.replaceAll("~1", "/").replaceAll("~0", "~");

/** Applies one RFC 6902 operation in place; a message when it cannot. */
function applyOp(doc: Any, op: Any): string | undefined {
  const path = String(op?.path ?? "");
  if (!path.startsWith("/")) return `invalid JSON pointer "${path}"`;
  const parts = path.slice(1).split("/").map(unescape);
  const last = parts.pop()!;
  let parent = doc;
  for (const p of parts) {
    parent = Array.isArray(parent) ? parent[Number(p)] : parent?.[p];
    if (parent === undefined || parent === null || typeof parent !== "object") {
      return `path "${path}" does not exist`;
    }
  }
  const kind = op?.op;
  if (Array.isArray(parent)) {
    const at = last === "-" ? parent.length : Number(last);
    if (!Number.isInteger(at) || at < 0 || at > parent.length) return `bad index in "${path}"`;
    if (kind === "add") parent.splice(at, 0, structuredClone(op.value));
    else if (kind === "replace") parent[at] = structuredClone(op.value);
    else if (kind === "remove") parent.splice(at, 1);
    else if (kind === "test") {
      if (JSON.stringify(parent[at]) !== JSON.stringify(op.value)) {
        return `test failed at "${path}"`;
      }
    } else return `unsupported op ${kind}`;
    return undefined;
  }
  if (kind === "add" || kind === "replace") {
    if (kind === "replace" && !(last in parent)) return `path "${path}" does not exist`;
    parent[last] = structuredClone(op.value);
  } else if (kind === "remove") {
    if (!(last in parent)) return `path "${path}" does not exist`;
    delete parent[last];
  } else if (kind === "test") {
    if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) {
      return `test failed at "${path}"`;
    }
  } else return `unsupported op ${kind}`;
  return undefined;
}

/** Server-side-apply-like merge of an apply configuration: maps merge, the rest replaces. */
function merge(into: Any, from: Any): Any {
  if (from === null || typeof from !== "object" || Array.isArray(from)) return from;
  const out = into && typeof into === "object" && !Array.isArray(into) ? into : {};
  for (const [k, v] of Object.entries(from)) out[k] = merge(out[k], v);
  return out;
}

/** The object after every matching mutating policy, or the Status that stops the request. */
export function applyMutatingPolicies(
  view: PolicyView,
  req: PolicyRequest,
): { object: KObj; denied?: Status } {
  const bindings = view.all(`mutatingadmissionpolicybindings.${ADMISSION_GROUP}`);
  if (!bindings.length) return { object: req.object };
  let object: KObj = structuredClone(req.object);
  const sorted = [...bindings].sort((a, b) => a.metadata.name! < b.metadata.name! ? -1 : 1);
  for (const binding of sorted) {
    const policy = view.get(
      `mutatingadmissionpolicies.${ADMISSION_GROUP}`,
      undefined,
      binding.spec?.policyName,
    );
    if (!policy) continue;
    const current = { ...req, object };
    const { ns, request } = requestOf(view, current);
    if (!resourcesMatch(policy.spec?.matchConstraints, current, ns)) continue;
    if (!resourcesMatch(binding.spec?.matchResources, current, ns)) continue;
    const failOpen = policy.spec?.failurePolicy === "Ignore";
    const deny = (message: string) =>
      denial(
        current,
        "Invalid",
        `MutatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}' denied request: ${message}`,
      );
    let params: (KObj | undefined)[] = [undefined];
    if (policy.spec?.paramKind) {
      const found = paramsOf(view, policy, binding, current);
      if (!found) {
        if (binding.spec?.paramRef?.parameterNotFoundAction === "Deny") {
          return {
            object,
            denied: deny("no params found for policy binding with `Deny` parameterNotFoundAction"),
          };
        }
        continue;
      }
      params = found;
    }
    for (const param of params) {
      const args: Record<string, unknown> = {
        object: cel(object),
        oldObject: cel(req.oldObject),
        request: cel(request),
        namespaceObject: cel(ns),
        params: cel(param),
        authorizer: null,
      };
      const vars: Record<string, unknown> = {};
      args.variables = vars;
      let failed: string | undefined;
      let matched = true;
      for (const mc of policy.spec?.matchConditions ?? []) {
        const p = program(String(mc.expression ?? ""));
        const r = p.ok ? p.run(args) : new Error(p.error);
        if (r === false) matched = false;
        else if (r !== true) failed = `failed to evaluate matchCondition '${mc.name}'`;
      }
      if (!matched) continue;
      for (const v of policy.spec?.variables ?? []) {
        if (failed) break;
        const p = program(String(v.expression ?? ""));
        const r = p.ok ? p.run(args) : new Error(p.error);
        if (r instanceof Error || isCelError(r)) {
          failed = `variable '${v.name}' resulted in error: ${(r as Error).message}`;
        } else vars[v.name] = r;
      }
      for (const m of policy.spec?.mutations ?? []) {
        if (failed) break;
        const json = m.patchType === "JSONPatch";
        const expr = String(
          (json ? m.jsonPatch?.expression : m.applyConfiguration?.expression) ?? "",
        );
        const p = program(expr);
        const r = p.ok ? p.run(args) : new Error(p.error);
        if (r instanceof Error || isCelError(r)) {
          failed = `expression '${expr}' resulted in error: ${(r as Error).message}`;
          break;
        }
        let value: Json;
        try {
          value = toJson(r);
        } catch (e) {
          failed = (e as Error).message;
          break;
        }
        const next = structuredClone(object);
        if (json) {
          for (const op of Array.isArray(value) ? value : []) {
            failed = applyOp(next, op);
            if (failed) break;
          }
        } else merge(next, value);
        if (failed) break;
        object = next;
        args.object = cel(object);
      }
      if (failed && !failOpen) return { object, denied: deny(failed) };
    }
  }
  return { object };
}
