/**
 * The Unschedulable message: per-node reasons counted and sorted as text, pod-wide reasons, the
 * preemption tail, and the no-nodes case.
 */
import { equal } from "node:assert/strict";
import { fitErrorMessage, NO_NODES } from "./fit_message.ts";

const TAIL = (n: number) =>
  ` preemption: 0/${n} nodes are available: ${n} Preemption is not helpful for scheduling.`;

Deno.test("reasons are counted per node and sorted as '<count> <reason>' strings", () => {
  const msg = fitErrorMessage(5, [
    ["Insufficient cpu"],
    ["Insufficient cpu"],
    ["node(s) had untolerated taint {k: v}"],
    ["node(s) had untolerated taint {k: v}"],
    ["node(s) had untolerated taint {k: v}"],
  ]);
  equal(
    msg,
    "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {k: v}." +
      TAIL(5),
  );
});

Deno.test("one node with two shortfalls counts for each, and counts sort as text", () => {
  const nodes = [
    ["Insufficient cpu", "Insufficient memory"],
    ...Array.from({ length: 10 }, () => ["Too many pods"]),
  ];
  equal(
    fitErrorMessage(11, nodes),
    "0/11 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 10 Too many pods." +
      TAIL(11),
  );
});

Deno.test("a pod-wide reason replaces the per-node list", () => {
  equal(
    fitErrorMessage(3, [], 'persistentvolumeclaim "data" not found'),
    '0/3 nodes are available: persistentvolumeclaim "data" not found.' + TAIL(3),
  );
});

Deno.test("a cluster without nodes says so", () => {
  equal(fitErrorMessage(0, []), NO_NODES);
  equal(NO_NODES, "no nodes available to schedule pods");
});
