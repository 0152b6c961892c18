/**
 * The simulated advice behind `proxscale advise`: one run of the proxscale policy on the
 * configuration as it is, then one run per candidate change of the knobs that matter (each pool's
 * predictive scale-up on or off, its consolidateAfter, its cpu/memory/node limits halved and
 * doubled, the VM sizes of each template, the batch window, and one Proxmox host fewer or more),
 * each alone, on the same trace, world and seed. A change is worth making when it saves at least 1 % of the cost without
 * making p95 pending more than 10 % worse, or cuts p95 pending by at least 20 % for at most 5 %
 * more cost, and never leaves more pods unscheduled. The best one becomes the patch
 * (sim/report/config_patch.ts), so re-running `proxscale sim --patch` gives its figures exactly.
 *
 * A host-count change is advice about hardware, not configuration: it has no patch and is judged
 * apart (one host fewer is worth it when p95 pending is at most 10 % worse for at most 1 % more
 * cost, one more when p95 pending drops by 20 % or more; the simulated cost counts VMs, not
 * hosts); the best is `hardware`, never `recommended`.
 *
 * May import: core/, sim/.
 */
import type { Config } from "../../core/model.ts";
import { formatDuration } from "../../core/duration.ts";
import { formatCpu, formatMemory, GiB } from "../../core/quantity.ts";
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
  /** The config patch; absent for a host-count change (hardware). */
  patch?: ConfigPatch;
  /** For a host-count change: the hosts of the first Provider it simulates. */
  hosts?: number;
  outcome: Outcome;
  /** Relative changes against the base run (-0.05 = 5 % less). */
  costChange: number;
  nodeHoursChange: number;
  p95Change: number;
  worth: boolean;
};

/** The advice: the base run, every candidate, the best config change and the best hardware one. */
export type Advice = {
  base: Outcome;
  candidates: Candidate[];
  recommended?: Candidate;
  hardware?: Candidate;
};

/** A change to try: a config patch, or (hardware) a number of hosts. */
export type Change = { change: string; patch?: ConfigPatch; hosts?: number };

/** `config` with its first Provider cut or grown to `hosts` hosts (copies of its last ones). */
export function withHostCount(config: Config, hosts: number): Config {
  const [first, ...others] = config.providers;
  if (!first || first.hosts.length === 0) return config;
  const list = Array.from({ length: hosts }, (_, i) => {
    const h = first.hosts[i];
    if (h) return h;
    const base = first.hosts[i % first.hosts.length]!;
    return { ...base, name: `${base.name}-x${i}` };
  });
  return { ...config, providers: [{ ...first, hosts: list }, ...others] };
}

/** The limit candidates of one pool: each set limit halved and doubled. */
function limitChanges(p: Config["nodePools"][number]): Change[] {
  const out: Change[] = [];
  const l = p.limits;
  const half = (x: number, unit: number) => Math.max(unit, Math.round(x / 2 / unit) * unit);
  if (l.cpu !== undefined) {
    for (const cpu of [half(l.cpu, 1000), l.cpu * 2]) {
      if (cpu === l.cpu) continue;
      out.push({
        change: `pool ${p.name}: cpu limit ${formatCpu(cpu)} (now ${formatCpu(l.cpu)})`,
        patch: { nodePools: { [p.name]: { limits: { cpu: formatCpu(cpu) } } } },
      });
    }
  }
  if (l.memory !== undefined) {
    for (const memory of [half(l.memory, GiB), l.memory * 2]) {
      if (memory === l.memory) continue;
      out.push({
        change: `pool ${p.name}: memory limit ${formatMemory(memory)} (now ${
          formatMemory(l.memory)
        })`,
        patch: { nodePools: { [p.name]: { limits: { memory: formatMemory(memory) } } } },
      });
    }
  }
  if (l.nodes !== undefined) {
    for (const nodes of [Math.floor(l.nodes / 2), l.nodes * 2]) {
      if (nodes === l.nodes || nodes === 0) continue;
      out.push({
        change: `pool ${p.name}: node limit ${nodes} (now ${l.nodes})`,
        patch: { nodePools: { [p.name]: { limits: { nodes } } } },
      });
    }
  }
  return out;
}

/** The candidate changes of `config`: knob values other than the current ones. */
export function candidateChanges(config: Config): Change[] {
  const out: Change[] = [];
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
    out.push(...limitChanges(p));
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
  const hosts = config.providers[0]?.hosts.length ?? 0;
  if (hosts > 0) {
    for (const n of [hosts - 1, hosts + 1]) {
      if (n < 1) continue;
      out.push({
        change: `provider ${config.providers[0]!.name}: ${n} host(s) (now ${hosts})`,
        hosts: n,
      });
    }
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

/** The runs of an advice: the configuration as it is first, then each change it can apply. */
export type AdviceRuns = { changes: Change[]; configs: Config[] };

/** The configurations to simulate (world classes applied): base first, then one per change. */
export function adviceRuns(config: Config, world: WorldSpec): AdviceRuns {
  const changes: Change[] = [];
  const configs = [withWorldClasses(config, world)];
  for (const c of candidateChanges(config)) {
    const patched = c.patch
      ? applyConfigPatch(config, c.patch)
      : { ok: true as const, value: withHostCount(config, c.hosts!) };
    if (!patched.ok) continue;
    changes.push(c);
    configs.push(withWorldClasses(patched.value, world));
  }
  return { changes, configs };
}

/** The advice from the runs' outcomes (`outcomes[i]` of `runs.configs[i]`). */
export function assembleAdvice(config: Config, runs: AdviceRuns, outcomes: Outcome[]): Advice {
  const base = outcomes[0]!;
  const rel = (a: number, b: number) => (b === 0 ? (a === 0 ? 0 : Infinity) : a / b - 1);
  const candidates: Candidate[] = [];
  for (const [i, c] of runs.changes.entries()) {
    const outcome = outcomes[i + 1]!;
    const costChange = rel(outcome.cost, base.cost);
    const p95Change = rel(outcome.pendingP95Seconds, base.pendingP95Seconds);
    const fewerHosts = c.hosts !== undefined && c.hosts < config.providers[0]!.hosts.length;
    const cheaper = fewerHosts
      ? costChange <= 0.01 && p95Change <= 0.1
      : costChange <= -0.01 && p95Change <= 0.1;
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
  const recommended =
    candidates.filter((c) => c.patch !== undefined && c.worth).sort((a, b) =>
      a.costChange - b.costChange || a.p95Change - b.p95Change
    )[0];
  // Fewer hosts first: a host saved is worth more than anything the VM cost shows.
  const hardware = candidates.filter((c) => c.hosts !== undefined && c.worth)
    .sort((a, b) => a.hosts! - b.hosts!)[0];
  return {
    base,
    candidates,
    ...(recommended ? { recommended } : {}),
    ...(hardware ? { hardware } : {}),
  };
}

/** Runs the base and every candidate here; `onProgress(done, total)` after each run. */
export function advise(input: {
  trace: Trace;
  config: Config;
  world: WorldSpec;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}): Advice {
  const { trace, world, seed } = input;
  const runs = adviceRuns(input.config, world);
  const outcomes = runs.configs.map((c, i) => {
    const o = runOutcome(trace, c, world, seed);
    input.onProgress?.(i + 1, runs.configs.length);
    return o;
  });
  return assembleAdvice(input.config, runs, outcomes);
}
