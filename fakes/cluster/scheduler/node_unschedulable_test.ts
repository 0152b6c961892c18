/**
 * NodeUnschedulable table: a cordoned node refuses pods unless they tolerate
 * node.kubernetes.io/unschedulable:NoSchedule.
 */
import { deepEqual } from "node:assert/strict";
import { nodeUnschedulable, UNSCHEDULABLE } from "./node_unschedulable.ts";
import { cluster, node, pod } from "./testing/objects.ts";

const cordonToleration = {
  key: "node.kubernetes.io/unschedulable",
  operator: "Exists",
  effect: "NoSchedule",
};

const table = [
  { name: "a schedulable node fits", cordoned: false, tolerations: [], want: [] },
  {
    name: "a cordoned node refuses the pod",
    cordoned: true,
    tolerations: [],
    want: [UNSCHEDULABLE],
  },
  {
    name: "tolerating the unschedulable taint admits the pod",
    cordoned: true,
    tolerations: [cordonToleration],
    want: [],
  },
  {
    name: "tolerating it only for NoExecute does not",
    cordoned: true,
    tolerations: [{ ...cordonToleration, effect: "NoExecute" }],
    want: [UNSCHEDULABLE],
  },
];

for (const row of table) {
  Deno.test(`cordon: ${row.name}`, () => {
    const c = cluster([node("n", { unschedulable: row.cordoned })]);
    deepEqual(
      nodeUnschedulable(pod("p", {}, { tolerations: row.tolerations }), c.nodes[0]!),
      row.want,
    );
  });
}

Deno.test("the cordon reason is kube-scheduler's sentence", () => {
  deepEqual(UNSCHEDULABLE, "node(s) were unschedulable");
});
