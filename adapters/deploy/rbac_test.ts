/**
 * Tests of rbac.ts: the authorizer built from the rules (names limit a rule, namespace rules
 * hold only in their namespace, a subresource is its own resource) and the least-privilege
 * shape of the rules themselves.
 *
 * May import: this folder, core/, adapters/.
 */
import assert from "node:assert/strict";
import {
  type AccessRequest,
  BOOTSTRAP_RULE_DOCS,
  CLUSTER_RULE_DOCS,
  CRD_NAMES,
  NAMESPACE_RULE_DOCS,
  rbacAuthorizer,
} from "./rbac.ts";

const NS = "autoscaler";
const can = rbacAuthorizer(NS);
const cm = (verb: string, extra: Partial<AccessRequest> = {}): AccessRequest => ({
  verb,
  group: "",
  resource: "configmaps",
  namespace: NS,
  ...extra,
});

Deno.test("a rule with resource names allows only those names, and no request without a name", () => {
  assert.ok(can(cm("patch", { name: "proxscale-bootstrap-tokens" })));
  assert.ok(!can(cm("patch", { name: "proxscale-settings" })));
  assert.ok(!can(cm("patch")), "a patch with no name is not a patch of the named one");
  assert.ok(can(cm("create")), "create cannot be limited to a name, so it is allowed alone");
  assert.ok(!can(cm("delete", { name: "proxscale-bootstrap-tokens" })));
});

Deno.test("namespace rules hold in the namespace the authorizer was built for, not elsewhere", () => {
  assert.ok(can(cm("get")));
  assert.ok(!can(cm("get", { namespace: "proxscale-system" })));
  const { namespace: _, ...clusterWide } = cm("get");
  assert.ok(!can(clusterWide), "a cluster-wide read of ConfigMaps is not granted");
  assert.ok(rbacAuthorizer("proxscale-system")(cm("get", { namespace: "proxscale-system" })));
});

Deno.test("a subresource is matched as resource/subresource, not as its parent", () => {
  const claim = { verb: "patch", group: "proxscale.io", resource: "nodeclaims" };
  assert.ok(can({ ...claim, subresource: "status" }));
  assert.ok(can(claim));
  const pool = { verb: "patch", group: "proxscale.io", resource: "nodepools" };
  assert.ok(can({ ...pool, subresource: "status" }));
  assert.ok(!can(pool), "a NodePool's spec is the operator's, only its status is ours");
  assert.ok(!can({ ...claim, subresource: "scale" }));
});

Deno.test("the CRD read is limited to proxscale's own five CRDs", () => {
  assert.equal(CRD_NAMES.length, 5);
  for (const name of CRD_NAMES) {
    assert.match(name, /\.proxscale\.io$/);
    assert.ok(can({
      verb: "get",
      group: "apiextensions.k8s.io",
      resource: "customresourcedefinitions",
      name,
    }));
  }
});

Deno.test("no rule uses a wildcard, reads Secrets in bulk, and each says why", () => {
  const all = [...CLUSTER_RULE_DOCS, ...NAMESPACE_RULE_DOCS, ...BOOTSTRAP_RULE_DOCS];
  for (const { rule, why } of all) {
    const text = JSON.stringify(rule);
    assert.ok(!text.includes('"*"'), text);
    if (rule.resources.includes("secrets")) {
      assert.ok(!rule.verbs.some((v) => v === "list" || v === "watch"), text);
    }
    assert.ok(why.length > 20, text);
    for (const verb of rule.verbs) assert.ok(why.includes(verb), `${verb} explained in: ${why}`);
  }
});
