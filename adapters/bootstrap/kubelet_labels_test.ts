/**
 * Tests of kubelet_labels.ts: which label keys a kubelet may set on its own Node at
 * registration (domain matching by whole labels, the well-known exceptions, the forbidden
 * node-restriction prefix) and the split of a label set into self-set and restricted parts.
 *
 * May import: this folder.
 */
import assert from "node:assert/strict";
import { isKubeletSettableLabel, splitNodeLabels } from "./kubelet_labels.ts";

Deno.test("keys without a prefix or outside the kubernetes.io and k8s.io domains are self-set", () => {
  for (const k of ["pool", "proxscale.io/nodepool", "example.com/x", "kubernetes.io.evil.com/x"]) {
    assert.equal(isKubeletSettableLabel(k), true, k);
  }
});

Deno.test("domains match whole labels: a look-alike suffix is not the kubernetes.io domain", () => {
  assert.equal(isKubeletSettableLabel("notkubernetes.io/x"), true);
  assert.equal(isKubeletSettableLabel("xk8s.io/x"), true);
  assert.equal(isKubeletSettableLabel("sub.kubernetes.io/x"), false);
  assert.equal(isKubeletSettableLabel("k8s.io/x"), false);
});

Deno.test("only the well-known kubernetes.io labels and the kubelet and node subdomains pass", () => {
  for (
    const k of [
      "kubernetes.io/hostname",
      "kubernetes.io/arch",
      "kubernetes.io/os",
      "node.kubernetes.io/instance-type",
      "topology.kubernetes.io/zone",
      "topology.kubernetes.io/region",
      "failure-domain.beta.kubernetes.io/zone",
      "beta.kubernetes.io/instance-type",
      "node.kubernetes.io/anything",
      "a.node.kubernetes.io/x",
      "kubelet.kubernetes.io/anything",
    ]
  ) assert.equal(isKubeletSettableLabel(k), true, k);
  for (
    const k of [
      "node-role.kubernetes.io/worker",
      "topology.kubernetes.io/rack",
      "beta.kubernetes.io/fluentd",
      "kubernetes.io/role",
    ]
  ) assert.equal(isKubeletSettableLabel(k), false, k);
});

Deno.test("node-restriction.kubernetes.io keys are never self-set, at any depth", () => {
  assert.equal(isKubeletSettableLabel("node-restriction.kubernetes.io/pool"), false);
  assert.equal(isKubeletSettableLabel("x.node-restriction.kubernetes.io/pool"), false);
});

Deno.test("a label set splits into self-set and restricted parts, values kept, keys sorted", () => {
  const { selfSet, restricted } = splitNodeLabels({
    "z.example/b": "2",
    "node-role.kubernetes.io/worker": "",
    "kubernetes.io/arch": "amd64",
    "node-restriction.kubernetes.io/pool": "general",
    "a.example/a": "1",
  });
  assert.deepEqual(Object.entries(selfSet), [
    ["a.example/a", "1"],
    ["kubernetes.io/arch", "amd64"],
    ["z.example/b", "2"],
  ]);
  assert.deepEqual(Object.entries(restricted), [
    ["node-restriction.kubernetes.io/pool", "general"],
    ["node-role.kubernetes.io/worker", ""],
  ]);
  assert.deepEqual(splitNodeLabels({}), { selfSet: {}, restricted: {} });
});
