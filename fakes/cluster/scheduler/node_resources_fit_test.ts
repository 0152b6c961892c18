/**
 * NodeResourcesFit table: each row is a pod that fits or one that must not, with the exact
 * "Insufficient <resource>" / "Too many pods" reasons; plus the effective-request rule for init
 * containers, sidecars and overhead.
 */
import { deepEqual, equal } from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import { nodeResourcesFit } from "./node_resources_fit.ts";
import { podRequests } from "./pod_requests.ts";
import { cluster, node, pod } from "./testing/objects.ts";

const table: { name: string; pod: KObj; node: KObj; bound?: KObj[]; want: string[] }[] = [
  {
    name: "a pod within allocatable fits",
    pod: pod("p", { cpu: "1", memory: "1Gi" }),
    node: node("n"),
    want: [],
  },
  {
    name: "cpu beyond allocatable is Insufficient cpu",
    pod: pod("p", { cpu: "5" }),
    node: node("n"),
    want: ["Insufficient cpu"],
  },
  {
    name: "memory and cpu short are two reasons",
    pod: pod("p", { cpu: "4100m", memory: "9Gi" }),
    node: node("n"),
    want: ["Insufficient cpu", "Insufficient memory"],
  },
  {
    name: "pods already bound use up allocatable",
    pod: pod("p", { cpu: "2" }),
    node: node("n"),
    bound: [pod("a", { cpu: "3" }, {}, { nodeName: "n" })],
    want: ["Insufficient cpu"],
  },
  {
    name: "terminal pods bound to the node hold nothing",
    pod: pod("p", { cpu: "2" }),
    node: node("n"),
    bound: [pod("a", { cpu: "3" }, {}, { nodeName: "n", phase: "Succeeded" })],
    want: [],
  },
  {
    name: "a GPU the node does not list is Insufficient nvidia.com/gpu",
    pod: pod("p", { "nvidia.com/gpu": "1" }),
    node: node("n"),
    want: ["Insufficient nvidia.com/gpu"],
  },
  {
    name: "a GPU the node lists fits",
    pod: pod("p", { "nvidia.com/gpu": "1" }),
    node: node("n", { allocatable: { "nvidia.com/gpu": "1" } }),
    want: [],
  },
  {
    name: "hugepages are counted",
    pod: pod("p", { "hugepages-2Mi": "100Mi" }),
    node: node("n", { allocatable: { "hugepages-2Mi": "64Mi" } }),
    want: ["Insufficient hugepages-2Mi"],
  },
  {
    name: "ephemeral-storage is counted",
    pod: pod("p", { "ephemeral-storage": "20Gi" }),
    node: node("n", { allocatable: { "ephemeral-storage": "10Gi" } }),
    want: ["Insufficient ephemeral-storage"],
  },
  {
    name: "pod overhead is added to the request",
    pod: pod("p", { cpu: "3500m" }, { overhead: { cpu: "600m" } }),
    node: node("n"),
    want: ["Insufficient cpu"],
  },
  {
    name: "the largest init container counts when it exceeds the containers",
    pod: pod("p", { memory: "1Gi" }, {
      initContainers: [{ name: "i", resources: { requests: { memory: "9Gi" } } }],
    }),
    node: node("n"),
    want: ["Insufficient memory"],
  },
  {
    name: "a full pod count is Too many pods",
    pod: pod("p"),
    node: node("n", { allocatable: { pods: "1" } }),
    bound: [pod("a", {}, {}, { nodeName: "n" })],
    want: ["Too many pods"],
  },
  {
    name: "limits stand in for absent requests",
    pod: {
      ...pod("p"),
      spec: { containers: [{ name: "c", resources: { limits: { cpu: "5" } } }] },
    },
    node: node("n"),
    want: ["Insufficient cpu"],
  },
];

for (const row of table) {
  Deno.test(`resources fit: ${row.name}`, () => {
    const c = cluster([row.node], row.bound ?? []);
    deepEqual(nodeResourcesFit(podRequests(row.pod), c.nodes[0]!), row.want);
  });
}

Deno.test("the effective request is max(largest init container, containers) plus overhead", () => {
  const p = pod("p", { cpu: "500m" }, {
    containers: [
      { name: "a", resources: { requests: { cpu: "500m" } } },
      { name: "b", resources: { requests: { cpu: "250m" } } },
    ],
    initContainers: [
      { name: "i1", resources: { requests: { cpu: "1" } } },
      { name: "i2", resources: { requests: { cpu: "600m" } } },
    ],
    overhead: { cpu: "100m" },
  });
  equal(podRequests(p).get("cpu"), 1100);
});

Deno.test("a restartable init container runs beside the containers and later init containers", () => {
  const p = pod("p", {}, {
    containers: [{ name: "a", resources: { requests: { cpu: "500m" } } }],
    initContainers: [
      { name: "sidecar", restartPolicy: "Always", resources: { requests: { cpu: "200m" } } },
      { name: "init", resources: { requests: { cpu: "1" } } },
    ],
  });
  equal(podRequests(p).get("cpu"), 1200);
});
