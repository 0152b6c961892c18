/**
 * RBAC end to end over HTTP: a ServiceAccount gets a token by TokenRequest, a Role and
 * RoleBinding stored in the fake decide what it may do, refusals carry the apiserver's exact
 * 403 text, access reviews and SelfSubjectReview answer truthfully, and impersonation is
 * honoured only for callers allowed to impersonate.
 */
import assert from "node:assert/strict";
import { call, withKube } from "./testing/client.ts";
import type { FakeKube } from "./server.ts";

const ROBOT = "system:serviceaccount:apps:robot";

/** Namespace `apps`, ServiceAccount `robot`, a Role over pods there and its RoleBinding. */
async function robotSetup(k: FakeKube): Promise<string> {
  const ok = async (p: string, body: unknown) => {
    const r = await call(k, "POST", p, { body });
    assert.equal(r.status, 201, `${p}: ${r.text}`);
    return r.json;
  };
  await ok("/api/v1/namespaces", { metadata: { name: "apps" } });
  await ok("/api/v1/namespaces/apps/serviceaccounts", { metadata: { name: "robot" } });
  await ok("/apis/rbac.authorization.k8s.io/v1/namespaces/apps/roles", {
    metadata: { name: "pod-reader" },
    rules: [
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
    ],
  });
  await ok("/apis/rbac.authorization.k8s.io/v1/namespaces/apps/rolebindings", {
    metadata: { name: "robot-pod-reader" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
    subjects: [{ kind: "ServiceAccount", name: "robot", namespace: "apps" }],
  });
  const tr = await ok("/api/v1/namespaces/apps/serviceaccounts/robot/token", {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 3600 },
  });
  assert.equal(tr.kind, "TokenRequest");
  assert.ok(Date.parse(tr.status.expirationTimestamp) > Date.now());
  return tr.status.token;
}

Deno.test("a ServiceAccount may do what its RoleBinding grants and is refused the rest with the apiserver's 403", async () => {
  await withKube({}, async (k) => {
    const token = await robotSetup(k);
    assert.equal((await call(k, "GET", "/api/v1/namespaces/apps/pods", { token })).status, 200);
    assert.equal(
      (await call(k, "GET", "/api/v1/namespaces/apps/pods?watch=true&timeoutSeconds=0", { token }))
        .status,
      200,
    );
    const cases: [string, string, string][] = [
      [
        "GET",
        "/api/v1/namespaces/default/pods",
        'pods is forbidden: User "system:serviceaccount:apps:robot" cannot list resource "pods" in API group "" in the namespace "default"',
      ],
      [
        "POST",
        "/api/v1/nodes",
        'nodes is forbidden: User "system:serviceaccount:apps:robot" cannot create resource "nodes" in API group "" at the cluster scope',
      ],
      [
        "DELETE",
        "/api/v1/namespaces/apps/pods/p1",
        'pods "p1" is forbidden: User "system:serviceaccount:apps:robot" cannot delete resource "pods" in API group "" in the namespace "apps"',
      ],
      [
        "GET",
        "/api/v1/namespaces/kube-system/secrets",
        'secrets is forbidden: User "system:serviceaccount:apps:robot" cannot list resource "secrets" in API group "" in the namespace "kube-system"',
      ],
      [
        "GET",
        "/apis/nothing.example.com/v1/widgets",
        'widgets.nothing.example.com is forbidden: User "system:serviceaccount:apps:robot" cannot list resource "widgets" in API group "nothing.example.com" at the cluster scope',
      ],
      [
        "GET",
        "/metrics",
        'forbidden: User "system:serviceaccount:apps:robot" cannot get path "/metrics"',
      ],
    ];
    for (const [method, path, message] of cases) {
      const r = await call(k, method, path, { token, ...(method === "POST" ? { body: {} } : {}) });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.json.reason, "Forbidden");
      assert.equal(r.json.message, message);
    }
    // Discovery and the eviction subresource the Role names.
    for (const p of ["/api", "/apis", "/api/v1", "/version", "/healthz", "/openapi/v3"]) {
      assert.equal((await call(k, "GET", p, { token })).status, 200, p);
    }
    const evict = await call(k, "POST", "/api/v1/namespaces/apps/pods/ghost/eviction", {
      token,
      body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "ghost" } },
    });
    assert.equal(evict.status, 404, "allowed, then not found");
    assert.deepEqual(
      k.denials.map((d) => `${d.user} ${d.verb}`),
      ["list", "create", "delete", "list", "list", "get"].map((v) => `${ROBOT} ${v}`),
    );
  });
});

Deno.test("a ServiceAccount token stops working when its ServiceAccount is deleted, even if recreated", async () => {
  await withKube({}, async (k) => {
    const token = await robotSetup(k);
    assert.equal((await call(k, "GET", "/api/v1/namespaces/apps/pods", { token })).status, 200);
    await call(k, "DELETE", "/api/v1/namespaces/apps/serviceaccounts/robot");
    await call(k, "POST", "/api/v1/namespaces/apps/serviceaccounts", {
      body: { metadata: { name: "robot" } },
    });
    assert.equal((await call(k, "GET", "/api/v1/namespaces/apps/pods", { token })).status, 401);
    const missing = await call(k, "POST", "/api/v1/namespaces/apps/serviceaccounts/nobody/token", {
      body: { spec: {} },
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.message, 'serviceaccounts "nobody" not found');
    assert.equal(k.tokenFor("apps", "nobody").ok, false);
    const short = await call(k, "POST", "/api/v1/namespaces/apps/serviceaccounts/robot/token", {
      body: { spec: { expirationSeconds: 60 } },
    });
    assert.equal(short.status, 422);
    assert.equal(
      short.json.message,
      'TokenRequest.authentication.k8s.io "robot" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes',
    );
    const fresh = k.tokenFor("apps", "robot");
    assert.ok(fresh.ok);
    assert.equal(
      (await call(k, "GET", "/api/v1/namespaces/apps/pods", { token: fresh.value.token })).status,
      200,
    );
  });
});

const SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
const SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
const SSRR = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews";
const WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

const ssar = (attrs: Record<string, string>) => ({
  apiVersion: "authorization.k8s.io/v1",
  kind: "SelfSubjectAccessReview",
  spec: { resourceAttributes: attrs },
});

Deno.test("access reviews and SelfSubjectReview answer what the stored RBAC says", async () => {
  await withKube({}, async (k) => {
    const token = await robotSetup(k);
    const yes = await call(k, "POST", SSAR, {
      token,
      body: ssar({ verb: "list", resource: "pods", namespace: "apps" }),
    });
    assert.equal(yes.status, 201);
    assert.deepEqual(yes.json.status, {
      allowed: true,
      reason:
        'RBAC: allowed by RoleBinding "robot-pod-reader/apps" of Role "pod-reader" to ServiceAccount "robot/apps"',
    });
    const no = await call(k, "POST", SSAR, {
      token,
      body: ssar({ verb: "create", resource: "nodes" }),
    });
    assert.deepEqual(no.json.status, { allowed: false });
    const path = await call(k, "POST", SSAR, {
      token,
      body: { spec: { nonResourceAttributes: { verb: "get", path: "/apis/apps" } } },
    });
    assert.equal(path.json.status.allowed, true);

    const who = await call(k, "POST", WHOAMI, { token, body: { kind: "SelfSubjectReview" } });
    assert.equal(who.status, 201);
    const u = who.json.status.userInfo;
    assert.equal(u.username, ROBOT);
    assert.deepEqual(u.groups, [
      "system:serviceaccounts",
      "system:serviceaccounts:apps",
      "system:authenticated",
    ]);
    const sa = await call(k, "GET", "/api/v1/namespaces/apps/serviceaccounts/robot");
    assert.equal(u.uid, sa.json.metadata.uid);
    assert.match(u.extra["authentication.kubernetes.io/credential-id"][0], /^JTI=/);

    const rules = await call(k, "POST", SSRR, { token, body: { spec: { namespace: "apps" } } });
    assert.equal(rules.status, 201);
    assert.ok(
      rules.json.status.resourceRules.some((r: { resources: string[]; verbs: string[] }) =>
        r.resources.includes("pods/eviction") && r.verbs.includes("create")
      ),
    );
    assert.ok(
      rules.json.status.nonResourceRules.some((r: { nonResourceURLs: string[] }) =>
        r.nonResourceURLs.includes("/version")
      ),
    );
    assert.equal(rules.json.status.incomplete, false);
    const noNamespace = await call(k, "POST", SSRR, { token, body: { spec: {} } });
    assert.equal(noNamespace.status, 400);
    assert.equal(noNamespace.json.message, "no namespace on request");
    const elsewhere = await call(k, "POST", SSRR, {
      token,
      body: { spec: { namespace: "default" } },
    });
    assert.ok(
      !elsewhere.json.status.resourceRules.some((r: { resources: string[] }) =>
        r.resources.includes("pods")
      ),
    );

    // SubjectAccessReview: the robot may not ask about others; the admin may.
    const sar = {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: ROBOT,
        groups: ["system:serviceaccounts", "system:serviceaccounts:apps"],
        resourceAttributes: { verb: "get", resource: "pods", namespace: "apps", name: "p" },
      },
    };
    const denied = await call(k, "POST", SAR, { token, body: sar });
    assert.equal(denied.status, 403);
    assert.equal(
      denied.json.message,
      'subjectaccessreviews.authorization.k8s.io is forbidden: User "system:serviceaccount:apps:robot" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope',
    );
    const asked = await call(k, "POST", SAR, { body: sar });
    assert.equal(asked.status, 201);
    assert.equal(asked.json.status.allowed, true);
    const noUser = await call(k, "POST", SAR, {
      body: { spec: { resourceAttributes: { verb: "get", resource: "pods" } } },
    });
    assert.equal(noUser.status, 422);
  });
});

Deno.test("impersonation is honoured for admins and refused with a 403 for a ServiceAccount", async () => {
  await withKube({}, async (k) => {
    const token = await robotSetup(k);
    const as = (headers: Record<string, string>, path: string, tok?: string) =>
      fetch(k.url + path, {
        headers: { authorization: `Bearer ${tok ?? k.token}`, ...headers },
      }).then(async (r) => ({ status: r.status, json: await r.json() }));
    const asRobot = { "impersonate-user": ROBOT };
    assert.equal((await as(asRobot, "/api/v1/namespaces/apps/pods")).status, 200);
    const refused = await as(asRobot, "/api/v1/namespaces/default/pods");
    assert.equal(refused.status, 403);
    assert.equal(
      refused.json.message,
      'pods is forbidden: User "system:serviceaccount:apps:robot" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    const who = await fetch(k.url + WHOAMI, {
      method: "POST",
      headers: {
        authorization: `Bearer ${k.token}`,
        "content-type": "application/json",
        ...asRobot,
      },
      body: "{}",
    }).then((r) => r.json());
    assert.deepEqual(who.status.userInfo, {
      username: ROBOT,
      groups: ["system:serviceaccounts", "system:serviceaccounts:apps", "system:authenticated"],
    });
    const withGroup = await fetch(k.url + WHOAMI, {
      method: "POST",
      headers: {
        authorization: `Bearer ${k.token}`,
        "content-type": "application/json",
        "impersonate-user": "jane",
        "impersonate-group": "dev",
        "impersonate-extra-scopes": "view",
      },
      body: "{}",
    }).then((r) => r.json());
    assert.deepEqual(withGroup.status.userInfo, {
      username: "jane",
      groups: ["dev", "system:authenticated"],
      extra: { scopes: ["view"] },
    });

    const byRobot = await as({ "impersonate-user": "alice" }, "/api/v1/nodes", token);
    assert.equal(byRobot.status, 403);
    assert.equal(
      byRobot.json.message,
      'users "alice" is forbidden: User "system:serviceaccount:apps:robot" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    const saByRobot = await as(
      { "impersonate-user": "system:serviceaccount:kube-system:default" },
      "/api/v1/nodes",
      token,
    );
    assert.equal(
      saByRobot.json.message,
      'serviceaccounts "default" is forbidden: User "system:serviceaccount:apps:robot" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"',
    );
    assert.equal((await as({ "impersonate-group": "dev" }, "/api/v1/nodes")).status, 500);
    assert.deepEqual(
      k.denials.slice(-2).map((d) => d.resourceRequest && `${d.user} ${d.verb} ${d.resource}`),
      [`${ROBOT} impersonate users`, `${ROBOT} impersonate serviceaccounts`],
    );
  });
});

Deno.test("a LocalSubjectAccessReview answers in its namespace only, and a TokenReview names the token's user", async () => {
  await withKube({}, async (k) => {
    const token = await robotSetup(k);
    const lsar = (ns: string, attrsNs: string) =>
      call(k, "POST", `/apis/authorization.k8s.io/v1/namespaces/${ns}/localsubjectaccessreviews`, {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "LocalSubjectAccessReview",
          metadata: { namespace: ns },
          spec: {
            user: ROBOT,
            resourceAttributes: { verb: "list", resource: "pods", namespace: attrsNs },
          },
        },
      });
    const here = await lsar("apps", "apps");
    assert.equal(here.status, 201);
    assert.equal(here.json.metadata.namespace, "apps");
    assert.equal(here.json.status.allowed, true);
    assert.equal((await lsar("default", "default")).json.status.allowed, false);
    const mismatch = await lsar("apps", "default");
    assert.equal(mismatch.status, 422);
    assert.match(mismatch.json.message, /must match metadata\.namespace/);

    const review = (t: string) =>
      call(k, "POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: t } },
      });
    const good = await review(token);
    assert.equal(good.json.status.authenticated, true);
    assert.equal(good.json.status.user.username, ROBOT);
    const bad = await review("not-a-token");
    assert.equal(bad.json.status.authenticated, undefined);
    assert.equal(bad.json.status.error, "invalid bearer token");
  });
});
