/**
 * ValidatingAdmissionPolicies in the fake API server, evaluated from their CEL source as the
 * apiserver's admission plugin does: each ValidatingAdmissionPolicyBinding names a policy; a
 * write is checked when the policy's matchConstraints and the binding's matchResources match it
 * (resourceRules, excludeResourceRules, namespaceSelector), every matchCondition holds, and, with
 * a paramKind, once per parameter object the binding's paramRef selects (by name or selector).
 * Variables are evaluated in order and bound as `variables`; each validation's expression must
 * be true, or the request is denied (validationActions Deny) with the validation's message or
 * messageExpression, the reason it names (default Invalid) and its HTTP code. An expression
 * that errors obeys failurePolicy (Fail denies, Ignore skips).
 *
 * May import: ./cel.ts, ./resources.ts, ./selectors.ts, ./status.ts, ./objects.ts (types).
 * Nothing from core/ or adapters/.
 */
import { isCelError } from "@bufbuild/cel";
import { celValue, compileExpression } from "./cel.ts";
import type { KObj } from "./objects.ts";
import type { ResourceDef } from "./resources.ts";
import { type LabelSelector, matchLabelSelector } from "./selectors.ts";
import { failure, qualifiedResource, type Status } from "./status.ts";

/** Group of the policy kinds. */
export const ADMISSION_GROUP = "admissionregistration.k8s.io";

/** What policy evaluation reads from the store. */
export type PolicyView = {
  /** Every object of a resource given by `plural.group` (no copies needed: read only). */
  all(ref: string): KObj[];
  /** One object, or undefined. */
  get(ref: string, namespace: string | undefined, name: string): KObj | undefined;
  /** Every served resource definition. */
  resources(): ResourceDef[];
};

/** The request being admitted. */
export type PolicyRequest = {
  def: ResourceDef;
  operation: "CREATE" | "UPDATE";
  object: KObj;
  oldObject?: KObj | undefined;
  user?: { username: string; groups: string[] } | undefined;
  subresource?: string | undefined;
};

/** The policies' verdict: a Status when denied, and Warning header texts. */
export type PolicyVerdict = { denied?: Status; warnings: string[] };

// deno-lint-ignore no-explicit-any
type Any = any;

const ARG_NAMES = [
  "object",
  "oldObject",
  "request",
  "params",
  "namespaceObject",
  "variables",
  "authorizer",
];

type Compiled = ReturnType<typeof compileExpression>;
const programs = new Map<string, Compiled>();

/** An expression of a policy compiled once (with object construction read as map literals). */
export function program(source: string): Compiled {
  let p = programs.get(source);
  if (!p) {
    programs.set(source, p = compileExpression(source, ARG_NAMES, { objectLiterals: true }));
  }
  return p;
}

/** A CEL value of an untyped JSON object (integers as int, maps as maps). */
export const cel = (v: unknown) =>
  v === undefined || v === null ? null : celValue(v as never, undefined);

function anyOf(list: unknown, want: string): boolean {
  return Array.isArray(list) && (list.includes("*") || list.includes(want));
}

function ruleMatches(rule: Any, req: PolicyRequest): boolean {
  const d = req.def;
  const res = req.subresource ? `${d.plural}/${req.subresource}` : d.plural;
  const resources: string[] = rule?.resources ?? [];
  const resOk = resources.some((r) =>
    r === "*" && !req.subresource || r === "*/*" || r === res ||
    (r === `*/${req.subresource}` && !!req.subresource) ||
    (r === `${d.plural}/*` && !!req.subresource)
  );
  return anyOf(rule?.apiGroups, d.group) && anyOf(rule?.apiVersions, d.version) &&
    anyOf(rule?.operations, req.operation) && resOk;
}

function namespaceMatches(sel: LabelSelector | undefined, ns: KObj | undefined): boolean {
  if (!sel) return true;
  // Cluster-scoped objects are not filtered by a namespace selector.
  if (!ns) return true;
  return matchLabelSelector(sel, ns.metadata.labels ?? {});
}

/** Do a policy's matchConstraints or a binding's matchResources take this request? */
export function resourcesMatch(m: Any, req: PolicyRequest, ns: KObj | undefined): boolean {
  if (!m) return true;
  if (Array.isArray(m.resourceRules) && !m.resourceRules.some((r: Any) => ruleMatches(r, req))) {
    return false;
  }
  if (
    Array.isArray(m.excludeResourceRules) &&
    m.excludeResourceRules.some((r: Any) => ruleMatches(r, req))
  ) {
    return false;
  }
  if (req.def.namespaced && !namespaceMatches(m.namespaceSelector, ns)) return false;
  return true;
}

/** `pods "p" is forbidden: ...` with the code the reason maps to, as the plugin answers. */
export function denial(req: PolicyRequest, reason: string, text: string): Status {
  const code = reason === "Forbidden"
    ? 403
    : reason === "Unauthorized"
    ? 401
    : reason === "RequestEntityTooLarge"
    ? 413
    : reason === "Invalid"
    ? 422
    : 400;
  const name = req.object.metadata?.name ?? "";
  const details: NonNullable<Status["details"]> = { name };
  if (req.def.group) details.group = req.def.group;
  details.kind = req.def.plural;
  details.causes = [{ message: text }];
  return failure(
    code,
    reason,
    `${qualifiedResource(req.def)} "${name}" is forbidden: ${text}`,
    details,
  );
}

type Outcome = { ok: true } | { ok: false; reason: string; message: string } | {
  error: string;
};

function evaluate(policy: Any, args: Record<string, unknown>): Outcome {
  const vars: Record<string, unknown> = {};
  args.variables = vars;
  for (const v of policy.spec?.variables ?? []) {
    const p = program(String(v.expression ?? ""));
    if (!p.ok) return { error: `variable '${v.name}' compilation failed: ${p.error}` };
    const r = p.run(args);
    if (r instanceof Error || isCelError(r)) {
      return { error: `variable '${v.name}' resulted in error: ${(r as Error).message}` };
    }
    vars[v.name] = r;
  }
  for (const val of policy.spec?.validations ?? []) {
    const expr = String(val.expression ?? "");
    const p = program(expr);
    if (!p.ok) return { error: `compilation error: ${p.error}` };
    const r = p.run(args);
    if (r instanceof Error || isCelError(r)) {
      return { error: `expression '${expr}' resulted in error: ${(r as Error).message}` };
    }
    if (r === true) continue;
    if (r !== false) return { error: `expression '${expr}' did not evaluate to a bool` };
    let message = typeof val.message === "string" && val.message
      ? val.message
      : `failed expression: ${expr}`;
    if (typeof val.messageExpression === "string") {
      const m = program(val.messageExpression);
      const text = m.ok ? m.run(args) : undefined;
      if (typeof text === "string" && text.trim() !== "" && !text.includes("\n")) {
        message = text.trim();
      }
    }
    return { ok: false, reason: typeof val.reason === "string" ? val.reason : "Invalid", message };
  }
  return { ok: true };
}

function paramDef(view: PolicyView, paramKind: Any): ResourceDef | undefined {
  const [group, version] = String(paramKind?.apiVersion ?? "").includes("/")
    ? String(paramKind.apiVersion).split("/")
    : ["", String(paramKind?.apiVersion ?? "")];
  return view.resources().find((d) =>
    d.group === group && d.version === version && d.kind === paramKind?.kind
  );
}

/** The params a binding selects, or undefined when none can be found. */
export function paramsOf(
  view: PolicyView,
  policy: Any,
  binding: Any,
  req: PolicyRequest,
): KObj[] | undefined {
  const def = paramDef(view, policy.spec.paramKind);
  const ref = binding.spec?.paramRef;
  if (!def || !ref) return undefined;
  const key = def.group ? `${def.plural}.${def.group}` : def.plural;
  const ns = def.namespaced ? (ref.namespace ?? req.object.metadata?.namespace) : undefined;
  if (typeof ref.name === "string" && ref.name) {
    const o = view.get(key, ns, ref.name);
    return o ? [o] : undefined;
  }
  const found = view.all(key).filter((o) =>
    (!def.namespaced || o.metadata.namespace === ns) &&
    matchLabelSelector(ref.selector ?? {}, o.metadata.labels ?? {})
  );
  return found.length ? found : undefined;
}

/** The request's namespace object and the `request` variable policies see. */
export function requestOf(
  view: PolicyView,
  req: PolicyRequest,
): { ns: KObj | undefined; request: Record<string, unknown> } {
  const nsName = req.def.namespaced ? req.object.metadata?.namespace : undefined;
  const ns = nsName ? view.get("namespaces", undefined, nsName) : undefined;
  const request = {
    kind: { group: req.def.group, version: req.def.version, kind: req.def.kind },
    resource: { group: req.def.group, version: req.def.version, resource: req.def.plural },
    name: req.object.metadata?.name ?? "",
    namespace: nsName ?? "",
    operation: req.operation,
    userInfo: { username: req.user?.username ?? "", groups: req.user?.groups ?? [] },
    ...(req.subresource ? { subResource: req.subresource } : {}),
  };
  return { ns, request };
}

/** Runs every bound policy that matches the request; the first Deny decides. */
export function checkAdmissionPolicies(view: PolicyView, req: PolicyRequest): PolicyVerdict {
  const warnings: string[] = [];
  const bindings = view.all(`validatingadmissionpolicybindings.${ADMISSION_GROUP}`);
  if (!bindings.length) return { warnings };
  const { ns, request } = requestOf(view, req);
  const base = {
    object: cel(req.object),
    oldObject: cel(req.oldObject),
    request: cel(request),
    namespaceObject: cel(ns),
    authorizer: null,
  };
  for (
    const binding of [...bindings].sort((a, b) => a.metadata.name! < b.metadata.name! ? -1 : 1)
  ) {
    const policy = view.get(
      `validatingadmissionpolicies.${ADMISSION_GROUP}`,
      undefined,
      binding.spec?.policyName,
    );
    if (!policy) continue;
    if (!resourcesMatch(policy.spec?.matchConstraints, req, ns)) continue;
    if (!resourcesMatch(binding.spec?.matchResources, req, ns)) continue;
    const failOpen = policy.spec?.failurePolicy === "Ignore";
    const actions: string[] = binding.spec?.validationActions ?? [];
    const prefix =
      `ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}' denied request: `;
    const decide = (reason: string, message: string): Status | undefined => {
      if (actions.includes("Warn")) {
        warnings.push(
          `Validation failed for ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}': ${message}`,
        );
      }
      return actions.includes("Deny") ? denial(req, reason, prefix + message) : undefined;
    };
    let params: (KObj | undefined)[] = [undefined];
    if (policy.spec?.paramKind) {
      const found = paramsOf(view, policy, binding, req);
      if (!found) {
        if (binding.spec?.paramRef?.parameterNotFoundAction === "Deny") {
          const d = decide(
            "Invalid",
            "no params found for policy binding with `Deny` parameterNotFoundAction",
          );
          if (d) return { denied: d, warnings };
        }
        continue;
      }
      params = found;
    }
    for (const param of params) {
      const args: Record<string, unknown> = { ...base, params: cel(param) };
      let matched = true;
      for (const mc of policy.spec?.matchConditions ?? []) {
        const p = program(String(mc.expression ?? ""));
        const r = p.ok ? p.run(args) : new Error(p.error);
        if (r === false) matched = false;
        else if (r !== true && !failOpen) {
          const d = decide("Invalid", `failed to evaluate matchCondition '${mc.name}'`);
          if (d) return { denied: d, warnings };
        }
      }
      if (!matched) continue;
      const out = evaluate(policy, args);
      if ("error" in out) {
        if (failOpen) continue;
        const d = decide("Invalid", out.error);
        if (d) return { denied: d, warnings };
        continue;
      }
      if (!out.ok) {
        const d = decide(out.reason, out.message);
        if (d) return { denied: d, warnings };
      }
    }
  }
  return { warnings };
}
