/**
 * The RBAC objects the fake API server starts with: the few every real cluster has and a
 * client cannot work without. Nothing else is granted; a ServiceAccount can do only what the
 * Roles and bindings applied to the fake say.
 *
 * - `cluster-admin` (everything, every path), bound to the group `system:masters` (the
 *   harness's admin identity; that group is also allowed outright by the authorizer).
 * - `system:discovery` (GET the discovery and OpenAPI paths, /version, health), bound to every
 *   authenticated user, so kubectl can discover resources as a ServiceAccount.
 * - `system:basic-user` (create SelfSubjectAccessReviews, SelfSubjectRulesReviews and
 *   SelfSubjectReviews), bound to every authenticated user: `kubectl auth can-i` and
 *   `kubectl auth whoami` work for everyone.
 * - `system:public-info-viewer` (GET /version and health), bound to authenticated and
 *   unauthenticated users.
 *
 * May import: rbac.ts (types).
 */
import type { BindingObject, PolicyRule, RoleObject } from "./rbac.ts";

const LABELS = { "kubernetes.io/bootstrapping": "rbac-defaults" };
const ANNOTATIONS = { "rbac.authorization.kubernetes.io/autoupdate": "true" };
const RBAC_V1 = "rbac.authorization.k8s.io/v1";

const HEALTH = ["/healthz", "/livez", "/readyz", "/version", "/version/"];

function clusterRole(name: string, rules: PolicyRule[]): RoleObject & Record<string, unknown> {
  return {
    apiVersion: RBAC_V1,
    kind: "ClusterRole",
    metadata: { name, labels: { ...LABELS }, annotations: { ...ANNOTATIONS } },
    rules,
  } as RoleObject & Record<string, unknown>;
}

function bindToGroups(name: string, groups: string[]): BindingObject & Record<string, unknown> {
  return {
    apiVersion: RBAC_V1,
    kind: "ClusterRoleBinding",
    metadata: { name, labels: { ...LABELS }, annotations: { ...ANNOTATIONS } },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
    subjects: groups.map((g) => ({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Group",
      name: g,
    })),
  } as BindingObject & Record<string, unknown>;
}

/** The default ClusterRoles and ClusterRoleBindings, in creation order. */
export function bootstrapRbacObjects(): {
  clusterRoles: (RoleObject & Record<string, unknown>)[];
  clusterRoleBindings: (BindingObject & Record<string, unknown>)[];
} {
  return {
    clusterRoles: [
      clusterRole("cluster-admin", [
        { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
        { nonResourceURLs: ["*"], verbs: ["*"] },
      ]),
      clusterRole("system:discovery", [{
        nonResourceURLs: ["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", ...HEALTH]
          .sort(),
        verbs: ["get"],
      }]),
      clusterRole("system:basic-user", [
        {
          apiGroups: ["authorization.k8s.io"],
          resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
          verbs: ["create"],
        },
        {
          apiGroups: ["authentication.k8s.io"],
          resources: ["selfsubjectreviews"],
          verbs: ["create"],
        },
      ]),
      clusterRole("system:public-info-viewer", [{ nonResourceURLs: HEALTH, verbs: ["get"] }]),
    ],
    clusterRoleBindings: [
      bindToGroups("cluster-admin", ["system:masters"]),
      bindToGroups("system:discovery", ["system:authenticated"]),
      bindToGroups("system:basic-user", ["system:authenticated"]),
      bindToGroups("system:public-info-viewer", [
        "system:authenticated",
        "system:unauthenticated",
      ]),
    ],
  };
}
