/**
 * TaintToleration table: which taints block (NoSchedule, NoExecute, lifecycle taints) and which
 * tolerations tolerate them, with the "{key: value}" reason.
 */
import { deepEqual, equal } from "node:assert/strict";
import {
  intolerablePreferNoSchedule,
  taintToleration,
  type Toleration,
} from "./taint_toleration.ts";
import { cluster, node } from "./testing/objects.ts";

type Row = {
  name: string;
  taints: { key: string; value?: string; effect: string }[];
  tol: Toleration[];
  want: string[];
};

const table: Row[] = [
  { name: "an untainted node fits", taints: [], tol: [], want: [] },
  {
    name: "an untolerated NoSchedule taint blocks, named by key and value",
    taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }],
    tol: [],
    want: ["node(s) had untolerated taint {dedicated: gpu}"],
  },
  {
    name: "an untolerated NoExecute taint blocks",
    taints: [{ key: "k", effect: "NoExecute" }],
    tol: [],
    want: ["node(s) had untolerated taint {k: }"],
  },
  {
    name: "PreferNoSchedule does not block",
    taints: [{ key: "k", effect: "PreferNoSchedule" }],
    tol: [],
    want: [],
  },
  {
    name: "Equal with the same value tolerates",
    taints: [{ key: "k", value: "v", effect: "NoSchedule" }],
    tol: [{ key: "k", operator: "Equal", value: "v", effect: "NoSchedule" }],
    want: [],
  },
  {
    name: "Equal with another value does not tolerate",
    taints: [{ key: "k", value: "v", effect: "NoSchedule" }],
    tol: [{ key: "k", value: "w" }],
    want: ["node(s) had untolerated taint {k: v}"],
  },
  {
    name: "Exists on the key tolerates any value",
    taints: [{ key: "k", value: "v", effect: "NoExecute" }],
    tol: [{ key: "k", operator: "Exists" }],
    want: [],
  },
  {
    name: "a toleration for another effect does not tolerate",
    taints: [{ key: "k", effect: "NoExecute" }],
    tol: [{ key: "k", operator: "Exists", effect: "NoSchedule" }],
    want: ["node(s) had untolerated taint {k: }"],
  },
  {
    name: "empty key with Exists tolerates everything",
    taints: [{ key: "a", effect: "NoSchedule" }, { key: "b", value: "x", effect: "NoExecute" }],
    tol: [{ operator: "Exists" }],
    want: [],
  },
  {
    name: "the not-ready lifecycle taint is an ordinary taint",
    taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }],
    tol: [],
    want: ["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"],
  },
  {
    name: "the unreachable taint is tolerated like any other",
    taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }],
    tol: [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" }],
    want: [],
  },
];

for (const row of table) {
  Deno.test(`taints: ${row.name}`, () => {
    const c = cluster([node("n", { taints: row.taints })]);
    deepEqual(taintToleration(row.tol, c.nodes[0]!), row.want);
  });
}

Deno.test("untolerated PreferNoSchedule taints are counted for the score", () => {
  const c = cluster([node("n", {
    taints: [{ key: "a", effect: "PreferNoSchedule" }, { key: "b", effect: "PreferNoSchedule" }],
  })]);
  equal(intolerablePreferNoSchedule([{ key: "a", operator: "Exists" }], c.nodes[0]!), 1);
});
