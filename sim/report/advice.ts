/**
 * The simulated advice behind `proxscale advise`: one run of the proxscale policy on the
 * configuration as it is, then one run per candidate change of the knobs that matter (each pool's
 * predictive scale-up on or off, its consolidateAfter, the VM sizes of each template, the batch
 * window), each alone, on the same
 * trace, world and seed. A change is worth making when it saves at least 1 % of the cost without
 * making p95 pending more than 10 % worse, or cuts p95 pending by at least 20 % for at most 5 %
 * more cost, and never leaves more pods unscheduled. The best one becomes the patch
 * (sim/report/config_patch.ts), so re-running `proxscale sim --patch` gives its figures exactly.
 *
 * May import: core/, sim/.
 */
import type { Config } from "../../core/model.ts";
import { formatDuration } from "../../core/duration.ts";
import { GiB } from "../../core/quantity.ts";
import { runSimulation } from "../engine/engine.ts";
import type { WorldSpec } from "../engine/world_spec.ts";
import { withWorldClasses } from "../engine/world_classes.ts";
import { proxscaleAsConfigured } from "../policies/proxscale_as_configured.ts";
import type { Trace } from "../trace/format.ts";
import { applyConfigPatch, type ConfigPatch } from "./config_patch.ts";

/** The figures of one run. */
export type Outcome = {
  nodeHours: number;
  cost: number;
  pendingP95Seconds: number;
  podsNeverScheduled: number;
};

/** One candidate change, its run and how it compares with the configuration as it is. */
export type Candidate = {
  change: string;
  patch: ConfigPatch;
  outcome: Outcome;
  /** Relative changes against the base run (-0.05 = 5 % less). */
  costChange: number;
  nodeHoursChange: number;
  p95Change: number;
  worth: boolean;
};

export type Advice = { base: Outcome; candidates: Candidate[]; recommended?: Candidate };

/** The candidate changes of `config`: knob values other than the current ones. */
export function candidateChanges(config: Config): { change: string; patch: ConfigPatch }[] {
  const out: { change: string; patch: ConfigPatch }[] = [];
  for (const p of config.nodePools) {
    const on = p.scaleUp.forecast !== undefined;
    out.push({
      change: `pool ${p.name}: predictive scale-up ${on ? "off" : "on"}`,
      patch: { nodePools: { [p.name]: { scaleUp: { forecast: { enabled: !on } } } } },
    });
    for (const after of [30_000, 120_000, 600_000]) {
      if (p.disruption.consolidateAfter === after) continue;
      out.push({
        change: `pool ${p.name}: consolidateAfter ${formatDuration(after)} (now ${
          formatDuration(p.disruption.consolidateAfter)
        })`,
        patch: {
          nodePools: { [p.name]: { disruption: { consolidateAfter: formatDuration(after) } } },
        },
      });
    }
  }
  for (const t of config.machineTemplates) {
    const plain = t.shapes.filter((x) => x.gpus === undefined);
    for (const [cpu, gib] of [[2, 4], [4, 16], [8, 16], [8, 32]] as const) {
      if (plain.length === 1 && plain[0]!.cpu === cpu * 1000 && plain[0]!.memory === gib * GiB) {
        continue;
      }
      out.push({
        change: `template ${t.name}: ${cpu} vCPU / ${gib} GiB VMs (now ${
          plain.map((x) => x.name).join(", ") || "flexible"
        })`,
        patch: { machineTemplates: { [t.name]: { shapes: [{ cpu, memory: `${gib}Gi` }] } } },
      });
    }
  }
  const s = config.settings;
  for (const [idle, max] of [[1_000, 5_000], [2_000, 20_000]] as const) {
    if (s.batchIdle === idle && s.batchMax === max) continue;
    out.push({
      change: `batch window ${formatDuration(idle)} idle / ${formatDuration(max)} max (now ${
        formatDuration(s.batchIdle)
      } / ${formatDuration(s.batchMax)})`,
      patch: { settings: { batchIdle: formatDuration(idle), batchMax: formatDuration(max) } },
    });
  }
  return out;
}

/** One run of the proxscale policy: the figures `sim` reports for it. */
export function runOutcome(trace: Trace, config: Config, world: WorldSpec, seed: number): Outcome {
  const r = runSimulation({ trace, policy: proxscaleAsConfigured(config), world, seed });
  return {
    nodeHours: r.summary.nodeHours,
    cost: r.summary.cost,
    pendingP95Seconds: r.summary.pendingSeconds.p95,
    podsNeverScheduled: r.summary.podsNeverScheduled,
  };
}

/** Runs the base and every candidate; `onProgress(done, total)` after each run. */
export function advise(input: {
  trace: Trace;
  config: Config;
  world: WorldSpec;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}): Advice {
  const { trace, world, seed } = input;
  const changes = candidateChanges(input.config);
  const total = changes.length + 1;
  const base = runOutcome(trace, withWorldClasses(input.config, world), world, seed);
  input.onProgress?.(1, total);
  const rel = (a: number, b: number) => (b === 0 ? (a === 0 ? 0 : Infinity) : a / b - 1);
  const candidates: Candidate[] = [];
  for (const [i, c] of changes.entries()) {
    const patched = applyConfigPatch(input.config, c.patch);
    if (!patched.ok) continue;
    const outcome = runOutcome(trace, withWorldClasses(patched.value, world), world, seed);
    input.onProgress?.(i + 2, total);
    const costChange = rel(outcome.cost, base.cost);
    const p95Change = rel(outcome.pendingP95Seconds, base.pendingP95Seconds);
    const cheaper = costChange <= -0.01 && p95Change <= 0.1;
    const faster = p95Change <= -0.2 && costChange <= 0.05;
    candidates.push({
      ...c,
      outcome,
      costChange,
      nodeHoursChange: rel(outcome.nodeHours, base.nodeHours),
      p95Change,
      worth: (cheaper || faster) && outcome.podsNeverScheduled <= base.podsNeverScheduled,
    });
  }
  // Best first: the largest cost saving, then the largest p95 cut.
  const worth = candidates.filter((c) => c.worth).sort((a, b) =>
    a.costChange - b.costChange || a.p95Change - b.p95Change
  );
  return { base, candidates, ...(worth[0] ? { recommended: worth[0] } : {}) };
}
