import { provision } from "./provisioning.ts";
import { benchConfig, benchSnapshot } from "./testing/bench_cluster.ts";

const config = benchConfig();
for (const n of [1000, 5000, 20000]) {
  const snapshot = benchSnapshot(n);
  Deno.bench(`provision ${n} pods`, { n: n === 20000 ? 5 : 10, warmup: 1 }, () => {
    provision(snapshot, config);
  });
}
