/**
 * ValidatingAdmissionPolicies in the fake API server, over HTTP: the denial Status as the API
 * server returns it, messages and messageExpression, failurePolicy, Warn, namespaceSelector,
 * matchConditions and params by name with parameterNotFoundAction.
 */
import assert from "node:assert/strict";
import { call, withKube } from "./testing/client.ts";
import type { FakeKube } from "./server.ts";

const VAP = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies";
const VAPB = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings";

type Spec = Record<string, unknown>;

async function bind(k: FakeKube, policy: Spec, binding: Spec = {}) {
  const p = await call(k, "POST", VAP, {
    body: {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name: "small" },
      spec: {
        matchConstraints: {
          resourceRules: [{
            apiGroups: [""],
            apiVersions: ["v1"],
            operations: ["CREATE", "UPDATE"],
            resources: ["configmaps"],
          }],
        },
        ...policy,
      },
    },
  });
  assert.equal(p.status, 201, p.text);
  const b = await call(k, "POST", VAPB, {
    body: {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name: "small-binding" },
      spec: { policyName: "small", validationActions: ["Deny"], ...binding },
    },
  });
  assert.equal(b.status, 201, b.text);
}

const cm = (k: FakeKube, name: string, data: Record<string, string>, ns = "default") =>
  call(k, "POST", `/api/v1/namespaces/${ns}/configmaps`, {
    body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data },
  });

const SMALL = { expression: "size(object.data) <= 1" };

Deno.test("a failed validation without a reason is 422 Invalid with the expression and the policy named", async () => {
  await withKube({}, async (k) => {
    await bind(k, { validations: [SMALL] });
    assert.equal((await cm(k, "one", { a: "1" })).status, 201);
    const r = await cm(k, "two", { a: "1", b: "2" });
    assert.equal(r.status, 422);
    assert.equal(r.json.reason, "Invalid");
    const text = "ValidatingAdmissionPolicy 'small' with binding 'small-binding' denied request: " +
      "failed expression: size(object.data) <= 1";
    assert.equal(r.json.message, `configmaps "two" is forbidden: ${text}`);
    assert.deepEqual(r.json.details, {
      name: "two",
      kind: "configmaps",
      causes: [{ message: text }],
    });
    // Updates are checked too.
    const u = await call(k, "PATCH", "/api/v1/namespaces/default/configmaps/one", {
      body: { data: { b: "2" } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(u.status, 422);
  });
});

Deno.test("reason Forbidden gives 403, and messageExpression words the denial", async () => {
  await withKube({}, async (k) => {
    await bind(k, {
      validations: [{
        ...SMALL,
        reason: "Forbidden",
        message: "unused when the expression answers",
        messageExpression: "'configmap ' + object.metadata.name + ' has ' + " +
          "string(size(object.data)) + ' keys'",
      }],
    });
    const r = await cm(k, "two", { a: "1", b: "2" });
    assert.equal(r.status, 403);
    assert.equal(r.json.reason, "Forbidden");
    assert.match(r.json.message, /denied request: configmap two has 2 keys$/);
  });
});

Deno.test("an expression that errors denies under failurePolicy Fail and is skipped under Ignore", async () => {
  for (const failurePolicy of ["Fail", "Ignore"]) {
    await withKube({}, async (k) => {
      await bind(k, { failurePolicy, validations: [{ expression: "object.data.missing == 'x'" }] });
      const r = await cm(k, "one", { a: "1" });
      if (failurePolicy === "Ignore") assert.equal(r.status, 201, r.text);
      else {
        assert.equal(r.status, 422, r.text);
        assert.match(r.json.message, /expression 'object.data.missing == 'x'' resulted in error/);
      }
    });
  }
});

Deno.test("validationActions Warn admits with a Warning header instead of denying", async () => {
  await withKube({}, async (k) => {
    await bind(k, { validations: [SMALL] }, { validationActions: ["Warn"] });
    const r = await cm(k, "two", { a: "1", b: "2" });
    assert.equal(r.status, 201);
    assert.match(
      r.headers.get("warning") ?? "",
      /Validation failed for ValidatingAdmissionPolicy 'small' with binding 'small-binding': failed expression/,
    );
  });
});

Deno.test("a binding's namespaceSelector and the policy's matchConditions narrow what is checked", async () => {
  await withKube({}, async (k) => {
    const ns = await call(k, "POST", "/api/v1/namespaces", {
      body: {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "test", labels: { env: "test" } },
      },
    });
    assert.equal(ns.status, 201);
    assert.equal(ns.json.metadata.labels["kubernetes.io/metadata.name"], "test");
    await bind(
      k,
      {
        validations: [SMALL],
        matchConditions: [{
          name: "not-exempt",
          expression: "!object.metadata.name.startsWith('x-')",
        }],
      },
      { matchResources: { namespaceSelector: { matchLabels: { env: "test" } } } },
    );
    assert.equal((await cm(k, "two", { a: "1", b: "2" })).status, 201, "default is not selected");
    assert.equal((await cm(k, "two", { a: "1", b: "2" }, "test")).status, 422);
    assert.equal((await cm(k, "x-two", { a: "1", b: "2" }, "test")).status, 201);
  });
});

Deno.test("params by name: the policy reads the param, and a missing one denies under parameterNotFoundAction Deny", async () => {
  await withKube({}, async (k) => {
    await bind(
      k,
      {
        paramKind: { apiVersion: "v1", kind: "ConfigMap" },
        variables: [{ name: "max", expression: "int(params.data.max)" }],
        validations: [{ expression: "size(object.data) <= variables.max" }],
      },
      {
        paramRef: { name: "limits", namespace: "kube-system", parameterNotFoundAction: "Deny" },
        // The param itself must be writable while it is missing.
        matchResources: {
          namespaceSelector: {
            matchExpressions: [{
              key: "kubernetes.io/metadata.name",
              operator: "NotIn",
              values: ["kube-system"],
            }],
          },
        },
      },
    );
    const missing = await cm(k, "one", { a: "1" });
    assert.equal(missing.status, 422);
    assert.match(missing.json.message, /no params found for policy binding with `Deny`/);
    assert.equal((await cm(k, "limits", { max: "2" }, "kube-system")).status, 201);
    assert.equal((await cm(k, "two", { a: "1", b: "2" })).status, 201);
    assert.equal((await cm(k, "three", { a: "1", b: "2", c: "3" })).status, 422);
  });
});
