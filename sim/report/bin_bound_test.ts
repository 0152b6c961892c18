import assert from "node:assert/strict";
import fc from "fast-check";
import { binPackingBound, martelloTothL2 } from "./bin_bound.ts";
import { fluidBound } from "./fluid_bound.ts";
import { defaultSimConfig, shapeOf } from "../policies/default_config.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import { GiB, MiB } from "../../core/quantity.ts";

/** The fewest bins of capacity (capA, capB) that hold the items, by trying every assignment. */
function optimalBins(items: [number, number][], capA: number, capB: number): number {
  let best = items.length;
  const bins: [number, number][] = [];
  const go = (i: number) => {
    if (bins.length >= best) return;
    if (i === items.length) {
      best = bins.length;
      return;
    }
    const [a, b] = items[i]!;
    for (const bin of bins) {
      if (bin[0] + a <= capA && bin[1] + b <= capB) {
        bin[0] += a;
        bin[1] += b;
        go(i + 1);
        bin[0] -= a;
        bin[1] -= b;
      }
    }
    bins.push([a, b]);
    go(i + 1);
    bins.pop();
  };
  go(0);
  return best;
}

Deno.test("Martello-Toth L2 never exceeds the optimal packing and never falls below ⌈Σ/C⌉", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 8 }),
      (sizes) => {
        const opt = optimalBins(sizes.map((s) => [s, 0]), 100, 1);
        const l2 = martelloTothL2(sizes, 100);
        assert.ok(l2 <= opt, `L2 ${l2} > optimum ${opt} for ${sizes}`);
        const sum = sizes.reduce((x, y) => x + y, 0);
        assert.ok(l2 >= Math.ceil(sum / 100), `L2 ${l2} below the volume bound for ${sizes}`);
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("L2 sees what the volume bound cannot: three items just over half need three bins", () => {
  assert.equal(martelloTothL2([51, 51, 51], 100), 3);
  assert.equal(Math.ceil(153 / 100), 2);
  // Items of 60 and 45: each 60 leaves 40, too little for a 45, so the 45s need bins of their own.
  assert.equal(martelloTothL2([60, 60, 45, 45], 100), 3);
  assert.equal(optimalBins([[60, 0], [60, 0], [45, 0], [45, 0]], 100, 1), 3);
});

Deno.test("the per-instant bound of a small trace is at most the optimal packing at every instant", () => {
  const H = 3_600_000;
  const config = defaultSimConfig({ shapes: [shapeOf(4, 8)] });
  const cap = { cpu: 3900, memory: 8 * GiB - 512 * MiB };
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          arrival: fc.integer({ min: 0, max: 4 }),
          life: fc.integer({ min: 1, max: 4 }),
          cpu: fc.integer({ min: 100, max: 3900 }),
          mem: fc.integer({ min: 64, max: 7680 }),
        }),
        { minLength: 1, maxLength: 7 },
      ),
      (raw) => {
        const pods: TracePod[] = raw.map((p, i) => ({
          namespace: "b",
          name: `p${i}`,
          arrival: p.arrival * H,
          departure: (p.arrival + p.life) * H,
          cpu: p.cpu,
          memory: p.mem * MiB,
        }));
        pods.sort((a, b) => a.arrival - b.arrival);
        const trace: Trace = {
          name: "b",
          source: "",
          duration: 8 * H,
          pods,
          nodes: [],
          pdbs: [],
          notes: [],
        };
        // The optimum, hour by hour (every event falls on a whole hour).
        let opt = 0;
        for (let h = 0; h < 8; h++) {
          const here = pods.filter((p) => p.arrival <= h * H && p.departure! > h * H);
          opt += optimalBins(here.map((p) => [p.cpu, p.memory]), cap.cpu, cap.memory);
        }
        const bin = binPackingBound(trace, config, "fixed-departure", 8 * H);
        const fluid = fluidBound(trace, config, "fixed-departure", 8 * H);
        assert.ok(bin.nodeHours <= opt + 1e-9, `bound ${bin.nodeHours} > optimum ${opt}`);
        assert.ok(bin.nodeHours >= fluid.nodeHoursInteger - 1e-9, "below the integer bound");
      },
    ),
    { numRuns: 1000 },
  );
});

/** The fewest bins of capacity `cap` (any number of dimensions) that hold the items. */
function optimalBinsN(items: number[][], cap: number[]): number {
  let best = items.length;
  const bins: number[][] = [];
  const go = (i: number) => {
    if (bins.length >= best) return;
    if (i === items.length) {
      best = bins.length;
      return;
    }
    const it = items[i]!;
    for (const bin of bins) {
      if (bin.every((v, d) => v + it[d]! <= cap[d]!)) {
        bin.forEach((_, d) => (bin[d]! += it[d]!));
        go(i + 1);
        bin.forEach((_, d) => (bin[d]! -= it[d]!));
      }
    }
    bins.push([...it]);
    go(i + 1);
    bins.pop();
  };
  go(0);
  return best;
}

/** The built-in config with only its 1-GPU shape (8 vCPU / 32 GiB), each GPU 4 replicas. */
function gpuOnlyConfig() {
  const c = defaultSimConfig({ gpu: { replicas: 4, maxGpus: 1 } });
  const t = c.machineTemplates[0]!;
  return { ...c, machineTemplates: [{ ...t, shapes: t.shapes.filter((s) => s.gpus) }] };
}

Deno.test("the bounds count GPUs: pods that each need most of a node's GPU units need a node each", () => {
  const H = 3_600_000;
  const config = gpuOnlyConfig();
  const pods: TracePod[] = [0, 1, 2].map((i) => ({
    namespace: "g",
    name: `g${i}`,
    arrival: 0,
    departure: H,
    cpu: 100,
    memory: 64 * MiB,
    extended: { "nvidia.com/gpu": 3 },
  }));
  const trace: Trace = { name: "g", source: "", duration: H, pods, nodes: [], pdbs: [], notes: [] };
  const bin = binPackingBound(trace, config, "fixed-departure", H);
  assert.equal(bin.nodeHours, 3, "3 + 3 units exceed a node's 4: one node each");
  assert.deepEqual(bin.extendedPerNode, { "nvidia.com/gpu": 4 });
  const fluid = fluidBound(trace, config, "fixed-departure", H);
  assert.equal(fluid.nodeHours, 9 / 4, "9 units at 4 per node");
  assert.deepEqual(fluid.extended, {
    perNode: { "nvidia.com/gpu": 4 },
    demandHours: { "nvidia.com/gpu": 9 },
  });
  // 9 units at perGpuHour 0.25 for 4 units: the GPUs' share of the cost bound.
  const cpuMem = (300 / 1000) * 0.02 + ((3 * 64 * MiB) / GiB) * 0.0025;
  assert.ok(Math.abs(fluid.cost - (cpuMem + (9 / 4) * 0.25)) < 1e-9, `${fluid.cost}`);
  // A pod asking more GPU units than any shape offers fits no shape.
  const big = { ...pods[0]!, name: "big", extended: { "nvidia.com/gpu": 5 } };
  const over = fluidBound({ ...trace, pods: [big] }, config, "fixed-departure", H);
  assert.equal(over.podsTooLarge, 1);
});

Deno.test("with GPUs the per-instant bound of a small trace is at most the optimal packing", () => {
  const H = 3_600_000;
  const config = gpuOnlyConfig();
  const cap = [7900, 32 * 1024 - 512, 4];
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          arrival: fc.integer({ min: 0, max: 3 }),
          life: fc.integer({ min: 1, max: 3 }),
          cpu: fc.integer({ min: 100, max: 7900 }),
          mem: fc.integer({ min: 64, max: 32 * 1024 - 512 }),
          gpu: fc.integer({ min: 0, max: 4 }),
        }),
        { minLength: 1, maxLength: 7 },
      ),
      (raw) => {
        const pods: TracePod[] = raw.map((p, i) => ({
          namespace: "b",
          name: `p${i}`,
          arrival: p.arrival * H,
          departure: (p.arrival + p.life) * H,
          cpu: p.cpu,
          memory: p.mem * MiB,
          ...(p.gpu > 0 ? { extended: { "nvidia.com/gpu": p.gpu } } : {}),
        }));
        pods.sort((a, b) => a.arrival - b.arrival);
        const trace: Trace = {
          name: "b",
          source: "",
          duration: 6 * H,
          pods,
          nodes: [],
          pdbs: [],
          notes: [],
        };
        let opt = 0;
        for (let h = 0; h < 6; h++) {
          const here = pods.filter((p) => p.arrival <= h * H && p.departure! > h * H);
          opt += optimalBinsN(
            here.map((p) => [p.cpu, p.memory / MiB, p.extended?.["nvidia.com/gpu"] ?? 0]),
            cap,
          );
        }
        const bin = binPackingBound(trace, config, "fixed-departure", 6 * H);
        const fluid = fluidBound(trace, config, "fixed-departure", 6 * H);
        assert.ok(bin.nodeHours <= opt + 1e-9, `bound ${bin.nodeHours} > optimum ${opt}`);
        assert.ok(bin.nodeHours >= fluid.nodeHoursInteger - 1e-9, "below the integer bound");
      },
    ),
    { numRuns: 1000 },
  );
});
