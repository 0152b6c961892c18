/**
 * Table tests of the fake's RBAC rule matcher, subject matching, binding resolution,
 * aggregated ClusterRoles and request-attribute parsing, against the rules Kubernetes RBAC
 * documents.
 */
import assert from "node:assert/strict";
import {
  type Attributes,
  authorize,
  type BindingObject,
  clusterRoleRules,
  type PolicyRule,
  type RbacObjects,
  type RoleObject,
  ruleAllows,
  rulesFor,
  subjectMatches,
  type UserInfo,
} from "./rbac.ts";
import { forbiddenStatus, requestAttributes } from "./request_info.ts";

const res = (
  verb: string,
  group: string,
  resource: string,
  more: { subresource?: string; namespace?: string; name?: string } = {},
): Attributes => ({ resourceRequest: true, verb, group, resource, ...more });
const path = (verb: string, p: string): Attributes => ({
  resourceRequest: false,
  verb,
  path: p,
});

Deno.test("a rule allows a request only when verb, group, resource and name all match", () => {
  const cases: [string, PolicyRule, Attributes, boolean][] = [
    [
      "exact match",
      { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
      res("list", "", "pods"),
      true,
    ],
    [
      "other verb",
      { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
      res("delete", "", "pods"),
      false,
    ],
    [
      "verb *",
      { apiGroups: [""], resources: ["pods"], verbs: ["*"] },
      res("delete", "", "pods"),
      true,
    ],
    [
      "other group",
      { apiGroups: ["apps"], resources: ["pods"], verbs: ["get"] },
      res("get", "", "pods"),
      false,
    ],
    [
      "group *",
      { apiGroups: ["*"], resources: ["pods"], verbs: ["get"] },
      res("get", "x.io", "pods"),
      true,
    ],
    [
      "resource *",
      { apiGroups: [""], resources: ["*"], verbs: ["get"] },
      res("get", "", "nodes"),
      true,
    ],
    [
      "resource * covers subresources",
      { apiGroups: [""], resources: ["*"], verbs: ["create"] },
      res("create", "", "pods", { subresource: "eviction" }),
      true,
    ],
    [
      "bare resource does not cover its subresource",
      { apiGroups: [""], resources: ["pods"], verbs: ["create"] },
      res("create", "", "pods", { subresource: "eviction", name: "p" }),
      false,
    ],
    [
      "subresource rule does not cover the resource",
      { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
      res("create", "", "pods"),
      false,
    ],
    [
      "subresource rule",
      { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
      res("create", "", "pods", { subresource: "eviction", name: "p" }),
      true,
    ],
    [
      "*/scale covers any scale subresource",
      { apiGroups: ["*"], resources: ["*/scale"], verbs: ["update"] },
      res("update", "apps", "deployments", { subresource: "scale", name: "d" }),
      true,
    ],
    [
      "*/scale does not cover status",
      { apiGroups: ["*"], resources: ["*/scale"], verbs: ["update"] },
      res("update", "apps", "deployments", { subresource: "status", name: "d" }),
      false,
    ],
    [
      "pods/* is not a wildcard",
      { apiGroups: [""], resources: ["pods/*"], verbs: ["create"] },
      res("create", "", "pods", { subresource: "eviction", name: "p" }),
      false,
    ],
    [
      "resourceNames allow the named object",
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["a"] },
      res("get", "", "secrets", { name: "a" }),
      true,
    ],
    [
      "resourceNames refuse other names",
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["a"] },
      res("get", "", "secrets", { name: "b" }),
      false,
    ],
    [
      "resourceNames refuse requests without a name (list, create)",
      { apiGroups: [""], resources: ["secrets"], verbs: ["list"], resourceNames: ["a"] },
      res("list", "", "secrets"),
      false,
    ],
    [
      "path exact",
      { nonResourceURLs: ["/healthz"], verbs: ["get"] },
      path("get", "/healthz"),
      true,
    ],
    [
      "path prefix *",
      { nonResourceURLs: ["/apis/*"], verbs: ["get"] },
      path("get", "/apis/x/v1"),
      true,
    ],
    [
      "path * prefix excludes the bare path",
      { nonResourceURLs: ["/apis/*"], verbs: ["get"] },
      path("get", "/apis"),
      false,
    ],
    ["path *", { nonResourceURLs: ["*"], verbs: ["*"] }, path("post", "/anything"), true],
    [
      "path rule does not grant resources",
      { nonResourceURLs: ["*"], verbs: ["*"] },
      res("get", "", "pods"),
      false,
    ],
    [
      "resource rule does not grant paths",
      { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
      path("get", "/healthz"),
      false,
    ],
  ];
  for (const [what, rule, a, want] of cases) assert.equal(ruleAllows(rule, a), want, what);
});

Deno.test("binding subjects match users by name, groups by membership, ServiceAccounts by namespace", () => {
  const sa: UserInfo = {
    username: "system:serviceaccount:ns1:robot",
    groups: ["system:serviceaccounts", "system:serviceaccounts:ns1", "system:authenticated"],
  };
  const cases: [string, Parameters<typeof subjectMatches>, boolean][] = [
    ["user by name", [{ kind: "User", name: "alice" }, { username: "alice", groups: [] }], true],
    ["other user", [{ kind: "User", name: "alice" }, { username: "bob", groups: [] }], false],
    ["group member", [{ kind: "Group", name: "dev" }, { username: "x", groups: ["dev"] }], true],
    ["SA with namespace", [{ kind: "ServiceAccount", name: "robot", namespace: "ns1" }, sa], true],
    [
      "SA in another namespace",
      [{ kind: "ServiceAccount", name: "robot", namespace: "ns2" }, sa],
      false,
    ],
    ["SA defaulting to the binding's namespace", [
      { kind: "ServiceAccount", name: "robot" },
      sa,
      "ns1",
    ], true],
    ["SA without any namespace", [{ kind: "ServiceAccount", name: "robot" }, sa], false],
    ["a User subject with the SA's name", [{
      kind: "User",
      name: "system:serviceaccount:ns1:robot",
    }, sa], true],
    [
      "group of all SAs in a namespace",
      [{ kind: "Group", name: "system:serviceaccounts:ns1" }, sa],
      true,
    ],
  ];
  for (const [what, args, want] of cases) assert.equal(subjectMatches(...args), want, what);
});

function world(
  o: {
    clusterRoles?: RoleObject[];
    clusterRoleBindings?: BindingObject[];
    roles?: RoleObject[];
    roleBindings?: BindingObject[];
  },
): RbacObjects {
  return {
    clusterRoles: o.clusterRoles ?? [],
    clusterRoleBindings: o.clusterRoleBindings ?? [],
    roles: (ns) => (o.roles ?? []).filter((r) => r.metadata.namespace === ns),
    roleBindings: (ns) => (o.roleBindings ?? []).filter((b) => b.metadata.namespace === ns),
  };
}

const ROBOT: UserInfo = {
  username: "system:serviceaccount:apps:robot",
  groups: ["system:serviceaccounts", "system:serviceaccounts:apps", "system:authenticated"],
};
const robotSubject = { kind: "ServiceAccount", name: "robot", namespace: "apps" };

Deno.test("a RoleBinding grants its Role's rules in its own namespace only, a ClusterRoleBinding everywhere", () => {
  const w = world({
    clusterRoles: [{
      metadata: { name: "node-reader" },
      rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list"] }],
    }, {
      metadata: { name: "secret-reader" },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
    }],
    clusterRoleBindings: [{
      metadata: { name: "robot-nodes" },
      roleRef: { kind: "ClusterRole", name: "node-reader" },
      subjects: [robotSubject],
    }],
    roles: [{
      metadata: { name: "cm", namespace: "apps" },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["*"] }],
    }],
    roleBindings: [{
      metadata: { name: "robot-cm", namespace: "apps" },
      roleRef: { kind: "Role", name: "cm" },
      subjects: [{ kind: "ServiceAccount", name: "robot" }],
    }, {
      // A ClusterRole bound by a RoleBinding grants its rules in that namespace only.
      metadata: { name: "robot-secrets", namespace: "apps" },
      roleRef: { kind: "ClusterRole", name: "secret-reader" },
      subjects: [robotSubject],
    }],
  });
  const cases: [Attributes, boolean, string][] = [
    [
      res("list", "", "nodes"),
      true,
      'RBAC: allowed by ClusterRoleBinding "robot-nodes" of ClusterRole "node-reader" to ServiceAccount "robot/apps"',
    ],
    [
      res("delete", "", "configmaps", { namespace: "apps", name: "x" }),
      true,
      'RBAC: allowed by RoleBinding "robot-cm/apps" of Role "cm" to ServiceAccount "robot/apps"',
    ],
    [res("delete", "", "configmaps", { namespace: "other", name: "x" }), false, ""],
    [res("list", "", "configmaps"), false, ""],
    [
      res("get", "", "secrets", { namespace: "apps", name: "s" }),
      true,
      'RBAC: allowed by RoleBinding "robot-secrets/apps" of ClusterRole "secret-reader" to ServiceAccount "robot/apps"',
    ],
    [res("get", "", "secrets", { namespace: "kube-system", name: "s" }), false, ""],
    [res("delete", "", "nodes", { name: "n" }), false, ""],
  ];
  for (const [a, allowed, reason] of cases) {
    assert.deepEqual(authorize(w, ROBOT, a), { allowed, reason }, JSON.stringify(a));
  }
  assert.deepEqual(
    authorize(w, { username: "alice", groups: ["system:masters"] }, res("delete", "", "nodes")),
    {
      allowed: true,
      reason: "",
    },
    "system:masters is always allowed",
  );
});

Deno.test("a binding to a missing role denies with the apiserver's RBAC reason", () => {
  const w = world({
    clusterRoleBindings: [{
      metadata: { name: "b" },
      roleRef: { kind: "ClusterRole", name: "gone" },
      subjects: [robotSubject],
    }],
    roleBindings: [{
      metadata: { name: "rb", namespace: "apps" },
      roleRef: { kind: "Role", name: "missing" },
      subjects: [robotSubject],
    }],
  });
  assert.deepEqual(authorize(w, ROBOT, res("get", "", "pods", { namespace: "apps", name: "p" })), {
    allowed: false,
    reason:
      'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "missing" not found]',
  });
  assert.equal(
    forbiddenStatus(
      res("get", "", "pods", { namespace: "apps", name: "p" }),
      ROBOT.username,
      'RBAC: x "y" not found',
    )
      .message,
    'pods "p" is forbidden: User "system:serviceaccount:apps:robot" cannot get resource "pods" in API group "" in the namespace "apps": RBAC: x "y" not found',
  );
});

Deno.test("an aggregated ClusterRole holds the rules of the ClusterRoles its selectors pick", () => {
  const monitoring: RoleObject = {
    metadata: { name: "monitoring" },
    aggregationRule: {
      clusterRoleSelectors: [{ matchLabels: { "example.com/aggregate-to-monitoring": "true" } }],
    },
    rules: [],
  };
  const all: RoleObject[] = [
    monitoring,
    {
      metadata: { name: "a", labels: { "example.com/aggregate-to-monitoring": "true" } },
      rules: [{ apiGroups: [""], resources: ["services"], verbs: ["list"] }],
    },
    {
      metadata: { name: "b", labels: { "example.com/aggregate-to-monitoring": "false" } },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["list"] }],
    },
  ];
  assert.deepEqual(clusterRoleRules(monitoring, all), [
    { apiGroups: [""], resources: ["services"], verbs: ["list"] },
  ]);
  const w = world({
    clusterRoles: all,
    clusterRoleBindings: [{
      metadata: { name: "m" },
      roleRef: { kind: "ClusterRole", name: "monitoring" },
      subjects: [robotSubject],
    }],
  });
  assert.equal(authorize(w, ROBOT, res("list", "", "services")).allowed, true);
  assert.equal(authorize(w, ROBOT, res("list", "", "secrets")).allowed, false);
  const rules = rulesFor(w, ROBOT, "apps");
  assert.deepEqual(rules.resourceRules, [{
    verbs: ["list"],
    apiGroups: [""],
    resources: ["services"],
  }]);
});

Deno.test("request attributes are read from method and URL as the apiserver reads them", () => {
  const q = (s = "") => new URLSearchParams(s);
  const cases: [string, string, string, Attributes][] = [
    ["GET", "/api/v1/pods", "", res("list", "", "pods")],
    [
      "GET",
      "/api/v1/namespaces/a/pods",
      "watch=true",
      res("watch", "", "pods", { namespace: "a" }),
    ],
    [
      "GET",
      "/api/v1/namespaces/a/pods",
      "fieldSelector=metadata.name%3Dp1",
      res("list", "", "pods", { namespace: "a", name: "p1" }),
    ],
    [
      "GET",
      "/api/v1/namespaces/a",
      "",
      res("get", "", "namespaces", { namespace: "a", name: "a" }),
    ],
    [
      "PUT",
      "/api/v1/namespaces/a/finalize",
      "",
      res("update", "", "namespaces", { namespace: "a", name: "a", subresource: "finalize" }),
    ],
    [
      "POST",
      "/api/v1/namespaces/a/pods/p/eviction",
      "",
      res("create", "", "pods", { namespace: "a", name: "p", subresource: "eviction" }),
    ],
    ["DELETE", "/apis/x.io/v1/things", "", res("deletecollection", "x.io", "things")],
    ["HEAD", "/apis/x.io/v1/things/t", "", res("get", "x.io", "things", { name: "t" })],
    ["GET", "/api", "", path("get", "/api")],
    ["GET", "/api/v1", "", path("get", "/api/v1")],
    ["GET", "/apis/apps/v1", "", path("get", "/apis/apps/v1")],
    ["GET", "/version", "", path("get", "/version")],
    ["POST", "/logs", "", path("post", "/logs")],
  ];
  for (const [method, p, query, want] of cases) {
    const got = requestAttributes(method, p, q(query));
    if (got.resourceRequest) delete got.version;
    assert.deepEqual(got, want, `${method} ${p}?${query}`);
  }
});

Deno.test("403 messages name the resource, the user, the verb and the scope as the apiserver does", () => {
  const u = "system:serviceaccount:ns:sa";
  const cases: [Attributes, string][] = [
    [
      res("create", "", "nodes"),
      'nodes is forbidden: User "system:serviceaccount:ns:sa" cannot create resource "nodes" in API group "" at the cluster scope',
    ],
    [
      res("get", "", "secrets", { namespace: "kube-system", name: "s" }),
      'secrets "s" is forbidden: User "system:serviceaccount:ns:sa" cannot get resource "secrets" in API group "" in the namespace "kube-system"',
    ],
    [
      res("patch", "proxscale.io", "nodepools", { name: "general", subresource: "status" }),
      'nodepools.proxscale.io "general" is forbidden: User "system:serviceaccount:ns:sa" cannot patch resource "nodepools/status" in API group "proxscale.io" at the cluster scope',
    ],
    [
      path("get", "/metrics"),
      'forbidden: User "system:serviceaccount:ns:sa" cannot get path "/metrics"',
    ],
  ];
  for (const [a, msg] of cases) {
    const s = forbiddenStatus(a, u);
    assert.equal(s.code, 403);
    assert.equal(s.reason, "Forbidden");
    assert.equal(s.message, msg);
  }
});
