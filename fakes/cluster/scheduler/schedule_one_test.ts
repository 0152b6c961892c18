/**
 * One scheduling attempt: filter order decides a node's reason, the combined message, and the
 * score (least allocated, name ties, preferred affinity, PreferNoSchedule, ScheduleAnyway).
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { nodeVerdicts, scheduleOne } from "./schedule_one.ts";
import { cluster, node, pod } from "./testing/objects.ts";

const TAIL = (n: number) =>
  ` preemption: 0/${n} nodes are available: ${n} Preemption is not helpful for scheduling.`;

Deno.test("the first rejecting filter names the node's reason (cordon before taints)", () => {
  const c = cluster([
    node("n", { unschedulable: true, taints: [{ key: "k", effect: "NoSchedule" }] }),
  ]);
  const v = nodeVerdicts(pod("p", { cpu: "100" }), c);
  ok(v.preFilter === undefined);
  deepEqual(v.byNode.get("n"), ["node(s) were unschedulable"]);
});

Deno.test("a pod that fits nowhere gets one message over all nodes", () => {
  const c = cluster([
    node("a", { allocatable: { cpu: "1" } }),
    node("b", { allocatable: { cpu: "1" } }),
    node("c", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }),
    node("d", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }),
    node("e", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }),
  ]);
  const d = scheduleOne(pod("p", { cpu: "2" }), c);
  deepEqual(d, {
    ok: false,
    message:
      "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {dedicated: db}." +
      TAIL(5),
  });
});

Deno.test("the least allocated node wins", () => {
  const c = cluster([node("a"), node("b")], [
    pod("x", { cpu: "2", memory: "4Gi" }, {}, { nodeName: "a" }),
  ]);
  const d = scheduleOne(pod("p", { cpu: "1", memory: "1Gi" }), c);
  ok(d.ok);
  equal(d.node.name, "b");
});

Deno.test("equal nodes go to the first name", () => {
  const d = scheduleOne(pod("p", { cpu: "1" }), cluster([node("b"), node("a"), node("c")]));
  ok(d.ok);
  equal(d.node.name, "a");
});

Deno.test("a preferred node affinity term outweighs the name order", () => {
  const p = pod("p", { cpu: "1" }, {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 1,
          preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] },
        }],
      },
    },
  });
  const d = scheduleOne(p, cluster([node("a"), node("b", { labels: { disk: "ssd" } })]));
  ok(d.ok);
  equal(d.node.name, "b");
});

Deno.test("a PreferNoSchedule taint steers the pod away without blocking it", () => {
  const tainted = { taints: [{ key: "soft", effect: "PreferNoSchedule" }] };
  const d = scheduleOne(pod("p", { cpu: "1" }), cluster([node("a", tainted), node("b")]));
  ok(d.ok);
  equal(d.node.name, "b");
  const only = scheduleOne(pod("p", { cpu: "1" }), cluster([node("a", tainted)]));
  ok(only.ok);
});

Deno.test("ScheduleAnyway spread prefers the emptier domain", () => {
  const p = pod("p", {}, {
    topologySpreadConstraints: [{
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: { app: "web" } },
    }],
  }, { labels: { app: "web" } });
  const c = cluster([node("a"), node("b")], [
    pod("w", {}, {}, { labels: { app: "web" }, nodeName: "a" }),
  ]);
  const d = scheduleOne(p, c);
  ok(d.ok);
  equal(d.node.name, "b");
});

Deno.test("a missing claim gives the pod-wide message", () => {
  const p = pod("p", {}, {
    volumes: [{ name: "v", persistentVolumeClaim: { claimName: "data" } }],
  });
  deepEqual(scheduleOne(p, cluster([node("a"), node("b")])), {
    ok: false,
    message: '0/2 nodes are available: persistentvolumeclaim "data" not found.' + TAIL(2),
  });
});
