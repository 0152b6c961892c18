import assert from "node:assert/strict";
import { strongerMaintenance, withHostMaintenance } from "./host_maintenance.ts";
import { reconcile } from "./reconcile.ts";
import {
  managedNode,
  snapshotOf,
  T0,
  testConfig,
  testHost,
  testPod,
} from "./testing/arbitraries.ts";
import type { Config, HostConfig } from "./model.ts";

const hostConfig = (name: string, over: Partial<HostConfig> = {}): HostConfig => ({
  name,
  zone: name,
  cpuOvercommit: 1,
  memoryOvercommit: 1,
  reserved: { cpu: 0, memory: 0 },
  ...over,
});

function withHosts(...hosts: HostConfig[]): Config {
  const c = testConfig();
  return { ...c, providers: [{ ...c.providers[0]!, hosts }] };
}

Deno.test("configured maintenance is laid over the observed hosts, drain winning over cordon", () => {
  const snap = snapshotOf({
    hosts: [
      testHost("pve1", "zone-a"),
      testHost("pve2", "zone-b", { maintenance: "drain" }),
      testHost("pve3", "zone-b"),
    ],
  });
  const config = withHosts(
    hostConfig("pve1", { maintenance: "cordon" }),
    hostConfig("pve2", { maintenance: "cordon" }),
    hostConfig("pve3"),
  );
  const out = withHostMaintenance(snap, config.providers);
  assert.deepEqual(out.hosts.map((h) => h.maintenance), ["cordon", "drain", undefined]);
  assert.equal(strongerMaintenance("cordon", undefined), "cordon");
  assert.equal(strongerMaintenance(undefined, undefined), undefined);
});

Deno.test("without configured maintenance the snapshot is passed on untouched", () => {
  const snap = snapshotOf();
  assert.equal(withHostMaintenance(snap, withHosts(hostConfig("pve1")).providers), snap);
});

Deno.test("a pass launches no VM on a host cordoned by configuration", () => {
  const snap = snapshotOf({
    pods: [testPod("web-1", undefined, { unschedulable: true })],
    hosts: [testHost("pve1", "zone-a"), testHost("pve2", "zone-b")],
  });
  const open = reconcile(snap, withHosts(hostConfig("pve1"), hostConfig("pve2")));
  const cordoned = reconcile(
    snap,
    withHosts(hostConfig("pve1", { maintenance: "cordon" }), hostConfig("pve2")),
  );
  const hostsOf = (p: ReturnType<typeof reconcile>) => p.provisioning.claims.map((c) => c.host);
  assert.ok(hostsOf(open).length === 1);
  assert.deepEqual(hostsOf(cordoned), ["pve2"]);
  const all = reconcile(
    snap,
    withHosts(
      hostConfig("pve1", { maintenance: "cordon" }),
      hostConfig("pve2", { maintenance: "drain" }),
    ),
  );
  assert.deepEqual(hostsOf(all), []);
});

Deno.test("a claim on a draining host gets HostMaintenance=True once, and False when the drain ends", () => {
  const { node, claim } = managedNode("a", "general");
  const drain = withHosts(hostConfig("pve1", { maintenance: "drain" }), hostConfig("pve2"));
  const snap = snapshotOf({ nodes: [node], nodeClaims: [claim] });
  const writes = (p: ReturnType<typeof reconcile>) =>
    p.actions.flatMap((a) =>
      a.kind === "UpdateClaimStatus"
        ? a.conditions.filter((c) => c.type === "HostMaintenance").map((c) => [a.claim, c.status])
        : []
    );
  const first = reconcile(snap, drain);
  assert.deepEqual(writes(first), [["a-claim", "True"]]);
  const marked = {
    ...claim,
    conditions: [
      ...claim.conditions,
      {
        type: "HostMaintenance" as const,
        status: "True" as const,
        reason: "HostMaintenance",
        message: "",
        lastTransitionTime: T0,
      },
    ],
  };
  const again = snapshotOf({ nodes: [node], nodeClaims: [marked] });
  assert.deepEqual(writes(reconcile(again, drain)), [], "written once");
  const over = reconcile(again, withHosts(hostConfig("pve1"), hostConfig("pve2")));
  assert.deepEqual(writes(over), [["a-claim", "False"]]);
  assert.deepEqual(writes(reconcile(snap, withHosts(hostConfig("pve1"), hostConfig("pve2")))), []);
});
