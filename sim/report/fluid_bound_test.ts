import assert from "node:assert/strict";
import { fluidBound } from "./fluid_bound.ts";
import { defaultSimConfig, shapeOf } from "../policies/default_config.ts";
import type { Trace } from "../trace/format.ts";
import { GiB, MiB } from "../../core/quantity.ts";

const H = 3_600_000;

Deno.test("fluid bound integrates max_r demand/allocatable; integer bound rounds up per instant", () => {
  // One shape 4 vCPU / 8 GiB, reserved 100m / 512Mi: allocatable 3900m / 7.5 GiB.
  const config = defaultSimConfig({ shapes: [shapeOf(4, 8)] });
  const trace: Trace = {
    name: "t",
    source: "",
    duration: 4 * H,
    pods: [
      // CPU-bound for the first hour: 3900m = exactly one node.
      { namespace: "a", name: "cpu", arrival: 0, departure: H, cpu: 3900, memory: GiB },
      // Memory-bound for two hours: 3.75 GiB = half a node.
      { namespace: "a", name: "mem", arrival: H, departure: 3 * H, cpu: 100, memory: 3840 * MiB },
      // A pod no shape holds is left out and counted.
      { namespace: "a", name: "big", arrival: 0, departure: H, cpu: 64_000, memory: GiB },
      // A batch pod runs runFor from its arrival in the bound: 30 min at 1950m = half a node.
      { namespace: "a", name: "job", arrival: 3 * H, runFor: H / 2, cpu: 1950, memory: GiB },
    ],
    nodes: [],
    pdbs: [],
    notes: [],
  };
  const b = fluidBound(trace, config, "auto", trace.duration, H);
  assert.equal(b.podsTooLarge, 1);
  assert.equal(b.podsCounted, 3);
  assert.deepEqual(b.perNode, { cpu: 3900, memory: 7.5 * GiB });
  assert.ok(Math.abs(b.nodeHours - (1 + 2 * 0.5 + 0.25)) < 1e-9, String(b.nodeHours));
  assert.ok(Math.abs(b.nodeHoursInteger - (1 + 2 + 0.5)) < 1e-9, String(b.nodeHoursInteger));
  assert.equal(b.peakNodes, 1);
  // Sampled like the engine: the value at T is the demand just before the changes at T.
  assert.deepEqual(b.series, [0, 1, 0.5, 0.5, 0]);
  const { perVcpuHour, perGiBHour } = config.settings.cost;
  const cost = (3.9 * perVcpuHour + 1 * perGiBHour) + 2 * (0.1 * perVcpuHour + 3.75 * perGiBHour) +
    0.5 * (1.95 * perVcpuHour + 1 * perGiBHour);
  assert.ok(Math.abs(b.cost - cost) < 1e-9);
});
