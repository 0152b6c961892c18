import assert from "node:assert/strict";
import type { Node } from "../../core/model.ts";
import { registrationPatch } from "./registration.ts";
import { claim, machineTemplate, pool } from "./testing/sample.ts";

const template = machineTemplate({ mode: "nocloudIso", template: "kubeadm" });

function registered(extra: Partial<Node> = {}): Node {
  return {
    name: "gpu-pool-7f3k2",
    providerID: "proxmox://pve-a/1234",
    labels: { "proxscale.io/nodepool": "gpu-pool", "example.com/rack": "r1" },
    taints: [
      { key: "proxscale.io/unregistered", effect: "NoExecute" },
      { key: "dedicated", value: "gpu", effect: "NoSchedule" },
      { key: "cilium.io/agent-not-ready", effect: "NoSchedule" },
    ],
    allocatable: { cpu: 4000, memory: 16 * 2 ** 30 },
    ready: true,
    createdAt: 0,
    ...extra,
  };
}

Deno.test("after registration proxscale sets restricted labels and lifts only the unregistered taint", () => {
  const r = registrationPatch(registered(), template, pool, claim);
  assert.ok(r.ok);
  assert.equal(r.value.labels["node-role.kubernetes.io/worker"], "");
  assert.equal(r.value.labels["proxscale.io/nodepool"], undefined, "already right: not rewritten");
  assert.deepEqual(r.value.taints, [
    { key: "dedicated", value: "gpu", effect: "NoSchedule" },
    { key: "cilium.io/agent-not-ready", effect: "NoSchedule" },
  ]);
  assert.equal(r.value.providerID, undefined, "providerID is immutable once set");
});

Deno.test("an image that ignored bootstrap data still gets providerID and the pool's taints", () => {
  const bare = registered({ labels: {}, taints: [] });
  delete bare.providerID;
  const r = registrationPatch(bare, template, pool, claim);
  assert.ok(r.ok);
  assert.equal(r.value.providerID, "proxmox://pve-a/1234");
  assert.deepEqual(r.value.taints, [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }]);
  assert.equal(r.value.labels["proxscale.io/nodeclaim"], "gpu-pool-7f3k2");
});

Deno.test("a Node with another providerID or name keeps its taint: a misrouted token", () => {
  const other = registrationPatch(
    registered({ providerID: "proxmox://pve-a/999" }),
    template,
    pool,
    claim,
  );
  assert.ok(!other.ok);
  assert.match(other.error.message, /expects proxmox:\/\/pve-a\/1234/);
  const renamed = registrationPatch(registered({ name: "evil" }), template, pool, claim);
  assert.ok(!renamed.ok);
});

Deno.test("nothing to do once everything is in place", () => {
  const first = registrationPatch(registered(), template, pool, claim);
  assert.ok(first.ok);
  const done = registered({
    labels: { ...registered().labels, ...first.value.labels },
    taints: first.value.taints ?? [],
  });
  const again = registrationPatch(done, template, pool, claim);
  assert.ok(again.ok);
  assert.deepEqual(again.value, { labels: {} });
});
