/**
 * RBAC escalation prevention: rule coverage as the RBAC storage computes it, and over HTTP a
 * ServiceAccount that may manage Roles in its namespace can grant only what it holds, bind
 * only roles it holds (or has `bind` on), and is told the missing rules in the apiserver's
 * words.
 */
import assert from "node:assert/strict";
import { compactString, ruleCovers, uncovered } from "./rbac_escalation.ts";
import type { PolicyRule } from "./rbac.ts";
import { call, withKube } from "./testing/client.ts";

Deno.test("a held rule covers a broken-down rule only when verb, group, resource, name and path are covered", () => {
  const cases: [string, PolicyRule, PolicyRule, boolean][] = [
    ["same", { apiGroups: [""], resources: ["pods"], verbs: ["get"] }, {
      apiGroups: [""],
      resources: ["pods"],
      verbs: ["get"],
    }, true],
    ["wildcards", { apiGroups: ["*"], resources: ["*"], verbs: ["*"] }, {
      apiGroups: ["x"],
      resources: ["y/z"],
      verbs: ["w"],
    }, true],
    ["*/scale covers a scale subresource", {
      apiGroups: ["apps"],
      resources: ["*/scale"],
      verbs: ["get"],
    }, {
      apiGroups: ["apps"],
      resources: ["deployments/scale"],
      verbs: ["get"],
    }, true],
    [
      "named rights do not cover unnamed ones",
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["a"],
        verbs: ["get"],
      },
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
      false,
    ],
    [
      "unnamed rights cover named ones",
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["a"],
        verbs: ["get"],
      },
      true,
    ],
    ["path prefix", { nonResourceURLs: ["/apis/*"], verbs: ["get"] }, {
      nonResourceURLs: ["/apis/x"],
      verbs: ["get"],
    }, true],
    ["other verb", { apiGroups: [""], resources: ["pods"], verbs: ["get"] }, {
      apiGroups: [""],
      resources: ["pods"],
      verbs: ["delete"],
    }, false],
  ];
  for (const [what, owner, sub, want] of cases) assert.equal(ruleCovers(owner, sub), want, what);
  const missing = uncovered([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }], [{
    apiGroups: [""],
    resources: ["pods", "secrets"],
    verbs: ["get", "delete"],
  }]);
  assert.deepEqual(missing.map(compactString), [
    '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
    '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}',
    '{APIGroups:[""], Resources:["secrets"], Verbs:["delete"]}',
  ]);
});

const RBAC = "/apis/rbac.authorization.k8s.io/v1";
const GROUPS = '["system:serviceaccounts" "system:serviceaccounts:apps" "system:authenticated"]';

Deno.test("a ServiceAccount that manages Roles grants only what it holds, in the apiserver's words", async () => {
  await withKube({}, async (k) => {
    const admin = async (p: string, body: unknown) =>
      assert.equal((await call(k, "POST", p, { body })).status, 201, p);
    await admin("/api/v1/namespaces", { metadata: { name: "apps" } });
    await admin("/api/v1/namespaces/apps/serviceaccounts", { metadata: { name: "robot" } });
    await admin(`${RBAC}/namespaces/apps/roles`, {
      metadata: { name: "role-manager" },
      rules: [
        {
          // Not "*": that would include the escalate and bind verbs.
          apiGroups: ["rbac.authorization.k8s.io"],
          resources: ["roles", "rolebindings"],
          verbs: ["get", "list", "create", "update", "patch"],
        },
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
      ],
    });
    await admin(`${RBAC}/namespaces/apps/rolebindings`, {
      metadata: { name: "robot-role-manager" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "role-manager" },
      subjects: [{ kind: "ServiceAccount", name: "robot", namespace: "apps" }],
    });
    await admin(`${RBAC}/clusterroles`, {
      metadata: { name: "pod-lister" },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }],
    });
    const t = k.tokenFor("apps", "robot");
    assert.ok(t.ok);
    const token = t.value.token;

    const held = await call(k, "POST", `${RBAC}/namespaces/apps/roles`, {
      token,
      body: {
        metadata: { name: "reader" },
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }],
      },
    });
    assert.equal(held.status, 201, held.text);

    const more = await call(k, "POST", `${RBAC}/namespaces/apps/roles`, {
      token,
      body: {
        metadata: { name: "greedy" },
        rules: [{
          apiGroups: [""],
          resources: ["pods", "secrets"],
          verbs: ["get", "list", "delete"],
        }],
      },
    });
    assert.equal(more.status, 403);
    assert.equal(
      more.json.message,
      `roles.rbac.authorization.k8s.io "greedy" is forbidden: user "system:serviceaccount:apps:robot" (groups=${GROUPS}) is attempting to grant RBAC permissions not currently held:\n` +
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n' +
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list" "delete"]}',
    );

    // Widening a held Role by a patch is refused the same way.
    const widened = await call(k, "PATCH", `${RBAC}/namespaces/apps/roles/reader`, {
      token,
      contentType: "application/merge-patch+json",
      body: { rules: [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["create"] }] },
    });
    assert.equal(widened.status, 403);
    assert.match(widened.json.message, /Resources:\["deployments"\], Verbs:\["create"\]\}$/);

    const bindHeld = await call(k, "POST", `${RBAC}/namespaces/apps/rolebindings`, {
      token,
      body: {
        metadata: { name: "others-list-pods" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "pod-lister" },
        subjects: [{ kind: "Group", name: "dev" }],
      },
    });
    assert.equal(bindHeld.status, 201, bindHeld.text);
    const bindAdmin = await call(k, "POST", `${RBAC}/namespaces/apps/rolebindings`, {
      token,
      body: {
        metadata: { name: "me-admin" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "cluster-admin",
        },
        subjects: [{ kind: "ServiceAccount", name: "robot", namespace: "apps" }],
      },
    });
    assert.equal(bindAdmin.status, 403);
    assert.match(
      bindAdmin.json.message,
      /^rolebindings\.rbac\.authorization\.k8s\.io "me-admin" is forbidden: user "system:serviceaccount:apps:robot" .* not currently held:\n\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}/,
    );
    const bindMissing = await call(k, "POST", `${RBAC}/namespaces/apps/rolebindings`, {
      token,
      body: {
        metadata: { name: "ghost" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "ghost" },
        subjects: [{ kind: "Group", name: "dev" }],
      },
    });
    assert.equal(bindMissing.status, 404);
    assert.equal(bindMissing.json.message, 'role.rbac.authorization.k8s.io "ghost" not found');

    // With `bind` on cluster-admin, the binding is allowed although the rules are not held.
    await admin(`${RBAC}/namespaces/apps/roles`, {
      metadata: { name: "bind-admin" },
      rules: [{
        apiGroups: ["rbac.authorization.k8s.io"],
        resources: ["clusterroles"],
        verbs: ["bind"],
        resourceNames: ["cluster-admin"],
      }],
    });
    await admin(`${RBAC}/namespaces/apps/rolebindings`, {
      metadata: { name: "robot-bind-admin" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "bind-admin" },
      subjects: [{ kind: "ServiceAccount", name: "robot", namespace: "apps" }],
    });
    const bound = await call(k, "POST", `${RBAC}/namespaces/apps/rolebindings`, {
      token,
      body: {
        metadata: { name: "me-admin" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "cluster-admin",
        },
        subjects: [{ kind: "ServiceAccount", name: "robot", namespace: "apps" }],
      },
    });
    assert.equal(bound.status, 201, bound.text);
    // The admin is never checked.
    const byAdmin = await call(k, "POST", `${RBAC}/clusterroles`, {
      body: {
        metadata: { name: "anything" },
        rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
      },
    });
    assert.equal(byAdmin.status, 201);
  });
});
