/**
 * Predictive scale-up in the decision core: off unless a pool opts in, pre-launches with reason
 * Forecast within the cap and the pool limits, switches itself off on an unpredictable history,
 * and keeps its capacity from consolidation while its window is open.
 */
import assert from "node:assert/strict";
import { provision } from "./provisioning.ts";
import { benchConfig, benchSnapshot } from "./testing/bench_cluster.ts";
import type { Config, Node, Pod, Snapshot } from "./model.ts";
import { GiB } from "./quantity.ts";
import {
  FORECAST_UNTIL_LABEL,
  forecastConfigured,
  holdForecastCapacity,
  withForecast,
} from "./forecast.ts";
import { bucketOf, type DemandHistory } from "./forecast_history.ts";
import { DAY_BUCKETS } from "./forecast_model.ts";
import { planCapacity } from "./reconcile.ts";
import { initialDisruptionState } from "./disruption.ts";
import { seededRng } from "./testing/rng.ts";

const NOW = 1_700_000_000_000;

/** One pool, two nearly full nodes of it, three 1.2-core pods on each. */
function cluster(forecast = true): { snapshot: Snapshot; config: Config } {
  const config = benchConfig();
  config.nodePools = config.nodePools.slice(0, 1);
  if (forecast) {
    config.nodePools[0]!.scaleUp.forecast = { maxNodes: 2, maxError: 0.2, horizon: 120_000 };
  }
  const base = benchSnapshot(0);
  const nodes: Node[] = [0, 1].map((i) => ({
    name: `n${i}`,
    labels: { "kubernetes.io/hostname": `n${i}`, "proxscale.io/nodepool": "pool-0" },
    allocatable: { cpu: 3900, memory: 7 * GiB, pods: 110 },
    ready: true,
    createdAt: NOW - 86_400_000,
  }));
  const pods: Pod[] = [];
  for (const n of nodes) {
    for (let j = 0; j < 3; j++) {
      pods.push({
        uid: `${n.name}-${j}`,
        name: `${n.name}-${j}`,
        namespace: "default",
        nodeName: n.name,
        phase: "Running",
        createdAt: NOW - 3_600_000,
        containers: [{ cpu: 1200, memory: 2 * GiB }],
      });
    }
  }
  return { snapshot: { ...base, now: NOW, nodes, pods, nodeClaims: [] }, config };
}

/** Three days of buckets up to the one before NOW: demand now plus a daily sine rising now. */
function history(shape: (b: number) => number): Record<string, DemandHistory> {
  const last = bucketOf(NOW) - 1;
  const n = 3 * DAY_BUCKETS;
  const first = last - n + 1;
  const cpu: number[] = [];
  const memory: number[] = [];
  for (let b = first; b <= last; b++) {
    const v = shape(b - last);
    cpu.push(7200 + v);
    memory.push(12 * GiB + (v / 1200) * 2 * GiB);
  }
  return { "pool-0": { first, cpu, memory, gpus: cpu.map(() => 0) } };
}
const rising = (k: number) => 60_000 * Math.sin((2 * Math.PI * k) / DAY_BUCKETS);

Deno.test("with no pool opting in the plan and the snapshot come back as the very objects given", () => {
  const { snapshot, config } = cluster(false);
  snapshot.demandHistory = history(rising);
  assert.equal(forecastConfigured(config), false);
  const plan = provision(snapshot, config);
  assert.equal(withForecast(snapshot, config, plan, provision).plan, plan);
  assert.equal(holdForecastCapacity(snapshot, config, []), snapshot);
});

Deno.test("a rising daily history pre-launches Forecast claims that say the predicted demand, error and horizon", () => {
  const { snapshot, config } = cluster();
  snapshot.demandHistory = history(rising);
  const plain = provision(snapshot, config);
  assert.equal(plain.claims.length, 0, "nothing is pending");
  const { plan, notes, placeholders } = withForecast(snapshot, config, plain, provision);
  assert.ok(placeholders.length > 0);
  assert.equal(notes[0]!.on, true);
  assert.ok(plan.claims.length >= 1 && plan.claims.length <= 2, `${plan.claims.length} claims`);
  for (const c of plan.claims) {
    assert.equal(c.reason.code, "Forecast");
    assert.match(c.reason.message, /predicted peak demand within 120 s is [\d.]+ CPU/);
    assert.match(c.reason.message, /model error \d+% \(threshold 20%\)/);
    assert.match(c.reason.message, /horizon 120 s/);
    assert.deepEqual(c.pods, []);
    assert.equal(
      Number(c.labels[FORECAST_UNTIL_LABEL]),
      Math.ceil((NOW + 120_000 + 300_000) / 1000),
    );
  }
});

Deno.test("forecast claims stay within maxNodes, counting those still in their window", () => {
  const { snapshot, config } = cluster();
  config.nodePools[0]!.scaleUp.forecast!.maxNodes = 1;
  snapshot.demandHistory = history((k) => 10 * rising(k));
  const first = withForecast(snapshot, config, provision(snapshot, config), provision).plan;
  assert.equal(first.claims.length, 1, "a steep rise is capped at maxNodes 1");
  snapshot.nodeClaims = [{
    name: "ahead",
    nodePool: "pool-0",
    machineTemplate: "bench",
    provider: "bench",
    shape: first.claims[0]!.shape,
    createdAt: NOW - 10_000,
    labels: { [FORECAST_UNTIL_LABEL]: String(NOW / 1000 + 60) },
    taints: [],
    startupTaints: [],
    conditions: [],
  }];
  const next = withForecast(snapshot, config, provision(snapshot, config), provision).plan;
  assert.equal(next.claims.length, 0, "the one forecast claim in its window uses the cap");
});

Deno.test("the pool's limits bound forecast claims like any other", () => {
  const { snapshot, config } = cluster();
  config.nodePools[0]!.limits = { cpu: 1000 };
  snapshot.demandHistory = history(rising);
  const { plan } = withForecast(snapshot, config, provision(snapshot, config), provision);
  assert.equal(plan.claims.length, 0);
});

Deno.test("a random history switches the forecast off and says why", () => {
  const { snapshot, config } = cluster();
  const rng = seededRng(3);
  snapshot.demandHistory = history(() => rng.next() * 40_000);
  const plain = provision(snapshot, config);
  const { plan, notes } = withForecast(snapshot, config, plain, provision);
  assert.equal(plan, plain);
  assert.equal(notes[0]!.on, false);
  assert.equal(notes[0]!.reason.code, "ForecastOff");
  assert.match(
    notes[0]!.reason.message,
    /above scaleUp\.forecast\.maxError 20%; scaling up on demand only/,
  );
});

Deno.test("without history the forecast is off and says so", () => {
  const { snapshot, config } = cluster();
  const { notes } = withForecast(snapshot, config, provision(snapshot, config), provision);
  assert.match(notes[0]!.reason.message, /no demand history yet/);
});

Deno.test("consolidation leaves a forecast claim's node alone until its window has passed", () => {
  const { snapshot, config } = cluster();
  snapshot.nodes.push({
    name: "ahead-node",
    labels: { "proxscale.io/nodepool": "pool-0" },
    allocatable: { cpu: 3900, memory: 7 * GiB, pods: 110 },
    ready: true,
    createdAt: NOW - 60_000,
  });
  snapshot.nodeClaims = [{
    name: "ahead",
    nodePool: "pool-0",
    machineTemplate: "bench",
    provider: "bench",
    shape: { name: "4c", cpu: 4000, memory: 8 * GiB },
    nodeName: "ahead-node",
    createdAt: NOW - 120_000,
    labels: { [FORECAST_UNTIL_LABEL]: String(NOW / 1000 + 30) },
    taints: [],
    startupTaints: [],
    conditions: (["Launched", "Registered", "Initialized", "Ready"] as const).map((type) => ({
      type,
      status: "True" as const,
      reason: type,
      message: "",
      lastTransitionTime: NOW - 60_000,
    })),
  }];
  const held = holdForecastCapacity(snapshot, config, []);
  const node = held.nodes.find((n) => n.name === "ahead-node")!;
  assert.equal(node.annotations?.["proxscale.io/do-not-disrupt"], "true");
  const cap = planCapacity(snapshot, config, initialDisruptionState());
  assert.equal(
    cap.disruption.verdicts.find((v) => v.node === "ahead-node")?.reason.code,
    "DoNotDisrupt",
  );
  assert.ok(!cap.commands.some((c) => c.candidates.some((x) => x.node === "ahead-node")));
  const later = { ...snapshot, now: NOW + 31_000 };
  assert.equal(holdForecastCapacity(later, config, []), later);
  const after = planCapacity(later, config, initialDisruptionState());
  assert.ok(
    after.disruption.verdicts.some((v) =>
      v.node === "ahead-node" && v.reason.code !== "DoNotDisrupt"
    ),
  );
});
