/** Example-based checks of provisioning decisions that the properties state generally. */
import assert from "node:assert/strict";
import { provision } from "./provisioning.ts";
import { benchConfig, benchSnapshot } from "./testing/bench_cluster.ts";
import type { Config, Snapshot } from "./model.ts";
import { GiB, MiB } from "./quantity.ts";

function small(): { snapshot: Snapshot; config: Config } {
  const config = benchConfig();
  config.nodePools = config.nodePools.slice(0, 2);
  const snapshot = benchSnapshot(0);
  snapshot.nodes = [];
  snapshot.pods = [];
  return { snapshot, config };
}

function pending(i: number, cpu: number, memory: number) {
  return {
    uid: `p${i}`,
    name: `p${i}`,
    namespace: "default",
    phase: "Pending" as const,
    unschedulable: true,
    createdAt: 1,
    containers: [{ cpu, memory }],
  };
}

Deno.test("the pool limit message names the limit, the usage and the VM overhead", () => {
  const { snapshot, config } = small();
  for (const p of config.nodePools) p.limits = { memory: 4 * GiB };
  snapshot.pods = [pending(1, 500, 3 * GiB)];
  const plan = provision(snapshot, config);
  assert.equal(plan.claims.length, 0);
  assert.equal(plan.unhelped[0]!.reason.code, "PoolLimitReached");
  assert.match(
    plan.unhelped[0]!.reason.message,
    /memory limit 4Gi reached .* incl\. 512Mi overhead/,
  );
});

Deno.test("higher-weight pools are used first", () => {
  const { snapshot, config } = small();
  snapshot.pods = [pending(1, 500, GiB)];
  const plan = provision(snapshot, config);
  assert.equal(plan.claims[0]!.nodePool, "pool-0");
  config.nodePools[1]!.weight = 100;
  config.nodePools[0]!.weight = 1;
  assert.equal(provision(snapshot, config).claims[0]!.nodePool, "pool-1");
});

Deno.test("flexible templates size the VM to its pods, rounded up to the steps", () => {
  const { snapshot, config } = small();
  const t = config.machineTemplates[0]!;
  t.shapes = [];
  t.flexible = {
    cpu: { min: 1000, max: 16000, step: 1000 },
    memory: { min: GiB, max: 64 * GiB, step: 512 * MiB },
  };
  snapshot.pods = [pending(1, 2300, 5 * GiB + 1)];
  const c = provision(snapshot, config).claims[0]!;
  // 2300m + 100m reserved -> 3 cores; 5Gi+1 + 512Mi reserved -> 6Gi.
  assert.equal(c.shape.cpu, 3000);
  assert.equal(c.shape.memory, 6 * GiB);
});

Deno.test("pods that fit an existing node open no claim and say where they fit", () => {
  const { snapshot, config } = small();
  snapshot.nodes = [{
    name: "n1",
    labels: { "kubernetes.io/hostname": "n1" },
    allocatable: { cpu: 4000, memory: 8 * GiB },
    ready: true,
    createdAt: 0,
  }];
  snapshot.pods = [pending(1, 1000, GiB)];
  const plan = provision(snapshot, config);
  assert.equal(plan.claims.length, 0);
  assert.deepEqual(plan.placements.map((p) => [p.pod, p.target, p.reason.code]), [[
    "default/p1",
    "n1",
    "FitsExistingCapacity",
  ]]);
});

Deno.test("a pod with a soft zone preference does not launch a VM when an existing node fits", () => {
  const { snapshot, config } = small();
  snapshot.nodes = [{
    name: "n1",
    labels: { "kubernetes.io/hostname": "n1", "topology.kubernetes.io/zone": "rack-a" },
    allocatable: { cpu: 4000, memory: 8 * GiB },
    ready: true,
    createdAt: 0,
  }];
  const pod = {
    ...pending(1, 1000, GiB),
    preferredNodeAffinity: [{
      weight: 50,
      preference: {
        matchExpressions: [{
          key: "topology.kubernetes.io/zone",
          operator: "In" as const,
          values: ["rack-b"],
        }],
      },
    }],
  };
  snapshot.pods = [pod];
  const plan = provision(snapshot, config);
  assert.equal(plan.claims.length, 0);
  assert.equal(plan.placements[0]!.target, "n1");
});

Deno.test("pods waiting less than the stabilization window do not scale up yet", () => {
  const { snapshot, config } = small();
  for (const p of config.nodePools) p.scaleUp.stabilizationWindow = 30_000;
  snapshot.pods = [{ ...pending(1, 500, GiB), pendingSince: snapshot.now - 10_000 }];
  const plan = provision(snapshot, config);
  assert.equal(plan.claims.length, 0);
  assert.equal(plan.unhelped[0]!.reason.code, "StabilizationWindow");
  snapshot.pods = [{ ...pending(1, 500, GiB), pendingSince: snapshot.now - 40_000 }];
  assert.equal(provision(snapshot, config).claims.length, 1);
});

Deno.test("placement only picks hosts that can clone the pool's template", () => {
  const { snapshot, config } = small();
  const hosts = snapshot.hosts.map((h) => h.name);
  assert.ok(hosts.length >= 2, "several hosts");
  for (const t of config.machineTemplates) {
    t.source = { kind: "clone", templateVmid: 9000, full: false };
  }
  snapshot.pods = [1, 2, 3, 4, 5, 6].map((i) => pending(i, 1500, 512 * MiB));
  const only = hosts[hosts.length - 1]!;
  snapshot.templateHosts = Object.fromEntries(
    config.machineTemplates.map((t) => [t.name, [only]]),
  );
  const plan = provision(snapshot, config);
  assert.ok(plan.claims.length > 0);
  assert.deepEqual([...new Set(plan.claims.map((c) => c.host))], [only]);
  // Nobody can clone it: nothing is planned, rather than a launch PVE would refuse.
  snapshot.templateHosts = Object.fromEntries(config.machineTemplates.map((t) => [t.name, []]));
  assert.equal(provision(snapshot, config).claims.length, 0);
});

Deno.test("with no pod waiting the plan is empty, unless a pool is below its minNodes", () => {
  const { snapshot, config } = small();
  // A finished pod that was never bound does not wait for capacity.
  snapshot.pods = [{ ...pending(1, 500, 1 * GiB), phase: "Succeeded" as const }];
  snapshot.nodeClaims = [];
  assert.deepEqual(provision(snapshot, config), { claims: [], placements: [], unhelped: [] });
  config.nodePools[0]!.minNodes = 1;
  const plan = provision(snapshot, config);
  assert.equal(plan.claims.length, 1);
  assert.equal(plan.claims[0]!.nodePool, config.nodePools[0]!.name);
});
