/**
 * A new VM's proxscale.io/host label is known when it is planned (the planned host is the
 * launch's host), so spread and anti-affinity keyed on that label are judged with it: a pod
 * spreading over Proxmox hosts, or repelling its siblings per host, gets a VM on a host that
 * keeps the rule, never "no zone keeps the pod's topology". The domains of such a spread are the
 * hosts nodes are on, as kube-scheduler takes a spread's domains from the nodes' labels.
 */
import assert from "node:assert/strict";
import { provision } from "./provisioning.ts";
import type { Pod } from "./model.ts";
import { managedNode, snapshotOf, T0, testConfig, testPod } from "./testing/arbitraries.ts";
import { HOST_LABEL_KEY } from "./labels.ts";

const selector = { matchLabels: { app: "web" } };

function web(name: string, node: string | undefined, over: Partial<Pod> = {}): Pod {
  return testPod(name, node, {
    labels: { app: "web" },
    ...(node === undefined ? { unschedulable: true, pendingSince: T0 - 60_000 } : {}),
    hostPorts: [{ port: 8080, protocol: "TCP" }],
    ...over,
  });
}

const spread = {
  topologySpreadConstraints: [{
    maxSkew: 1,
    topologyKey: HOST_LABEL_KEY,
    whenUnsatisfiable: "DoNotSchedule" as const,
    labelSelector: selector,
  }],
};
const anti = {
  requiredPodAntiAffinity: [{ labelSelector: selector, topologyKey: HOST_LABEL_KEY }],
};

for (
  const [what, over, hosts] of [
    // Only pve1 has a node, so it is the spread's only domain (as kube-scheduler counts them):
    // a second node there keeps the skew at 1, and so does one on pve2.
    ["a topology spread over proxscale.io/host", spread, ["pve1", "pve2"]],
    ["a required anti-affinity on proxscale.io/host", anti, ["pve2"]],
  ] as const
) {
  Deno.test(`a pod with ${what} gets a VM on a host that keeps it`, () => {
    // One node on pve1 runs a sibling; the pending sibling cannot share it (same hostPort).
    const n1 = managedNode("n1", "general");
    const plan = provision(
      snapshotOf({
        pods: [web("web-0", "n1", over), web("web-1", undefined, over)],
        nodes: [n1.node],
        nodeClaims: [n1.claim],
      }),
      testConfig(),
    );
    assert.deepEqual(plan.unhelped, [], JSON.stringify(plan.unhelped));
    assert.equal(plan.claims.length, 1);
    const host = plan.claims[0]!.host;
    assert.ok((hosts as readonly string[]).includes(host), `${host} keeps the rule`);
    assert.equal(plan.claims[0]!.labels[HOST_LABEL_KEY], host);
  });
}

Deno.test("a spread over proxscale.io/host counts the hosts nodes are on as its domains, so a third replica gets a VM when each host runs one", () => {
  const n1 = managedNode("n1", "general");
  const n2 = managedNode("n2", "general", { zone: "zone-b" });
  n2.node.labels = { ...n2.node.labels, [HOST_LABEL_KEY]: "pve2" };
  const plan = provision(
    snapshotOf({
      pods: [
        web("web-0", "n1", spread),
        web("web-1", "n2", spread),
        web("web-2", undefined, spread),
      ],
      nodes: [n1.node, n2.node],
      nodeClaims: [n1.claim, { ...n2.claim, host: "pve2" }],
    }),
    testConfig(),
  );
  assert.deepEqual(plan.unhelped, [], JSON.stringify(plan.unhelped));
  assert.equal(plan.claims.length, 1);
});
