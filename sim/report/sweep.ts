/**
 * Capacity planning: replays one trace with the proxscale policy over a grid of MachineTemplate
 * shapes and Proxmox host counts, and recommends the cheapest combination whose p95 pending time
 * meets a target and that leaves no pod unscheduled. Cost is the VM cost of the run plus an
 * optional price per host-hour (owned hardware), so fewer hosts win ties. Host counts are tried
 * in increasing order per shape; once one meets the target, larger counts are not run (they
 * only add hosts, so they cannot be the recommendation).
 *
 * May import: core/, sim/.
 */
import type { Config, Shape } from "../../core/model.ts";
import { shapeCost } from "../../core/cost.ts";
import { runSimulation } from "../engine/engine.ts";
import type { WorldSpec } from "../engine/world_spec.ts";
import { proxscalePolicy } from "../policies/proxscale.ts";
import { shapeOf } from "../policies/default_config.ts";
import type { Trace } from "../trace/format.ts";
import { fluidBound } from "./fluid_bound.ts";
import { withHostCount } from "./advice.ts";

export type SweepRow = {
  shape: string;
  hosts: number;
  nodeHours: number;
  nodeHoursToFluidBound: number;
  vmCost: number;
  hostCost: number;
  totalCost: number;
  pendingP95Seconds: number;
  podsNeverScheduled: number;
  peakNodes: number;
  meetsTarget: boolean;
};

export type SweepResult = {
  targetP95Seconds: number;
  rows: SweepRow[];
  recommended?: SweepRow;
};

/** The default grid: common VM sizes and 1-4 hosts. */
export const DEFAULT_SWEEP = {
  shapes: [shapeOf(2, 4), shapeOf(4, 8), shapeOf(8, 16), shapeOf(8, 32)],
  hosts: [1, 2, 3, 4],
};

/**
 * `config` with every template offering only `shape` (and its GPU shapes, kept for GPU pods,
 * cheapest first), and the first provider cut or grown to `hosts` hosts.
 */
export function withShapeAndHosts(config: Config, shape: Shape, hosts: number): Config {
  if ((config.providers[0]?.hosts.length ?? 0) === 0) return config;
  return {
    ...withHostCount(config, hosts),
    machineTemplates: config.machineTemplates.map((t) => {
      const { flexible: _f, ...rest } = t;
      const gpus = rest.shapes.filter((s) => s.gpus !== undefined);
      if (gpus.length === 0) return { ...rest, shapes: [shape] };
      const cost = (s: Shape) => shapeCost(s, rest.vmMemOverhead, config.settings.cost);
      return { ...rest, shapes: [shape, ...gpus].sort((a, b) => cost(a) - cost(b)) };
    }),
  };
}

export type SweepInput = {
  trace: Trace;
  config: Config;
  world: WorldSpec;
  seed: number;
  targetP95Seconds: number;
  hostCostPerHour: number;
  shapes?: Shape[];
  hosts?: number[];
  onProgress?: (fraction: number) => void;
};

/** One cell of the grid: a shape and a host count. */
export type SweepScenario = { shape: Shape; hosts: number };

/** Every cell of the grid, shape by shape, host counts ascending: the order rows are reported in. */
export function sweepScenarios(input: Pick<SweepInput, "shapes" | "hosts">): SweepScenario[] {
  const shapes = input.shapes ?? DEFAULT_SWEEP.shapes;
  const hosts = [...(input.hosts ?? DEFAULT_SWEEP.hosts)].sort((a, b) => a - b);
  return shapes.flatMap((shape) => hosts.map((h) => ({ shape, hosts: h })));
}

/** Replays one cell of the grid: the row it contributes, whatever else runs. */
export function runSweepScenario(
  input: SweepInput,
  sc: SweepScenario,
  onProgress?: (fraction: number) => void,
): SweepRow {
  const hours = input.trace.duration / 3_600_000;
  const config = withShapeAndHosts(input.config, sc.shape, sc.hosts);
  const r = runSimulation({
    trace: input.trace,
    policy: proxscalePolicy(config),
    world: input.world,
    seed: input.seed,
    ...(onProgress ? { onProgress } : {}),
  });
  const b = fluidBound(input.trace, config, input.world.departure, input.trace.duration);
  const s = r.summary;
  const hostCost = input.hostCostPerHour * sc.hosts * hours;
  return {
    shape: sc.shape.name,
    hosts: sc.hosts,
    nodeHours: s.nodeHours,
    nodeHoursToFluidBound: b.nodeHours > 0 ? s.nodeHours / b.nodeHours : 0,
    vmCost: s.cost,
    hostCost,
    totalCost: s.cost + hostCost,
    pendingP95Seconds: s.pendingSeconds.p95,
    podsNeverScheduled: s.podsNeverScheduled,
    peakNodes: s.peakNodes,
    meetsTarget: s.pendingSeconds.p95 <= input.targetP95Seconds && s.podsNeverScheduled === 0,
  };
}

/**
 * The result from rows in scenario order (undefined for a cell not run): per shape, rows up to
 * and including the first that meets the target (more hosts only add host cost), then the
 * cheapest meeting row. A local sweep stops early; a distributed one runs every cell and drops
 * the same rows here, so both give the same result.
 */
export function assembleSweep(
  targetP95Seconds: number,
  scenarios: readonly SweepScenario[],
  results: readonly (SweepRow | undefined)[],
): SweepResult {
  const rows: SweepRow[] = [];
  const met = new Set<string>();
  scenarios.forEach((sc, i) => {
    if (met.has(sc.shape.name)) return;
    const row = results[i];
    if (!row) return;
    rows.push(row);
    if (row.meetsTarget) met.add(sc.shape.name);
  });
  const ok = rows.filter((r) => r.meetsTarget).sort((a, b) =>
    a.totalCost - b.totalCost || a.hosts - b.hosts || (a.shape < b.shape ? -1 : 1)
  );
  return { targetP95Seconds, rows, ...(ok[0] ? { recommended: ok[0] } : {}) };
}

/** Runs the grid and picks the cheapest row that meets the target. */
export function sweep(input: SweepInput): SweepResult {
  const scenarios = sweepScenarios(input);
  const results: (SweepRow | undefined)[] = [];
  const met = new Set<string>();
  scenarios.forEach((sc, i) => {
    // More hosts than the fewest that meet the target only add host cost: not run.
    if (met.has(sc.shape.name)) {
      results.push(undefined);
      return;
    }
    const progress = input.onProgress;
    const row = runSweepScenario(
      input,
      sc,
      progress ? (f) => progress((i + f) / scenarios.length) : undefined,
    );
    results.push(row);
    if (row.meetsTarget) met.add(sc.shape.name);
  });
  return assembleSweep(input.targetP95Seconds, scenarios, results);
}
