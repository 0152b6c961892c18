/**
 * PodTopologySpread table: maxSkew, the missing-label reason, minDomains,
 * nodeAffinityPolicy/nodeTaintsPolicy defaults, ScheduleAnyway and matchLabelKeys.
 */
import { deepEqual } from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import { podTopologySpread, SPREAD_MISMATCH, SPREAD_MISSING_LABEL } from "./pod_topology_spread.ts";
import { cluster, node, pod } from "./testing/objects.ts";

const zone = (z: string) => ({ labels: { zone: z } });
const spread = (c: Record<string, unknown> = {}) => ({
  topologySpreadConstraints: [{
    maxSkew: 1,
    topologyKey: "zone",
    whenUnsatisfiable: "DoNotSchedule",
    labelSelector: { matchLabels: { app: "web" } },
    ...c,
  }],
});
const incoming = (c: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
  pod("p", {}, { ...spread(c), ...spec }, { labels: { app: "web" } });
const web = (name: string, at: string) =>
  pod(name, {}, {}, { labels: { app: "web" }, nodeName: at });

const table: { name: string; nodes: KObj[]; bound: KObj[]; p: KObj; on: string; want: string[] }[] =
  [
    {
      name: "the emptier zone fits",
      nodes: [node("a1", zone("a")), node("b1", zone("b"))],
      bound: [web("w1", "a1")],
      p: incoming(),
      on: "b1",
      want: [],
    },
    {
      name: "the fuller zone would exceed maxSkew",
      nodes: [node("a1", zone("a")), node("b1", zone("b"))],
      bound: [web("w1", "a1")],
      p: incoming(),
      on: "a1",
      want: [SPREAD_MISMATCH],
    },
    {
      name: "a node without the topology label is refused",
      nodes: [node("a1", zone("a")), node("x")],
      bound: [],
      p: incoming(),
      on: "x",
      want: [SPREAD_MISSING_LABEL],
    },
    {
      name: "minDomains above the domain count makes the minimum zero",
      nodes: [node("a1", zone("a")), node("b1", zone("b"))],
      bound: [web("w1", "a1"), web("w2", "b1")],
      p: incoming({ minDomains: 3 }),
      on: "a1",
      want: [SPREAD_MISMATCH],
    },
    {
      name: "without minDomains the same placement fits",
      nodes: [node("a1", zone("a")), node("b1", zone("b"))],
      bound: [web("w1", "a1"), web("w2", "b1")],
      p: incoming(),
      on: "a1",
      want: [],
    },
    {
      name: "nodes outside the pod's node affinity do not count as domains (Honor)",
      nodes: [
        node("a1", { labels: { zone: "a", pool: "x" } }),
        node("b1", { labels: { zone: "b", pool: "y" } }),
      ],
      bound: [web("w1", "a1")],
      p: incoming({}, { nodeSelector: { pool: "x" } }),
      on: "a1",
      want: [],
    },
    {
      name: "nodeAffinityPolicy Ignore counts them",
      nodes: [
        node("a1", { labels: { zone: "a", pool: "x" } }),
        node("b1", { labels: { zone: "b", pool: "y" } }),
      ],
      bound: [web("w1", "a1")],
      p: incoming({ nodeAffinityPolicy: "Ignore" }, { nodeSelector: { pool: "x" } }),
      on: "a1",
      want: [SPREAD_MISMATCH],
    },
    {
      name: "tainted nodes count as domains by default (nodeTaintsPolicy Ignore)",
      nodes: [
        node("a1", zone("a")),
        node("b1", { labels: { zone: "b" }, taints: [{ key: "t", effect: "NoSchedule" }] }),
      ],
      bound: [web("w1", "a1")],
      p: incoming(),
      on: "a1",
      want: [SPREAD_MISMATCH],
    },
    {
      name: "nodeTaintsPolicy Honor leaves untolerated nodes out",
      nodes: [
        node("a1", zone("a")),
        node("b1", { labels: { zone: "b" }, taints: [{ key: "t", effect: "NoSchedule" }] }),
      ],
      bound: [web("w1", "a1")],
      p: incoming({ nodeTaintsPolicy: "Honor" }),
      on: "a1",
      want: [],
    },
    {
      name: "ScheduleAnyway never filters",
      nodes: [node("a1", zone("a")), node("b1", zone("b"))],
      bound: [web("w1", "a1"), web("w2", "a1")],
      p: incoming({ whenUnsatisfiable: "ScheduleAnyway" }),
      on: "a1",
      want: [],
    },
    {
      name: "matchLabelKeys narrows the count to the pod's own values",
      nodes: [node("a1", zone("a")), node("b1", zone("b"))],
      bound: [pod("w1", {}, {}, { labels: { app: "web", rev: "1" }, nodeName: "a1" })],
      p: pod("p", {}, spread({ matchLabelKeys: ["rev"] }), { labels: { app: "web", rev: "2" } }),
      on: "a1",
      want: [],
    },
  ];

for (const row of table) {
  Deno.test(`topology spread: ${row.name}`, () => {
    const c = cluster(row.nodes, row.bound);
    deepEqual(podTopologySpread(row.p, c).filter(c.byName.get(row.on)!), row.want);
  });
}
