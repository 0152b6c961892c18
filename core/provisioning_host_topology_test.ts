/**
 * A new VM's proxscale.io/host label is known when it is planned (the planned host is the
 * launch's host), so spread and anti-affinity keyed on that label are judged with it: a pod
 * spreading over Proxmox hosts, or repelling its siblings per host, gets a VM on a host that
 * keeps the rule, never "no zone keeps the pod's topology".
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
  const [what, over] of [
    ["a topology spread over proxscale.io/host", spread],
    ["a required anti-affinity on proxscale.io/host", anti],
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
    assert.equal(plan.claims[0]!.host, "pve2", "pve1 already has a sibling");
    assert.equal(plan.claims[0]!.labels[HOST_LABEL_KEY], "pve2");
  });
}
