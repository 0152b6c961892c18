/**
 * Provisioning benchmarks on the Karpenter-mix cluster (core/testing/bench_cluster.ts): 600
 * hosts leave room for every pod; 60 hosts run out at about 30,000 pods, so the 100,000-pod run
 * measures the decision once hosts are exhausted (about 76,000 pods left unhelped).
 * Run: npx -y deno@2.9.6 bench -A --frozen core/provisioning_bench.ts
 */
import { provision } from "./provisioning.ts";
import { benchConfig, benchSnapshot } from "./testing/bench_cluster.ts";

const config = benchConfig();
for (const n of [1000, 5000, 20000]) {
  const snapshot = benchSnapshot(n);
  Deno.bench(`provision ${n} pods`, { n: n === 20000 ? 5 : 10, warmup: 1 }, () => {
    provision(snapshot, config);
  });
}

const roomy = benchSnapshot(100_000, 1, 600);
Deno.bench("provision 100000 pods", { n: 3, warmup: 1 }, () => {
  const plan = provision(roomy, config);
  if (plan.unhelped.length !== 0) throw new Error("600 hosts should hold every pod");
});

const full = benchSnapshot(100_000, 1, 60);
Deno.bench("provision 100000 pods, hosts exhausted", { n: 3, warmup: 1 }, () => {
  const plan = provision(full, config);
  if (plan.unhelped.length === 0) throw new Error("60 hosts should run out");
});
