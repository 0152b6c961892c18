/**
 * NodeAffinity table: nodeSelector and required node affinity operators, ORed terms, matchFields
 * and the empty term; preferred terms only score.
 */
import { deepEqual, equal } from "node:assert/strict";
import type { Requirement } from "./label_match.ts";
import { AFFINITY_MISMATCH, nodeAffinity, preferredNodeAffinityScore } from "./node_affinity.ts";
import { cluster, node, pod } from "./testing/objects.ts";

const required = (terms: { matchExpressions?: Requirement[]; matchFields?: Requirement[] }[]) => ({
  affinity: {
    nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
  },
});
const expr = (key: string, operator: string, values?: string[]) => ({
  matchExpressions: [{ key, operator, ...(values ? { values } : {}) }],
});
const labels = { zone: "a", disk: "ssd", cores: "16" };

// deno-lint-ignore no-explicit-any
const table: { name: string; spec: Record<string, any>; fits: boolean }[] = [
  { name: "no constraints fit", spec: {}, fits: true },
  { name: "a matching nodeSelector fits", spec: { nodeSelector: { zone: "a" } }, fits: true },
  {
    name: "a nodeSelector on a missing label does not",
    spec: { nodeSelector: { gpu: "true" } },
    fits: false,
  },
  {
    name: "In with the node's value fits",
    spec: required([expr("zone", "In", ["a", "b"])]),
    fits: true,
  },
  { name: "In without it does not", spec: required([expr("zone", "In", ["b"])]), fits: false },
  {
    name: "NotIn with the node's value does not",
    spec: required([expr("disk", "NotIn", ["ssd"])]),
    fits: false,
  },
  {
    name: "NotIn on a missing label fits",
    spec: required([expr("gpu", "NotIn", ["x"])]),
    fits: true,
  },
  { name: "Exists fits a present label", spec: required([expr("disk", "Exists")]), fits: true },
  {
    name: "DoesNotExist refuses a present label",
    spec: required([expr("disk", "DoesNotExist")]),
    fits: false,
  },
  { name: "Gt compares integers", spec: required([expr("cores", "Gt", ["8"])]), fits: true },
  {
    name: "Lt below the node's value does not fit",
    spec: required([expr("cores", "Lt", ["8"])]),
    fits: false,
  },
  {
    name: "Gt on a non-integer label does not fit",
    spec: required([expr("zone", "Gt", ["1"])]),
    fits: false,
  },
  {
    name: "terms are ORed",
    spec: required([expr("zone", "In", ["b"]), expr("disk", "In", ["ssd"])]),
    fits: true,
  },
  {
    name: "matchFields on metadata.name selects the node by name",
    spec: required([{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n"] }] }]),
    fits: true,
  },
  {
    name: "matchFields naming another node does not fit",
    spec: required([{ matchFields: [{ key: "metadata.name", operator: "In", values: ["m"] }] }]),
    fits: false,
  },
  { name: "an empty term matches no node", spec: required([{}]), fits: false },
  {
    name: "nodeSelector and affinity must both hold",
    spec: { nodeSelector: { zone: "b" }, ...required([expr("disk", "Exists")]) },
    fits: false,
  },
];

for (const row of table) {
  Deno.test(`node affinity: ${row.name}`, () => {
    const c = cluster([node("n", { labels })]);
    deepEqual(
      nodeAffinity(pod("p", {}, row.spec), c.nodes[0]!),
      row.fits ? [] : [AFFINITY_MISMATCH],
    );
  });
}

Deno.test("preferred node affinity adds the weights of the matching terms", () => {
  const c = cluster([node("n", { labels })]);
  const p = pod("p", {}, {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 10, preference: expr("zone", "In", ["a"]) },
          { weight: 5, preference: expr("zone", "In", ["b"]) },
          { weight: 3, preference: expr("disk", "Exists") },
        ],
      },
    },
  });
  equal(preferredNodeAffinityScore(p, c.nodes[0]!), 13);
});

Deno.test("the node affinity reason is kube-scheduler's sentence", () => {
  equal(AFFINITY_MISMATCH, "node(s) didn't match Pod's node affinity/selector");
});
