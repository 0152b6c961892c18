/**
 * The fake API server's RBAC authorizer, written from the RBAC rules of Kubernetes (not from
 * proxscale's own rule list, which it judges): who a request comes from (`UserInfo`), what it
 * asks (`Attributes`), how a PolicyRule matches (verbs, apiGroups, resources with
 * subresources and `*`/`*\/sub`, resourceNames, nonResourceURLs with a trailing `*`), which
 * bindings apply to a user (User, Group and ServiceAccount subjects), and the answer with the
 * apiserver's reason text. Members of `system:masters` are always allowed, as on a real
 * cluster. ClusterRoles with an `aggregationRule` get the rules of the ClusterRoles their
 * selectors pick, computed on read (a real cluster's controller writes them into the object).
 *
 * May import: nothing of the project (pure functions over plain objects).
 */

/** An authenticated (or impersonated) user, as `SelfSubjectReview` reports it. */
export type UserInfo = {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
};

/** What one request asks, as the apiserver's request-info parser describes it. */
export type Attributes =
  | {
    resourceRequest: true;
    verb: string;
    group: string;
    version?: string;
    resource: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  }
  | { resourceRequest: false; verb: string; path: string };

/** One rbac.authorization.k8s.io/v1 PolicyRule. */
export type PolicyRule = {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
};

type LabelSelector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

/** A Role or ClusterRole (the fields the authorizer reads). */
export type RoleObject = {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
  rules?: PolicyRule[];
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
};

/** One subject of a binding. */
export type Subject = { kind: string; name: string; namespace?: string; apiGroup?: string };

/** A RoleBinding or ClusterRoleBinding (the fields the authorizer reads). */
export type BindingObject = {
  metadata: { name?: string; namespace?: string };
  roleRef: { kind: string; name: string; apiGroup?: string };
  subjects?: Subject[];
};

/** The RBAC objects stored in the cluster, as the authorizer sees them. */
export type RbacObjects = {
  clusterRoles: RoleObject[];
  clusterRoleBindings: BindingObject[];
  /** Roles and RoleBindings of one namespace. */
  roles(namespace: string): RoleObject[];
  roleBindings(namespace: string): BindingObject[];
};

/** The group whose members every request is allowed for (kube-apiserver's privileged group). */
export const MASTERS = "system:masters";

/** An authorizer's answer: allowed or not, and the reason text the apiserver reports. */
export type Decision = { allowed: boolean; reason: string };

const has = (xs: string[] | undefined, v: string) => (xs ?? []).some((x) => x === "*" || x === v);

/** Does the rule name this verb (or `*`)? */
export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return has(rule.verbs, verb);
}

/** Does the rule name this API group (or `*`)? */
export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return has(rule.apiGroups, group);
}

/**
 * Does the rule name this resource? `*` matches everything, `pods/eviction` matches only that
 * subresource (never the bare `pods`), and `*\/scale` matches the scale subresource of any
 * resource.
 */
export function resourceMatches(rule: PolicyRule, resource: string, subresource?: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return (rule.resources ?? []).some((r) =>
    r === "*" || r === combined || (!!subresource && r === `*/${subresource}`)
  );
}

/** An empty resourceNames allows any name; otherwise the request must name one of them. */
export function resourceNameMatches(rule: PolicyRule, name: string | undefined): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (name !== undefined && name !== "" && names.includes(name));
}

/** `*` matches every path, `/apis/*` every path under `/apis/`, otherwise the exact path. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((u) =>
    u === "*" || u === path || (u.endsWith("*") && path.startsWith(u.slice(0, -1)))
  );
}

/** Does one rule allow the request? */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!verbMatches(rule, a.verb)) return false;
  if (!a.resourceRequest) return nonResourceURLMatches(rule, a.path);
  return apiGroupMatches(rule, a.group) && resourceMatches(rule, a.resource, a.subresource) &&
    resourceNameMatches(rule, a.name);
}

const SA_PREFIX = "system:serviceaccount:";

/** `system:serviceaccount:<ns>:<name>` → [ns, name], or undefined for other users. */
export function splitServiceAccount(username: string): [string, string] | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const parts = username.slice(SA_PREFIX.length).split(":");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return [parts[0], parts[1]];
}

/** The groups every ServiceAccount of `namespace` is in (besides system:authenticated). */
export function serviceAccountGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`];
}

/**
 * Does a binding subject name this user? A ServiceAccount subject without a namespace means
 * the binding's own namespace (RoleBindings only).
 */
export function subjectMatches(s: Subject, user: UserInfo, bindingNamespace?: string): boolean {
  switch (s.kind) {
    case "User":
      return s.name === user.username;
    case "Group":
      return user.groups.includes(s.name);
    case "ServiceAccount": {
      const ns = s.namespace || bindingNamespace;
      return !!ns && user.username === `${SA_PREFIX}${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === "ServiceAccount") {
    return `ServiceAccount "${s.name}/${s.namespace || bindingNamespace}"`;
  }
  return `${s.kind} "${s.name}"`;
}

function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, e.key);
    const inValues = present && (e.values ?? []).includes(labels[e.key]!);
    const okay = e.operator === "In"
      ? inValues
      : e.operator === "NotIn"
      ? !inValues
      : e.operator === "Exists"
      ? present
      : e.operator === "DoesNotExist"
      ? !present
      : false;
    if (!okay) return false;
  }
  return true;
}

/**
 * A ClusterRole's effective rules: its own, or for an aggregated one the rules of every other
 * ClusterRole that one of its selectors picks (an empty selector picks nothing).
 */
export function clusterRoleRules(role: RoleObject, all: RoleObject[]): PolicyRule[] {
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (!selectors) return role.rules ?? [];
  const out: PolicyRule[] = [];
  for (const other of all) {
    if (other === role || other.aggregationRule) continue;
    const labels = other.metadata.labels ?? {};
    const picked = selectors.some((s) =>
      (Object.keys(s.matchLabels ?? {}).length > 0 || (s.matchExpressions ?? []).length > 0) &&
      selectorMatches(s, labels)
    );
    if (picked) out.push(...(other.rules ?? []));
  }
  return out;
}

/** Where a rule came from, in the words the apiserver uses in `RBAC: allowed by …`. */
type Visit = (rule: PolicyRule, source: string) => boolean;

/**
 * Walks every rule that applies to `user` in `namespace` (cluster bindings always; the
 * namespace's RoleBindings when a namespace is given). `visit` returns false to stop.
 * Returns the errors met (bindings whose role does not exist), as the apiserver reports them.
 */
export function visitRules(
  objs: RbacObjects,
  user: UserInfo,
  namespace: string | undefined,
  visit: Visit,
): string[] {
  const errors: string[] = [];
  const clusterRole = (name: string) => objs.clusterRoles.find((r) => r.metadata.name === name);
  for (const b of objs.clusterRoleBindings) {
    const s = (b.subjects ?? []).find((s) => subjectMatches(s, user));
    if (!s) continue;
    const role = b.roleRef.kind === "ClusterRole" ? clusterRole(b.roleRef.name) : undefined;
    if (!role) {
      errors.push(`clusterrole.rbac.authorization.k8s.io "${b.roleRef.name}" not found`);
      continue;
    }
    const source = `ClusterRoleBinding "${b.metadata.name}" of ClusterRole "${b.roleRef.name}" to ${
      describeSubject(s, "")
    }`;
    for (const rule of clusterRoleRules(role, objs.clusterRoles)) {
      if (!visit(rule, source)) return errors;
    }
  }
  if (!namespace) return errors;
  for (const b of objs.roleBindings(namespace)) {
    const s = (b.subjects ?? []).find((s) => subjectMatches(s, user, namespace));
    if (!s) continue;
    let rules: PolicyRule[] | undefined;
    if (b.roleRef.kind === "Role") {
      const role = objs.roles(namespace).find((r) => r.metadata.name === b.roleRef.name);
      if (!role) {
        errors.push(`role.rbac.authorization.k8s.io "${b.roleRef.name}" not found`);
        continue;
      }
      rules = role.rules ?? [];
    } else {
      const role = clusterRole(b.roleRef.name);
      if (!role) {
        errors.push(`clusterrole.rbac.authorization.k8s.io "${b.roleRef.name}" not found`);
        continue;
      }
      rules = clusterRoleRules(role, objs.clusterRoles);
    }
    const source =
      `RoleBinding "${b.metadata.name}/${namespace}" of ${b.roleRef.kind} "${b.roleRef.name}" to ${
        describeSubject(s, namespace)
      }`;
    for (const rule of rules) {
      if (!visit(rule, source)) return errors;
    }
  }
  return errors;
}

/** Several errors print as `[a, b]`, one bare (the apiserver's aggregate error format). */
export function aggregateErrors(errors: string[]): string {
  return errors.length === 1 ? errors[0]! : `[${errors.join(", ")}]`;
}

/**
 * Decides a request: `system:masters` members always; everyone else when a rule of a binding
 * that names them allows it. A denial's reason is empty unless bindings point at missing
 * roles (`RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`).
 */
export function authorize(objs: RbacObjects, user: UserInfo, a: Attributes): Decision {
  if (user.groups.includes(MASTERS)) return { allowed: true, reason: "" };
  let reason = "";
  // Non-resource rules count only from cluster-wide bindings (a namespace has no paths).
  const ns = a.resourceRequest ? a.namespace : undefined;
  const errors = visitRules(objs, user, ns, (rule, source) => {
    if (!ruleAllows(rule, a)) return true;
    reason = `RBAC: allowed by ${source}`;
    return false;
  });
  if (reason) return { allowed: true, reason };
  return { allowed: false, reason: errors.length ? `RBAC: ${aggregateErrors(errors)}` : "" };
}

/** The rules a user holds in a namespace, as `SelfSubjectRulesReview` lists them. */
export type RulesReview = {
  resourceRules: {
    verbs: string[];
    apiGroups: string[];
    resources: string[];
    resourceNames?: string[];
  }[];
  nonResourceRules: { verbs: string[]; nonResourceURLs: string[] }[];
  incomplete: boolean;
  evaluationError?: string;
};

/** Every rule that applies to `user` in `namespace`, split into resource and path rules. */
export function rulesFor(objs: RbacObjects, user: UserInfo, namespace: string): RulesReview {
  const out: RulesReview = { resourceRules: [], nonResourceRules: [], incomplete: false };
  const errors = visitRules(objs, user, namespace || undefined, (rule) => {
    if ((rule.resources ?? []).length > 0) {
      const r: RulesReview["resourceRules"][number] = {
        verbs: rule.verbs ?? [],
        apiGroups: rule.apiGroups ?? [],
        resources: rule.resources ?? [],
      };
      if ((rule.resourceNames ?? []).length > 0) r.resourceNames = rule.resourceNames!;
      out.resourceRules.push(r);
    }
    if ((rule.nonResourceURLs ?? []).length > 0) {
      out.nonResourceRules.push({
        verbs: rule.verbs ?? [],
        nonResourceURLs: rule.nonResourceURLs!,
      });
    }
    return true;
  });
  // Like the real RBAC rule resolver: the list is still complete, the error says what it missed.
  if (errors.length) out.evaluationError = aggregateErrors(errors);
  return out;
}
