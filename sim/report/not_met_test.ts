import assert from "node:assert/strict";
import { compare } from "./compare.ts";
import { renderReportTable } from "./table.ts";
import { canonicalJson } from "./json.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import { defaultWorld } from "../engine/world_spec.ts";
import { buildPolicy } from "../policies/registry.ts";
import type { Trace } from "../trace/format.ts";
import { GiB } from "../../core/quantity.ts";

Deno.test("when no pod ever ran, every target says not met, in the table and in the JSON", () => {
  const config = defaultSimConfig();
  const trace: Trace = {
    name: "too-big",
    source: "test",
    duration: 3_600_000,
    pods: [{
      namespace: "t",
      name: "huge",
      arrival: 0,
      departure: 1_800_000,
      cpu: 64_000,
      memory: GiB,
    }],
    nodes: [],
    pdbs: [],
    notes: [],
  };
  const r = compare({
    trace,
    config,
    world: defaultWorld(),
    seed: 1,
    policies: [buildPolicy("proxscale", config), buildPolicy("cluster-autoscaler", config)],
  });
  const t = r.targets.proxscale!;
  assert.equal(t.podsRan, false);
  assert.equal(t.withinFluidTarget, false);
  assert.equal(t.meetsPendingTarget, false);
  assert.equal(t.belowClusterAutoscaler, false);
  const json = JSON.parse(canonicalJson(r));
  assert.equal(json.targets.proxscale.withinFluidTarget, false);
  const table = renderReportTable(r);
  assert.match(table, /no pod ran, so no target is met/);
  assert.doesNotMatch(table, /: met\b/);
});

Deno.test("the report carries the bin-packing bound, never below the fluid bound, and ratios to it", () => {
  const config = defaultSimConfig();
  const trace: Trace = {
    name: "three-big",
    source: "test",
    duration: 3_600_000,
    // Three pods of 2.5 vCPU: 1.9 nodes of fluid demand, but no two share a 3.9-vCPU node.
    pods: ["a", "b", "c"].map((n) => ({
      namespace: "t",
      name: n,
      arrival: 0,
      cpu: 2_500,
      memory: GiB,
    })),
    nodes: [],
    pdbs: [],
    notes: [],
  };
  const r = compare({
    trace,
    config,
    world: defaultWorld(),
    seed: 1,
    policies: [buildPolicy("proxscale", config)],
  });
  assert.ok(Math.abs(r.binBound.nodeHours - 3) < 1e-9, `${r.binBound.nodeHours}`);
  assert.ok(r.bound.nodeHours < 2);
  const px = r.policies[0]!;
  assert.ok(Math.abs(px.nodeHoursToBinBound - px.summary.nodeHours / 3) < 1e-9);
  // The pods wait for their nodes' boot, so the policy pays slightly under 3 node-hours.
  assert.ok(px.nodeHoursToBinBound > 0.98 && px.nodeHoursToBinBound < 1.02);
  assert.match(renderReportTable(r), /bin-packing bound 3\.0 node-hours/);
});
