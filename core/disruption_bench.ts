/**
 * `disruption 1000 nodes` (and `disruption 10000 nodes`): one full disruption pass over 1000 managed nodes running 30 pods each
 * (30,000 pods), every candidate evaluated: a rescheduling simulation for each non-empty node,
 * plus emptiness, drift, multi-node and single-node consolidation with budgets and PDBs.
 * Goal: under 1 s on a 2-core machine. Run: npx -y deno@2.9.6 bench -A --frozen core/disruption_bench.ts
 */
import { disrupt } from "./disruption.ts";
import {
  disruptionBenchCluster,
  disruptionBenchConfig,
  disruptionBusyCluster,
} from "./testing/disruption_bench_cluster.ts";

const snapshot = disruptionBenchCluster(1000);
const config = disruptionBenchConfig();

Deno.bench("disruption 1000 nodes", () => {
  const plan = disrupt(snapshot, config);
  if (plan.verdicts.length !== 1000) throw new Error("not every candidate was evaluated");
});

// The same cluster where one deployment in sixty (500 pods) keeps one replica per node with
// required hostname anti-affinity: every node running one of them needs topology in its simulation.
const spread = structuredClone(snapshot);
for (const p of spread.pods) {
  if (p.labels?.app === "app-5") {
    p.requiredPodAntiAffinity = [{
      topologyKey: "kubernetes.io/hostname",
      labelSelector: { matchLabels: { app: "app-5" } },
    }];
  }
}

Deno.bench("disruption 1000 nodes, one anti-affinity deployment", () => {
  const plan = disrupt(spread, config);
  if (plan.verdicts.length !== 1000) throw new Error("not every candidate was evaluated");
});

// The same cluster with 20 nodes already tainted as disrupted (their 580 pods still running,
// about to be drained) and 30 pending pods: all of them are placed first, by the provisioning
// core over the whole cluster, before any candidate is simulated.
const busy = disruptionBusyCluster(snapshot);

Deno.bench("disruption 1000 nodes, 20 being disrupted and 30 pods pending", () => {
  const plan = disrupt(busy, config);
  if (plan.verdicts.length !== 1000) throw new Error("not every candidate was evaluated");
});

// 10,000 nodes running 30 pods each (300,000 pods), every candidate evaluated.
const large = disruptionBenchCluster(10_000);
Deno.bench("disruption 10000 nodes", { n: 3, warmup: 1 }, () => {
  const plan = disrupt(large, config);
  if (plan.verdicts.length !== 10_000) throw new Error("not every candidate was evaluated");
});
