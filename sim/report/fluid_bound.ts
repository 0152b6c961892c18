/**
 * Lower bounds on what any policy needs for a trace (docs/simulation.md, 'Metrics'): the fluid
 * node-hour bound ∫ max_r D_r(t)/A_r dt (nodes divisible, no boot or drain time), the integer
 * bound with ⌈·⌉, and the cost bound ∫ c_cpu·D_cpu + c_mem·D_mem dt of freely shaped VMs.
 * A_r is the largest allocatable any shape of any template offers per resource, so the bound
 * holds whatever mix of shapes a policy launches. Pods no shape can hold are left out, and
 * counted.
 *
 * May import: core/, sim/trace/format.ts, sim/engine/engine.ts (demand intervals),
 * sim/engine/world_spec.ts (types).
 */
import type { Config, Resources } from "../../core/model.ts";
import { allocatable } from "../../core/shapes.ts";
import { GiB } from "../../core/quantity.ts";
import type { Trace } from "../trace/format.ts";
import { demandInterval } from "../engine/engine.ts";
import type { DepartureModel } from "../engine/world_spec.ts";

export type FluidBound = {
  /** Node-hours, fluid. */
  nodeHours: number;
  /** Node-hours with whole nodes at every instant. */
  nodeHoursInteger: number;
  /** Cost of the demand itself at the configured prices. */
  cost: number;
  /** The allocatable per node the bound assumes (millicores, bytes). */
  perNode: Resources;
  podsCounted: number;
  podsTooLarge: number;
  peakNodes: number;
  /** N*(t), the fluid node count, at t = 0, step, 2·step, ... (when a step was given). */
  series?: number[];
};

/** Every shape's allocatable, across all templates (fixed shapes and the flexible maximum). */
export function allAllocatables(config: Config): Resources[] {
  const out: Resources[] = [];
  for (const t of config.machineTemplates) {
    for (const s of t.shapes) out.push(allocatable(t, s));
    if (t.flexible) {
      out.push(allocatable(t, { cpu: t.flexible.cpu.max, memory: t.flexible.memory.max }));
    }
  }
  return out;
}

/** Computes the bounds of `trace` up to `end` (ms). */
export function fluidBound(
  trace: Trace,
  config: Config,
  model: DepartureModel,
  end: number,
  step?: number,
): FluidBound {
  const allocs = allAllocatables(config);
  const per = {
    cpu: Math.max(0, ...allocs.map((a) => a.cpu)),
    memory: Math.max(0, ...allocs.map((a) => a.memory)),
  };
  const deltas: { t: number; cpu: number; mem: number }[] = [];
  let counted = 0;
  let tooLarge = 0;
  for (const p of trace.pods) {
    if (!allocs.some((a) => p.cpu <= a.cpu && p.memory <= a.memory)) {
      tooLarge++;
      continue;
    }
    const [a, d] = demandInterval(p, model, end);
    if (d <= a) continue;
    counted++;
    deltas.push({ t: a, cpu: p.cpu, mem: p.memory }, { t: d, cpu: -p.cpu, mem: -p.memory });
  }
  deltas.sort((x, y) => x.t - y.t);
  let cpu = 0;
  let mem = 0;
  let last = 0;
  let fluid = 0;
  let integer = 0;
  let costMs = 0;
  let peak = 0;
  const series: number[] = [];
  const nodesNow = () =>
    Math.max(per.cpu > 0 ? cpu / per.cpu : 0, per.memory > 0 ? mem / per.memory : 0);
  // A sample at T holds the demand just before the changes at T, as the engine's samples do.
  const sampleUpTo = (t: number) => {
    if (!step) return;
    while (series.length * step <= Math.min(t, end)) series.push(nodesNow());
  };
  const { perVcpuHour, perGiBHour } = config.settings.cost;
  for (const d of deltas) {
    sampleUpTo(d.t);
    const dt = d.t - last;
    if (dt > 0) {
      const n = Math.max(per.cpu > 0 ? cpu / per.cpu : 0, per.memory > 0 ? mem / per.memory : 0);
      // Guard against float dust turning an exact fit into one node more.
      const whole = Math.ceil(n - 1e-9);
      fluid += n * dt;
      integer += whole * dt;
      peak = Math.max(peak, whole);
      costMs += ((cpu / 1000) * perVcpuHour + (mem / GiB) * perGiBHour) * dt;
      last = d.t;
    }
    cpu += d.cpu;
    mem += d.mem;
  }
  sampleUpTo(end);
  const H = 3_600_000;
  return {
    nodeHours: fluid / H,
    nodeHoursInteger: integer / H,
    cost: costMs / H,
    perNode: per,
    podsCounted: counted,
    podsTooLarge: tooLarge,
    peakNodes: peak,
    ...(step ? { series } : {}),
  };
}
