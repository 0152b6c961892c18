import assert from "node:assert/strict";
import { matchesNodeConstraints, matchesRequirement, matchesSelector } from "./requirements.ts";
import { untoleratedTaint } from "./taints.ts";

const labels = { zone: "a", cores: "8", role: "worker" };

Deno.test("each requirement operator behaves as Kubernetes and Karpenter define it", () => {
  assert.ok(matchesRequirement(labels, { key: "zone", operator: "In", values: ["a", "b"] }));
  assert.ok(!matchesRequirement(labels, { key: "zone", operator: "NotIn", values: ["a"] }));
  assert.ok(matchesRequirement(labels, { key: "gpu", operator: "NotIn", values: ["x"] }));
  assert.ok(matchesRequirement(labels, { key: "role", operator: "Exists" }));
  assert.ok(matchesRequirement(labels, { key: "gpu", operator: "DoesNotExist" }));
  assert.ok(matchesRequirement(labels, { key: "cores", operator: "Gt", values: ["4"] }));
  assert.ok(!matchesRequirement(labels, { key: "cores", operator: "Lt", values: ["8"] }));
  assert.ok(matchesRequirement(labels, { key: "cores", operator: "Gte", values: ["8"] }));
  assert.ok(matchesRequirement(labels, { key: "cores", operator: "Lte", values: ["8"] }));
  assert.ok(
    !matchesRequirement(labels, { key: "role", operator: "Gt", values: ["1"] }),
    "non-integer label never compares",
  );
});

Deno.test("node selector ANDs with required affinity, whose terms OR", () => {
  const terms = [
    { matchExpressions: [{ key: "zone", operator: "In" as const, values: ["b"] }] },
    { matchExpressions: [{ key: "role", operator: "Exists" as const }] },
  ];
  assert.ok(matchesNodeConstraints(labels, { role: "worker" }, terms));
  assert.ok(!matchesNodeConstraints(labels, { role: "db" }, terms));
  assert.ok(!matchesNodeConstraints(labels, undefined, [terms[0]!]));
});

Deno.test("label selectors: empty matches all, missing matches none", () => {
  assert.ok(matchesSelector({ a: "1" }, {}));
  assert.ok(!matchesSelector({ a: "1" }, undefined));
  assert.ok(
    matchesSelector({ a: "1" }, {
      matchExpressions: [{ key: "a", operator: "In", values: ["1"] }],
    }),
  );
});

Deno.test("hard taints need tolerations; PreferNoSchedule and startup taints do not", () => {
  const taints = [
    { key: "team", value: "a", effect: "NoSchedule" as const },
    { key: "soft", effect: "PreferNoSchedule" as const },
    { key: "proxscale.io/unregistered", effect: "NoExecute" as const },
  ];
  assert.equal(untoleratedTaint(taints, [])?.key, "team");
  assert.equal(
    untoleratedTaint(taints, [{ key: "team", operator: "Equal", value: "a" }]),
    undefined,
  );
  assert.equal(
    untoleratedTaint(taints, [{ key: "team", operator: "Equal", value: "b" }])?.key,
    "team",
  );
  assert.equal(untoleratedTaint(taints, [{ operator: "Exists" }]), undefined);
});
