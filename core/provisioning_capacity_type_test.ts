/**
 * Host classes as capacity types: a pool allowing several classes launches on the cheapest
 * class with room and falls back in price order when it is full; a requirement on the class
 * keeps to its hosts; each new node carries its host's class; and a claim's cost is its class's
 * price.
 */
import assert from "node:assert/strict";
import { provision } from "./provisioning.ts";
import type { Config, Host } from "./model.ts";
import { snapshotOf, T0, testConfig, testHost, testPod, testPool } from "./testing/arbitraries.ts";
import { CAPACITY_TYPE_LABEL_KEY } from "./labels.ts";
import { chooseHost } from "./placement.ts";
import { claimCostModel, classCost } from "./cost.ts";
import { GiB } from "./quantity.ts";

const PRICES = {
  reserved: { perVcpuHour: 0.01, perGiBHour: 0.001 },
  preemptible: { perVcpuHour: 0.005, perGiBHour: 0.0005 },
  standard: { perVcpuHour: 0.03, perGiBHour: 0.003 },
};

function classConfig(allowed: string[]): Config {
  const base = testConfig();
  return {
    ...base,
    providers: [{ ...base.providers[0]!, capacityTypes: PRICES }],
    nodePools: [
      testPool("general", {
        requirements: [{ key: CAPACITY_TYPE_LABEL_KEY, operator: "In", values: allowed }],
      }),
    ],
  };
}

function hosts(preemptibleCpu: number): Host[] {
  return [
    testHost("res1", "zone-a", { capacityType: "reserved" }),
    testHost("x-pre", "zone-a", {
      capacityType: "preemptible",
      capacity: { cpu: preemptibleCpu, memory: 1024 * GiB },
    }),
    testHost("std1", "zone-a", { capacityType: "standard" }),
  ];
}

function pending(n: number) {
  return Array.from({ length: n }, (_, i) =>
    testPod(`p${i}`, undefined, {
      unschedulable: true,
      pendingSince: T0 - 60_000,
      containers: [{ cpu: 3000, memory: 4 * GiB }],
    }));
}

Deno.test("a pool allowing reserved and preemptible launches on the cheaper preemptible host", () => {
  const plan = provision(
    snapshotOf({ pods: pending(1), hosts: hosts(256_000) }),
    classConfig(["reserved", "preemptible"]),
  );
  assert.equal(plan.claims.length, 1, JSON.stringify(plan.unhelped));
  assert.equal(plan.claims[0]!.host, "x-pre");
  assert.equal(plan.claims[0]!.labels[CAPACITY_TYPE_LABEL_KEY], "preemptible");
});

Deno.test("when the preemptible hosts are full the pool falls back to reserved, never to a class it does not allow", () => {
  // x-pre has no room at all; std1 is not allowed by the pool.
  const plan = provision(
    snapshotOf({ pods: pending(1), hosts: hosts(0) }),
    classConfig(["reserved", "preemptible"]),
  );
  assert.equal(plan.claims.length, 1, JSON.stringify(plan.unhelped));
  assert.equal(plan.claims[0]!.host, "res1");
  assert.equal(plan.claims[0]!.labels[CAPACITY_TYPE_LABEL_KEY], "reserved");
});

Deno.test("a pool allowing only standard gets standard hosts even though others are cheaper", () => {
  const plan = provision(
    snapshotOf({ pods: pending(1), hosts: hosts(256_000) }),
    classConfig(["standard"]),
  );
  assert.equal(plan.claims[0]!.host, "std1");
});

Deno.test("placement takes the cheapest class with room, then falls back in price order", () => {
  const hs = [
    testHost("a-std", "z", { capacityType: "standard" }),
    testHost("b-res", "z", { capacityType: "reserved" }),
    testHost("c-pre", "z", { capacityType: "preemptible", capacity: { cpu: 2000, memory: GiB } }),
  ];
  const hostCost = (h: Host) =>
    classCost({ capacityTypes: PRICES }, h.capacityType, PRICES.standard);
  const pick = (cpu: number) =>
    chooseHost({
      hosts: hs,
      footprint: { cpu, memory: GiB / 2 },
      strategy: "leastAllocated",
      hostCost,
    });
  const small = pick(1000);
  assert.ok(small.ok);
  assert.equal(small.value.name, "c-pre");
  const big = pick(8000);
  assert.ok(big.ok);
  assert.equal(big.value.name, "b-res");
  // Without prices, the strategy alone ranks them (the emptiest host, ties by name).
  const plain = chooseHost({
    hosts: hs,
    footprint: { cpu: 1000, memory: GiB / 2 },
    strategy: "leastAllocated",
  });
  assert.ok(plain.ok);
  assert.equal(plain.value.name, "a-std");
});

Deno.test("a claim costs its capacity type's price, and a claim without one the settings' price", () => {
  const config = classConfig(["reserved"]);
  const pre = claimCostModel(config, {
    provider: "pve",
    labels: { [CAPACITY_TYPE_LABEL_KEY]: "preemptible" },
  });
  assert.deepEqual(pre, PRICES.preemptible);
  assert.deepEqual(claimCostModel(config, { provider: "pve", labels: {} }), config.settings.cost);
  // A class the provider does not price costs the settings' price.
  assert.deepEqual(
    claimCostModel(config, { provider: "pve", labels: { [CAPACITY_TYPE_LABEL_KEY]: "spot" } }),
    config.settings.cost,
  );
});

Deno.test("a pod selecting a capacity type gets a VM on a host of that class", () => {
  const pod = pending(1).map((p) => ({
    ...p,
    nodeSelector: { [CAPACITY_TYPE_LABEL_KEY]: "reserved" },
  }));
  const plan = provision(
    snapshotOf({ pods: pod, hosts: hosts(256_000) }),
    classConfig(["reserved", "preemptible"]),
  );
  assert.equal(plan.claims.length, 1, JSON.stringify(plan.unhelped));
  assert.equal(plan.claims[0]!.host, "res1");
});

Deno.test("a pod selecting a class its pool does not allow gets no VM", () => {
  const pod = pending(1).map((p) => ({
    ...p,
    nodeSelector: { [CAPACITY_TYPE_LABEL_KEY]: "standard" },
  }));
  const plan = provision(
    snapshotOf({ pods: pod, hosts: hosts(256_000) }),
    classConfig(["reserved", "preemptible"]),
  );
  assert.equal(plan.claims.length, 0);
});
