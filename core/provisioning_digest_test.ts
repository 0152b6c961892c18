/**
 * The plan digest: whole decisions on the benchmark clusters, pinned. Each digest was computed
 * on the code before the exhaustion speed work and must not move: a faster provisioning core
 * still opens the same claims (names, shapes, hosts, pods), makes the same placements and leaves
 * the same pods unhelped with the same reasons; the disruption pass, which simulates with the
 * provisioning core, decides the same too.
 *
 * Re-pinned once, on purpose: the scheduling fixes that judge a new node on its host label too
 * and take spread domains from every node label changed the two exhausted 60-host plans (same
 * counts, other claims for the pods with anti-affinity). Both the fast core and the frozen
 * reference (core/testing/provisioning_reference.ts, carrying those fixes) give the new digests.
 */
import { equal } from "node:assert/strict";
import { provision } from "./provisioning.ts";
import { disrupt } from "./disruption.ts";
import { benchConfig, benchSnapshot } from "./testing/bench_cluster.ts";
import {
  disruptionBenchCluster,
  disruptionBenchConfig,
  disruptionBusyCluster,
} from "./testing/disruption_bench_cluster.ts";
import { disruptionDigest, provisionDigest } from "./testing/plan_digest.ts";

type Case = {
  pods: number;
  hosts: number;
  claims: number;
  placements: number;
  unhelped: number;
  digest: string;
};

const PROVISION: Case[] = [
  {
    pods: 1000,
    hosts: 60,
    claims: 5,
    placements: 833,
    unhelped: 0,
    digest: "65316c4efee6b0b7fa511bd10bc32e548e0f7aa1449d85e393ab29d8df1f2edf",
  },
  {
    pods: 1000,
    hosts: 600,
    claims: 5,
    placements: 833,
    unhelped: 0,
    digest: "2e40e5cd9ccbbd2c3f45c359840e2ebab84122af1ee6e4b5b14ac2bbbe72eb64",
  },
  {
    pods: 20000,
    hosts: 60,
    claims: 506,
    placements: 977,
    unhelped: 0,
    digest: "4f6ca92094d99f098d9750af98b78ca749a0d983cb15cb138245d4678be296e7",
  },
  {
    pods: 20000,
    hosts: 600,
    claims: 507,
    placements: 977,
    unhelped: 0,
    digest: "3fd35c8c87323dd8b4e335b9c5d8d05f857f11a1740f4684fdc1ce6099f556cc",
  },
  {
    pods: 50000,
    hosts: 60,
    claims: 1095,
    placements: 963,
    unhelped: 21134,
    digest: "14532ffe93c91f043f104bb1c5812dee259ca93b035306b6ac6dc05ffb5db4c2",
  },
  {
    pods: 50000,
    hosts: 600,
    claims: 1309,
    placements: 963,
    unhelped: 0,
    digest: "bcf2a626aeb91ccab701c41e34e527289ab770d3a3a4193b39d0b0f26e536b72",
  },
  {
    pods: 100000,
    hosts: 60,
    claims: 1123,
    placements: 966,
    unhelped: 75686,
    digest: "aa3f14d04d81e8cde1a4a8dcd7a783582fc67bf8d0e14755eaf33680c2a73630",
  },
  {
    pods: 100000,
    hosts: 600,
    claims: 2654,
    placements: 966,
    unhelped: 0,
    digest: "60a38aa78655cfe0b8984f5b79ccfa0e5978fac6b48ea0e581d7edc2fba35e0f",
  },
];

const config = benchConfig();
for (const c of PROVISION) {
  Deno.test(`provisioning ${c.pods} benchmark pods on ${c.hosts} hosts decides exactly the pinned plan`, async () => {
    const plan = provision(benchSnapshot(c.pods, 1, c.hosts), config);
    equal(plan.claims.length, c.claims);
    equal(plan.placements.length, c.placements);
    equal(plan.unhelped.length, c.unhelped);
    equal(await provisionDigest(plan), c.digest);
  });
}

const DISRUPTION: {
  name: string;
  nodes?: number;
  busy: boolean;
  commands: number;
  digest: string;
}[] = [
  {
    name: "the 1000-node disruption benchmark cluster",
    busy: false,
    commands: 21,
    digest: "828de230d7b825008152b185edaeb2ceacfb444c3fdcf22ea3b9af3c89760bb1",
  },
  {
    name: "the 1000-node cluster with 20 nodes being disrupted and 30 pods pending",
    busy: true,
    commands: 20,
    digest: "671e49c58d3df96d89a691e5b0ffe85d40e977bdea6eb25d21a858e5799237e4",
  },
  {
    name: "the 10000-node disruption benchmark cluster",
    nodes: 10000,
    busy: false,
    commands: 50,
    digest: "abc15816ab4221fffd376327fdbe35bbaff182210d7432e64b7da77145f38377",
  },
];

for (const c of DISRUPTION) {
  Deno.test(`a disruption pass over ${c.name} decides exactly the pinned plan`, async () => {
    const nodes = c.nodes ?? 1000;
    const base = disruptionBenchCluster(nodes);
    const plan = disrupt(c.busy ? disruptionBusyCluster(base) : base, disruptionBenchConfig());
    equal(plan.verdicts.length, nodes);
    equal(plan.commands.length, c.commands);
    equal(await disruptionDigest(plan), c.digest);
  });
}
