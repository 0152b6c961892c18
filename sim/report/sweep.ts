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
import { runSimulation } from "../engine/engine.ts";
import type { WorldSpec } from "../engine/world_spec.ts";
import { proxscalePolicy } from "../policies/proxscale.ts";
import { shapeOf } from "../policies/default_config.ts";
import type { Trace } from "../trace/format.ts";
import { fluidBound } from "./fluid_bound.ts";

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

/** `config` with every template offering only `shape`, and the first provider cut or grown to `hosts` hosts. */
export function withShapeAndHosts(config: Config, shape: Shape, hosts: number): Config {
  const [first, ...others] = config.providers;
  if (!first || first.hosts.length === 0) return config;
  const list = Array.from({ length: hosts }, (_, i) => {
    const h = first.hosts[i];
    if (h) return h;
    const base = first.hosts[i % first.hosts.length]!;
    return { ...base, name: `${base.name}-x${i}` };
  });
  return {
    ...config,
    providers: [{ ...first, hosts: list }, ...others],
    machineTemplates: config.machineTemplates.map((t) => {
      const { flexible: _f, ...rest } = t;
      return { ...rest, shapes: [shape] };
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

/** Runs the grid and picks the cheapest row that meets the target. */
export function sweep(input: SweepInput): SweepResult {
  const shapes = input.shapes ?? DEFAULT_SWEEP.shapes;
  const hostsList = input.hosts ?? DEFAULT_SWEEP.hosts;
  const rows: SweepRow[] = [];
  const total = shapes.length * hostsList.length;
  let done = 0;
  const hours = input.trace.duration / 3_600_000;
  const sortedHosts = [...hostsList].sort((a, b) => a - b);
  for (const shape of shapes) {
    let met = false;
    for (const hosts of sortedHosts) {
      // More hosts than the fewest that meet the target only add host cost: not run.
      if (met) {
        done++;
        continue;
      }
      const config = withShapeAndHosts(input.config, shape, hosts);
      const r = runSimulation({
        trace: input.trace,
        policy: proxscalePolicy(config),
        world: input.world,
        seed: input.seed,
        ...(input.onProgress
          ? { onProgress: (f: number) => input.onProgress!((done + f) / total) }
          : {}),
      });
      done++;
      const b = fluidBound(input.trace, config, input.world.departure, input.trace.duration);
      const s = r.summary;
      const hostCost = input.hostCostPerHour * hosts * hours;
      rows.push({
        shape: shape.name,
        hosts,
        nodeHours: s.nodeHours,
        nodeHoursToFluidBound: b.nodeHours > 0 ? s.nodeHours / b.nodeHours : 0,
        vmCost: s.cost,
        hostCost,
        totalCost: s.cost + hostCost,
        pendingP95Seconds: s.pendingSeconds.p95,
        podsNeverScheduled: s.podsNeverScheduled,
        peakNodes: s.peakNodes,
        meetsTarget: s.pendingSeconds.p95 <= input.targetP95Seconds && s.podsNeverScheduled === 0,
      });
      met = rows[rows.length - 1]!.meetsTarget;
    }
  }
  const ok = rows.filter((r) => r.meetsTarget).sort((a, b) =>
    a.totalCost - b.totalCost || a.hosts - b.hosts || (a.shape < b.shape ? -1 : 1)
  );
  return {
    targetP95Seconds: input.targetP95Seconds,
    rows,
    ...(ok[0] ? { recommended: ok[0] } : {}),
  };
}
