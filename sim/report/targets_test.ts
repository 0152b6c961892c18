import assert from "node:assert/strict";
import { compare, type SimReport } from "./compare.ts";
import { defaultTrace } from "../trace/default_trace.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import { defaultWorld } from "../engine/world_spec.ts";
import { buildPolicy } from "../policies/registry.ts";

let cached: SimReport | undefined;
function report(): SimReport {
  const config = defaultSimConfig();
  return cached ??= compare({
    trace: defaultTrace(),
    config,
    world: defaultWorld(),
    seed: 1,
    policies: [buildPolicy("proxscale", config), buildPolicy("cluster-autoscaler", config)],
  });
}

Deno.test("default trace: proxscale within 1.10x of the fluid bound at p95 pending <= boot + 10 s", () => {
  const r = report();
  const px = r.policies.find((p) => p.name === "proxscale")!;
  assert.ok(
    px.nodeHoursToFluidBound <= 1.1,
    `node-hours ${px.summary.nodeHours} = ${px.nodeHoursToFluidBound}x the fluid bound ${r.bound.nodeHours}`,
  );
  assert.ok(px.nodeHoursToFluidBound >= 1, "no policy beats the lower bound");
  assert.ok(
    px.summary.pendingSeconds.p95 <= r.world.bootDelaySeconds + 10,
    `p95 ${px.summary.pendingSeconds.p95} s vs boot delay ${r.world.bootDelaySeconds} s`,
  );
  assert.equal(px.summary.podsNeverScheduled, 0);
  assert.equal(r.targets.proxscale?.withinFluidTarget, true);
  assert.equal(r.targets.proxscale?.meetsPendingTarget, true);
});

Deno.test("default trace: proxscale uses fewer node-hours than the Cluster-Autoscaler-like baseline", () => {
  const r = report();
  const px = r.policies.find((p) => p.name === "proxscale")!;
  const ca = r.policies.find((p) => p.name === "cluster-autoscaler")!;
  assert.ok(
    px.summary.nodeHours < ca.summary.nodeHours,
    `${px.summary.nodeHours} vs ${ca.summary.nodeHours}`,
  );
  assert.ok(px.summary.cost < ca.summary.cost);
  assert.equal(r.targets.proxscale?.belowClusterAutoscaler, true);
});
