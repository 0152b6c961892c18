/**
 * Lower bounds on what any policy needs for a trace (docs/simulation.md, 'Metrics'): the fluid
 * node-hour bound ∫ max_r D_r(t)/A_r dt (nodes divisible, no boot or drain time), the integer
 * bound with ⌈·⌉, and the cost bound ∫ c_cpu·D_cpu + c_mem·D_mem dt of freely shaped VMs.
 * A_r is the largest allocatable any shape of any template offers per resource, so the bound
 * holds whatever mix of shapes a policy launches. Extended resources the trace's pods ask for
 * (GPUs as nvidia.com/gpu units) are resources r too, A_r the most any shape offers (its GPUs
 * times the template's time-slicing replicas), and the cost bound adds their GPUs at perGpuHour.
 * Pods no shape can hold are left out, and counted.
 *
 * May import: core/, sim/trace/format.ts, sim/engine/engine.ts (demand intervals),
 * sim/engine/world_spec.ts (types).
 */
import type { Config, Resources } from "../../core/model.ts";
import { allocatable } from "../../core/shapes.ts";
import { gpuOffer, gpuResource, offeredExtended } from "../../core/gpus.ts";
import { GiB } from "../../core/quantity.ts";
import { classCost } from "../../core/cost.ts";
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
  /**
   * Only when the trace's pods ask for extended resources (GPUs): the most of each any node
   * offers, and the demand integrated over time, in unit-hours.
   */
  extended?: { perNode: Record<string, number>; demandHours: Record<string, number> };
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

/** A shape's allocatable with the extended resources (GPUs) it offers. */
export type Offer = Resources & { ext?: Record<string, number> | undefined };

/** Every shape's offer, across all templates (flexible sizes offer no GPUs). */
export function allOffers(config: Config): Offer[] {
  const out: Offer[] = [];
  for (const t of config.machineTemplates) {
    for (const s of t.shapes) out.push({ ...allocatable(t, s), ext: offeredExtended(t, s) });
    if (t.flexible) {
      const a = allocatable(t, { cpu: t.flexible.cpu.max, memory: t.flexible.memory.max });
      out.push({ ...a, ext: t.extendedResources });
    }
  }
  return out;
}

/** Does a pod of `cpu`, `memory` and extended `ext` requests fit `o`? */
export function offerHolds(
  o: Offer,
  cpu: number,
  memory: number,
  ext: Readonly<Record<string, number>> | undefined,
): boolean {
  if (cpu > o.cpu || memory > o.memory) return false;
  for (const k in ext ?? {}) if (ext![k]! > (o.ext?.[k] ?? 0)) return false;
  return true;
}

/** The extended resources the trace's pods ask for, sorted, with the most any offer holds. */
export function extendedCapacities(trace: Trace, offers: readonly Offer[]): [string, number][] {
  const names = new Set<string>();
  for (const p of trace.pods) for (const k in p.extended ?? {}) names.add(k);
  return [...names].sort().map((k) => [k, Math.max(0, ...offers.map((o) => o.ext?.[k] ?? 0))]);
}

/**
 * The lowest price of one unit of extended resource `name` per hour: a GPU's perGpuHour over
 * the template's replicas (0 when no template prices it).
 */
function unitPrice(config: Config, name: string): number {
  let best = Infinity;
  for (const t of config.machineTemplates) {
    if (gpuResource(t) !== name) continue;
    for (const s of t.shapes) {
      const n = gpuOffer(t, s);
      if (n > 0) {
        best = Math.min(best, ((s.gpus!.count) * (config.settings.cost.perGpuHour ?? 0)) / n);
      }
    }
  }
  return best === Infinity ? 0 : best;
}

/** Computes the bounds of `trace` up to `end` (ms). */
export function fluidBound(
  trace: Trace,
  config: Config,
  model: DepartureModel,
  end: number,
  step?: number,
): FluidBound {
  const allocs = allOffers(config);
  const per = {
    cpu: Math.max(0, ...allocs.map((a) => a.cpu)),
    memory: Math.max(0, ...allocs.map((a) => a.memory)),
  };
  // Extended resources (GPUs): demand per name, with the most one node offers and unit prices.
  const extCaps = extendedCapacities(trace, allocs);
  const extIdx = new Map(extCaps.map(([k], i) => [k, i]));
  const extNow = extCaps.map(() => 0);
  const extMs = extCaps.map(() => 0);
  const extPrice = extCaps.map(([k]) => unitPrice(config, k));
  const deltas: { t: number; cpu: number; mem: number; ext?: [number, number][] }[] = [];
  let counted = 0;
  let tooLarge = 0;
  for (const p of trace.pods) {
    if (!allocs.some((a) => offerHolds(a, p.cpu, p.memory, p.extended))) {
      tooLarge++;
      continue;
    }
    const [a, d] = demandInterval(p, model, end);
    if (d <= a) continue;
    counted++;
    if (p.extended) {
      const e = Object.entries(p.extended).map(([k, v]) => [extIdx.get(k)!, v] as [number, number]);
      deltas.push(
        { t: a, cpu: p.cpu, mem: p.memory, ext: e },
        { t: d, cpu: -p.cpu, mem: -p.memory, ext: e.map(([i, v]) => [i, -v]) },
      );
    } else {
      deltas.push({ t: a, cpu: p.cpu, mem: p.memory }, { t: d, cpu: -p.cpu, mem: -p.memory });
    }
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
  const extNodes = () => {
    let n = 0;
    for (let i = 0; i < extCaps.length; i++) {
      const cap = extCaps[i]![1];
      if (cap > 0) n = Math.max(n, extNow[i]! / cap);
    }
    return n;
  };
  const nodesNow = () =>
    Math.max(
      per.cpu > 0 ? cpu / per.cpu : 0,
      per.memory > 0 ? mem / per.memory : 0,
      extCaps.length ? extNodes() : 0,
    );
  // A sample at T holds the demand just before the changes at T, as the engine's samples do.
  const sampleUpTo = (t: number) => {
    if (!step) return;
    while (series.length * step <= Math.min(t, end)) series.push(nodesNow());
  };
  const { perVcpuHour, perGiBHour } = cheapestRates(config);
  for (const d of deltas) {
    sampleUpTo(d.t);
    const dt = d.t - last;
    if (dt > 0) {
      const n = nodesNow();
      // Guard against float dust turning an exact fit into one node more.
      const whole = Math.ceil(n - 1e-9);
      fluid += n * dt;
      integer += whole * dt;
      peak = Math.max(peak, whole);
      costMs += ((cpu / 1000) * perVcpuHour + (mem / GiB) * perGiBHour) * dt;
      for (let i = 0; i < extCaps.length; i++) {
        extMs[i]! += extNow[i]! * dt;
        costMs += extNow[i]! * extPrice[i]! * dt;
      }
      last = d.t;
    }
    cpu += d.cpu;
    mem += d.mem;
    for (const [i, v] of d.ext ?? []) extNow[i]! += v;
  }
  sampleUpTo(end);
  const H = 3_600_000;
  return {
    nodeHours: fluid / H,
    nodeHoursInteger: integer / H,
    cost: costMs / H,
    perNode: per,
    ...(extCaps.length
      ? {
        extended: {
          perNode: Object.fromEntries(extCaps),
          demandHours: Object.fromEntries(extCaps.map(([k], i) => [k, extMs[i]! / H])),
        },
      }
      : {}),
    podsCounted: counted,
    podsTooLarge: tooLarge,
    peakNodes: peak,
    ...(step ? { series } : {}),
  };
}

/**
 * The lowest price per vCPU-hour and per GiB-hour any host offers: settings.cost, or with host
 * classes the cheapest class's (each resource on its own), so the cost bound stays a bound.
 */
function cheapestRates(config: Config): { perVcpuHour: number; perGiBHour: number } {
  const base = config.settings.cost;
  if (!config.providers.some((p) => p.capacityTypes)) return base;
  let cpu = Infinity;
  let mem = Infinity;
  for (const p of config.providers) {
    for (const h of p.hosts) {
      const c = classCost(p, h.capacityType, base);
      cpu = Math.min(cpu, c.perVcpuHour);
      mem = Math.min(mem, c.perGiBHour);
    }
  }
  return cpu === Infinity ? base : { perVcpuHour: cpu, perGiBHour: mem };
}
