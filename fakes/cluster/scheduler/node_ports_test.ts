/**
 * NodePorts table: host ports that are free fit, the same protocol/port on an overlapping
 * address does not, with kube-scheduler's reason.
 */
import { deepEqual } from "node:assert/strict";
import { nodePorts, PORTS_TAKEN } from "./node_ports.ts";
import { hostPorts } from "./pod_requests.ts";
import { cluster, node, pod } from "./testing/objects.ts";

const withPort = (name: string, port: Record<string, unknown>, nodeName?: string) =>
  pod(name, {}, { containers: [{ name: "c", ports: [{ containerPort: 80, ...port }] }] }, {
    nodeName,
  });

const table = [
  {
    name: "a free host port fits",
    want: withPort("p", { hostPort: 8080 }),
    used: { hostPort: 9090 },
    reasons: [],
  },
  {
    name: "the same TCP host port conflicts",
    want: withPort("p", { hostPort: 8080 }),
    used: { hostPort: 8080 },
    reasons: [PORTS_TAKEN],
  },
  {
    name: "the same port over another protocol does not conflict",
    want: withPort("p", { hostPort: 53, protocol: "UDP" }),
    used: { hostPort: 53 },
    reasons: [],
  },
  {
    name: "two specific addresses do not conflict",
    want: withPort("p", { hostPort: 80, hostIP: "10.0.0.1" }),
    used: { hostPort: 80, hostIP: "10.0.0.2" },
    reasons: [],
  },
  {
    name: "0.0.0.0 overlaps a specific address",
    want: withPort("p", { hostPort: 80, hostIP: "10.0.0.1" }),
    used: { hostPort: 80 },
    reasons: [PORTS_TAKEN],
  },
  {
    name: "a containerPort without hostPort holds nothing",
    want: withPort("p", {}),
    used: {},
    reasons: [],
  },
];

for (const row of table) {
  Deno.test(`host ports: ${row.name}`, () => {
    const c = cluster([node("n")], [withPort("a", row.used, "n")]);
    deepEqual(nodePorts(hostPorts(row.want), c.nodes[0]!), row.reasons);
  });
}

Deno.test("the host-port reason is kube-scheduler's sentence", () => {
  deepEqual(PORTS_TAKEN, "node(s) didn't have free ports for the requested pod ports");
});
