/**
 * RBAC's escalation prevention, as the rbac.authorization.k8s.io storage enforces it: a user
 * may write a Role or ClusterRole only with rules it already holds (where the role applies),
 * and a binding only to a role whose rules it holds, unless it is in `system:masters` or the
 * authorizer allows it the `escalate` verb (roles) or the `bind` verb (bindings) on that role.
 * A ClusterRole with an aggregationRule needs full authority. Refusals are 403s worded as the
 * apiserver words them, listing the missing rules.
 *
 * May import: rbac.ts, status.ts.
 */
import {
  type Attributes,
  type Decision,
  MASTERS,
  type PolicyRule,
  type RulesReview,
  type UserInfo,
} from "./rbac.ts";
import { failure, type Status } from "./status.ts";

const has = (xs: string[] | undefined, v: string) => (xs ?? []).includes(v);

/** Splits rules into one-verb, one-group, one-resource (and one-name) rules. */
export function breakdownRules(rules: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const r of rules) {
    for (const group of r.apiGroups ?? []) {
      for (const resource of r.resources ?? []) {
        for (const verb of r.verbs ?? []) {
          const names = r.resourceNames ?? [];
          if (names.length === 0) {
            out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
          }
          for (const n of names) {
            out.push({
              apiGroups: [group],
              resources: [resource],
              resourceNames: [n],
              verbs: [verb],
            });
          }
        }
      }
    }
    for (const url of r.nonResourceURLs ?? []) {
      for (const verb of r.verbs ?? []) out.push({ nonResourceURLs: [url], verbs: [verb] });
    }
  }
  return out;
}

function resourceCovers(owner: string[], resource: string): boolean {
  if (has(owner, "*") || has(owner, resource)) return true;
  const slash = resource.indexOf("/");
  return slash >= 0 && has(owner, `*/${resource.slice(slash + 1)}`);
}

function urlCovers(owner: string, path: string): boolean {
  return owner === path || (owner.endsWith("*") && path.startsWith(owner.replace(/\*+$/, "")));
}

/** Does one held rule cover one (broken-down) rule? */
export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const all = (set: string[] | undefined, xs: string[] | undefined) =>
    has(set, "*") || (xs ?? []).every((x) => has(set, x));
  const names = (sub.resourceNames ?? []).length === 0
    ? (owner.resourceNames ?? []).length === 0
    : (owner.resourceNames ?? []).length === 0 ||
      (sub.resourceNames ?? []).every((n) => has(owner.resourceNames, n));
  return all(owner.verbs, sub.verbs) && all(owner.apiGroups, sub.apiGroups) &&
    (sub.resources ?? []).every((r) => resourceCovers(owner.resources ?? [], r)) &&
    (sub.nonResourceURLs ?? []).every((p) =>
      (owner.nonResourceURLs ?? []).some((o) => urlCovers(o, p))
    ) &&
    names;
}

/** The broken-down rules of `rules` that nothing in `owner` covers. */
export function uncovered(owner: PolicyRule[], rules: PolicyRule[]): PolicyRule[] {
  return breakdownRules(rules).filter((r) => !owner.some((o) => ruleCovers(o, r)));
}

const goQuote = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(" ")}]`;

/** A rule printed as the apiserver prints missing rights: `{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`. */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if ((r.apiGroups ?? []).length) parts.push(`APIGroups:${goQuote(r.apiGroups!)}`);
  if ((r.resources ?? []).length) parts.push(`Resources:${goQuote(r.resources!)}`);
  if ((r.nonResourceURLs ?? []).length) {
    parts.push(`NonResourceURLs:${goQuote(r.nonResourceURLs!)}`);
  }
  if ((r.resourceNames ?? []).length) parts.push(`ResourceNames:${goQuote(r.resourceNames!)}`);
  if ((r.verbs ?? []).length) parts.push(`Verbs:${goQuote(r.verbs!)}`);
  return `{${parts.join(", ")}}`;
}

/** Merges one-group, one-resource rules without names that differ only by verb. */
function compact(rules: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const byKey = new Map<string, PolicyRule>();
  for (const r of rules) {
    const simple = (r.resourceNames ?? []).length === 0 && (r.nonResourceURLs ?? []).length === 0 &&
      (r.apiGroups ?? []).length === 1 && (r.resources ?? []).length === 1;
    if (!simple) {
      out.push(r);
      continue;
    }
    const key = `${r.apiGroups![0]}\u0000${r.resources![0]}`;
    const seen = byKey.get(key);
    if (seen) {
      for (const v of r.verbs ?? []) if (!has(seen.verbs, v)) seen.verbs!.push(v);
    } else {
      const copy = {
        apiGroups: [...r.apiGroups!],
        resources: [...r.resources!],
        verbs: [...(r.verbs ?? [])],
      };
      byKey.set(key, copy);
      out.push(copy);
    }
  }
  return out;
}

/** What the escalation check needs: the authorizer and the rules a user holds in a namespace. */
export type EscalationContext = {
  decide: (u: UserInfo, a: Attributes) => Decision;
  rules: (u: UserInfo, namespace: string) => RulesReview;
};

const RBAC_GROUP = "rbac.authorization.k8s.io";

function heldRules(ctx: EscalationContext, user: UserInfo, namespace: string): PolicyRule[] {
  const r = ctx.rules(user, namespace);
  return [
    ...r.resourceRules.map((x) => ({ ...x })),
    ...r.nonResourceRules.map((x) => ({ verbs: x.verbs, nonResourceURLs: x.nonResourceURLs })),
  ];
}

function refuse(resource: string, name: string, message: string): Status {
  return failure(
    403,
    "Forbidden",
    `${resource}.${RBAC_GROUP} "${name}" is forbidden: ${message}`,
    { name, group: RBAC_GROUP, kind: resource },
  );
}

/**
 * Checks a Role or ClusterRole about to be written by `user`; undefined when allowed.
 * `namespace` is the Role's namespace, or undefined for a ClusterRole.
 */
export function checkRoleWrite(
  ctx: EscalationContext,
  user: UserInfo,
  resource: "roles" | "clusterroles",
  namespace: string | undefined,
  role: { metadata?: { name?: string }; rules?: PolicyRule[]; aggregationRule?: unknown },
): Status | undefined {
  if (user.groups.includes(MASTERS)) return undefined;
  const name = role.metadata?.name ?? "";
  const escalate = ctx.decide(user, {
    resourceRequest: true,
    verb: "escalate",
    group: RBAC_GROUP,
    resource,
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
  });
  if (escalate.allowed) return undefined;
  const owner = heldRules(ctx, user, namespace ?? "");
  const missing = uncovered(owner, role.rules ?? []);
  if (missing.length) return refuse(resource, name, notHeld(user, missing));
  if (resource === "clusterroles" && role.aggregationRule) {
    const full = [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }, {
      nonResourceURLs: ["*"],
      verbs: ["*"],
    }];
    if (uncovered(owner, full).length) {
      return refuse(
        resource,
        name,
        "must have cluster-admin privileges to use the aggregationRule",
      );
    }
  }
  return undefined;
}

/**
 * Checks a RoleBinding or ClusterRoleBinding about to be written by `user`, whose role holds
 * `roleRules` (undefined: the role does not exist, which is a 404 as on a real server).
 */
export function checkBindingWrite(
  ctx: EscalationContext,
  user: UserInfo,
  resource: "rolebindings" | "clusterrolebindings",
  namespace: string | undefined,
  binding: { metadata?: { name?: string }; roleRef?: { kind?: string; name?: string } },
  roleRules: PolicyRule[] | undefined,
): Status | undefined {
  if (user.groups.includes(MASTERS)) return undefined;
  const ref = binding.roleRef ?? {};
  const roleResource = ref.kind === "Role" ? "roles" : "clusterroles";
  const bind = ctx.decide(user, {
    resourceRequest: true,
    verb: "bind",
    group: RBAC_GROUP,
    resource: roleResource,
    ...(namespace ? { namespace } : {}),
    name: ref.name ?? "",
  });
  if (bind.allowed) return undefined;
  if (roleRules === undefined) {
    // The role lister's NotFound, named by the singular resource.
    const singular = ref.kind === "Role" ? "role" : "clusterrole";
    return failure(404, "NotFound", `${singular}.${RBAC_GROUP} "${ref.name ?? ""}" not found`, {
      name: ref.name ?? "",
      group: RBAC_GROUP,
      kind: singular,
    });
  }
  const missing = uncovered(heldRules(ctx, user, namespace ?? ""), roleRules);
  if (missing.length === 0) return undefined;
  return refuse(resource, binding.metadata?.name ?? "", notHeld(user, missing));
}

function notHeld(user: UserInfo, missing: PolicyRule[]): string {
  const lines = [...new Set(compact(missing).map(compactString))].sort();
  return `user "${user.username}" (groups=${
    goQuote(user.groups)
  }) is attempting to grant RBAC permissions not currently held:\n${lines.join("\n")}`;
}
