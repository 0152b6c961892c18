/**
 * The fast provisioning core against a frozen copy of the core as it was before the exhaustion
 * speed work: on random clusters (pools with random shape lists, some of them chains and some
 * not, hosts that fill up, limits, spread and anti-affinity), both decide exactly the same plan.
 */
import fc from "fast-check";
import { deepEqual } from "node:assert/strict";
import { provision } from "./provisioning.ts";
import { referenceProvision } from "./testing/provisioning_reference.ts";
import { clusterArb } from "./testing/cluster_arbitrary.ts";
import { benchConfig, benchSnapshot } from "./testing/bench_cluster.ts";
import { GiB } from "./quantity.ts";

Deno.test("provisioning decides exactly what the core before the speed work decided, on random clusters", () => {
  fc.assert(
    fc.property(clusterArb(60), ({ snapshot, config }) => {
      deepEqual(provision(snapshot, config), referenceProvision(snapshot, config));
    }),
    { numRuns: 400 },
  );
});

Deno.test("on benchmark clusters whose few hosts run out, the plan is exactly the one before the speed work", () => {
  const config = benchConfig();
  for (const seed of [2, 3, 4]) {
    const snapshot = benchSnapshot(3000, seed, 3 + seed);
    deepEqual(provision(snapshot, config), referenceProvision(snapshot, config));
  }
});

Deno.test("with shapes that do not only grow (no shortcut applies), the plan is exactly the one before", () => {
  const config = benchConfig();
  // A cheap shape with more memory than the next one: the shape list is no longer a chain.
  config.machineTemplates[0]!.shapes.splice(1, 0, { name: "odd", cpu: 2000, memory: 24 * GiB });
  config.settings = { ...config.settings, cost: { perVcpuHour: 0.02, perGiBHour: 0 } };
  for (const seed of [2, 3]) {
    const snapshot = benchSnapshot(3000, seed, 3 + seed);
    deepEqual(provision(snapshot, config), referenceProvision(snapshot, config));
  }
});
