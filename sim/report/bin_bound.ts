/**
 * The per-instant bin-packing lower bound on node-hours. Between two events the set of pods
 * present is fixed; no policy can hold them on fewer nodes than the Martello-Toth bound L2 of
 * that set, taken per resource (CPU, memory, and each extended resource the pods ask for, such
 * as GPUs, whose per-node capacity is the most GPU units any shape offers) with the largest
 * allocatable any shape offers, nor on fewer than ⌈pods / max pods per node⌉. The bound integrates the largest of these over
 * time. Unlike the fluid bound it knows pods are indivisible, so on traces of large pods it sits
 * much closer to what a policy can achieve; it ignores boot and drain time, so it still holds
 * for every policy.
 *
 * L2 for items w and capacity C: for every α in {0} ∪ {w ≤ C/2},
 *   J1 = {w > C − α}, J2 = {C − α ≥ w > C/2}, J3 = {C/2 ≥ w ≥ α},
 *   L(α) = |J1| + |J2| + max(0, ⌈(ΣJ3 − (|J2|·C − ΣJ2)) / C⌉),
 * and L2 = max L(α). Items of J1 ∪ J2 need a bin each (no two fit together); items of J3 can
 * only use the room J2's bins leave (J1's leave less than α) or new bins.
 *
 * May import: core/, sim/trace/format.ts, sim/engine/engine.ts, sim/engine/world_spec.ts (types),
 * sim/report/fluid_bound.ts.
 */
import type { Config } from "../../core/model.ts";
import type { Trace } from "../trace/format.ts";
import { demandInterval } from "../engine/engine.ts";
import type { DepartureModel } from "../engine/world_spec.ts";
import { allOffers, extendedCapacities, offerHolds } from "./fluid_bound.ts";

/** Index of the first element of ascending `a` greater than `x`. */
function upper(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element of ascending `a` not less than `x`. */
function lower(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Martello-Toth L2: a lower bound on the bins of capacity `cap` that hold `sizes` (each size
 * at most `cap`). `sorted` says the sizes are already ascending.
 */
export function martelloTothL2(sizes: readonly number[], cap: number, sorted = false): number {
  if (sizes.length === 0 || cap <= 0) return 0;
  const a = sorted ? sizes : [...sizes].sort((x, y) => x - y);
  const n = a.length;
  const prefix = new Array<number>(n + 1);
  prefix[0] = 0;
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + a[i]!;
  const sum = (from: number, to: number) => prefix[to]! - prefix[from]!;
  const half = upper(a, cap / 2); // a[half..] > C/2
  let best = 0;
  const evaluate = (alpha: number) => {
    const j1 = upper(a, cap - alpha); // a[j1..] > C − α
    const j3 = lower(a, alpha); // a[j3..half) in [α, C/2]
    const big = n - half;
    const j2Count = j1 - half;
    const j2Room = j2Count * cap - sum(half, j1);
    const spill = Math.max(0, Math.ceil((sum(j3, half) - j2Room) / cap - 1e-9));
    best = Math.max(best, big + spill);
  };
  evaluate(0);
  for (let i = 0; i < half; i++) {
    if (i > 0 && a[i] === a[i - 1]) continue;
    evaluate(a[i]!);
  }
  return best;
}

/** The bound and the per-node capacities it assumed. */
export type BinBound = {
  /** Node-hours: the integral of the per-instant bound. */
  nodeHours: number;
  /** The largest per-instant bound. */
  peakNodes: number;
  /**
   * Only when the pods ask for extended resources (GPUs): the per-node capacity of each, the
   * bins of the third (and further) L2.
   */
  extendedPerNode?: Record<string, number>;
};

/** Computes the per-instant bin-packing bound of `trace` up to `end` (ms). */
export function binPackingBound(
  trace: Trace,
  config: Config,
  model: DepartureModel,
  end: number,
): BinBound {
  const allocs = allOffers(config);
  const extCaps = extendedCapacities(trace, allocs);
  const capCpu = Math.max(0, ...allocs.map((a) => a.cpu));
  const capMem = Math.max(0, ...allocs.map((a) => a.memory));
  const maxPods = Math.max(1, ...config.machineTemplates.map((t) => t.maxPods));
  type Ev = { t: number; i: number; add: boolean };
  const evs: Ev[] = [];
  const cpus: number[] = [];
  const mems: number[] = [];
  // Per extended resource: each pod's request (0 when it asks none, and then never in the set).
  const exts: number[][] = extCaps.map(() => []);
  for (const p of trace.pods) {
    if (!allocs.some((a) => offerHolds(a, p.cpu, p.memory, p.extended))) continue;
    const [a, d] = demandInterval(p, model, end);
    if (d <= a) continue;
    const i = cpus.length;
    cpus.push(p.cpu);
    mems.push(p.memory);
    extCaps.forEach(([k], j) => exts[j]!.push(p.extended?.[k] ?? 0));
    evs.push({ t: a, i, add: true }, { t: d, i, add: false });
  }
  evs.sort((x, y) => x.t - y.t || Number(x.add) - Number(y.add));
  // Ascending multisets of the present pods' requests, kept sorted by binary insertion.
  const cpuSet: number[] = [];
  const memSet: number[] = [];
  const extSets: number[][] = extCaps.map(() => []);
  const put = (set: number[], x: number) => set.splice(lower(set, x), 0, x);
  const take = (set: number[], x: number) => set.splice(lower(set, x), 1);
  let last = 0;
  let area = 0;
  let peak = 0;
  let k = 0;
  while (k < evs.length) {
    const t = evs[k]!.t;
    if (t > last && cpuSet.length > 0) {
      let nodes = Math.max(
        martelloTothL2(cpuSet, capCpu, true),
        martelloTothL2(memSet, capMem, true),
        Math.ceil(cpuSet.length / maxPods),
      );
      for (let j = 0; j < extCaps.length; j++) {
        nodes = Math.max(nodes, martelloTothL2(extSets[j]!, extCaps[j]![1], true));
      }
      area += nodes * (t - last);
      peak = Math.max(peak, nodes);
    }
    last = t;
    for (; k < evs.length && evs[k]!.t === t; k++) {
      const e = evs[k]!;
      if (e.add) {
        put(cpuSet, cpus[e.i]!);
        put(memSet, mems[e.i]!);
      } else {
        take(cpuSet, cpus[e.i]!);
        take(memSet, mems[e.i]!);
      }
      for (let j = 0; j < extCaps.length; j++) {
        const x = exts[j]![e.i]!;
        if (x > 0) (e.add ? put : take)(extSets[j]!, x);
      }
    }
  }
  return {
    nodeHours: area / 3_600_000,
    peakNodes: peak,
    ...(extCaps.length ? { extendedPerNode: Object.fromEntries(extCaps) } : {}),
  };
}
