/**
 * `proxscale sim`: replays a trace (the embedded default, or --trace in proxscale, alibaba or
 * csv format) through proxscale's decision core and the Cluster-Autoscaler-, Karpenter- and
 * KubeNodeSmith-like baselines in one simulated world, and prints a table, canonical JSON
 * (--json: same seed, trace and config give the same bytes) and/or a self-contained HTML report
 * (--html). `--sweep` tries a grid of VM shapes and host counts and recommends the cheapest that
 * meets a pending-time target.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { readSeedAndFormat, readSimConfig, readSimTrace, readSimWorld } from "./sim_inputs.ts";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { applyConfigPatch } from "../sim/report/config_patch.ts";
import { readDemandHistoryFile } from "../sim/trace/demand_history_file.ts";
import type { DemandHistory } from "../core/forecast_history.ts";
import { type Command, type Io, stopped } from "./command.ts";
import type { Config } from "../core/model.ts";
import { defaultTrace } from "../sim/trace/default_trace.ts";
import type { Trace } from "../sim/trace/format.ts";
import {
  FORECAST_TRACES,
  forecastTrace,
  type ForecastTraceName,
} from "../sim/trace/forecast_traces.ts";
import { writeTrace } from "../sim/trace/format.ts";
import type { WorldSpec } from "../sim/engine/world_spec.ts";
import { withWorldClasses } from "../sim/engine/world_classes.ts";
import { defaultSimConfig } from "../sim/policies/default_config.ts";
import { DEFAULT_HOST_GPUS, simGpuOptions, withDefaultGpus } from "../sim/policies/gpu_defaults.ts";
import { GPU_MODES, type GpuMode, SHARED_GPU_REPLICAS } from "../sim/trace/alibaba.ts";
import {
  buildPolicy,
  OPTIONAL_POLICY_NAMES,
  POLICY_NAMES,
  type PolicyName,
} from "../sim/policies/registry.ts";
import { bootDelay, compare } from "../sim/report/compare.ts";
import { canonicalJson } from "../sim/report/json.ts";
import { fluidBound } from "../sim/report/fluid_bound.ts";
import { renderReportTable } from "../sim/report/table.ts";
import { renderReportHtml } from "../sim/report/html.ts";
import { terminalProgress, terminalRunProgress } from "../sim/report/progress.ts";
import { sweep } from "../sim/report/sweep.ts";
import { distributedSweep, SIM_QUEUE, startSweepWorker } from "./sim_queue.ts";

const USAGE =
  "proxscale sim [--config FILE] [--trace FILE] [--format proxscale|alibaba|csv] [--seed N] [--json] [--html OUT] [--sweep]\n" +
  "              [--synthetic diurnal|weekly|flat [--days N]] [--patch FILE] [--demand-history F] [--world FILE] [--policies a,b] [--gpu drop|cpu-only|whole|shared] [--scale F] [--target-p95 S] [--host-cost X] [--write-trace OUT]\n" +
  "              [--queue redis://HOST:PORT [--queue-name NAME]]\n" +
  "       proxscale sim worker --queue redis://HOST:PORT [--queue-name NAME]";

const HELP = `usage: ${USAGE}

Replays a workload trace in virtual time through proxscale's own decision core (the code the
daemon runs) and baseline autoscalers, and reports node-hours, cost, the fluid lower bound,
pending time, utilisation and churn. With no arguments: the embedded 3-day synthetic trace and
a built-in config (4 hosts, 4 vCPU / 8 GiB VMs), all policies.

  --config FILE     proxscale configuration (YAML, as for 'proxscale validate')
  --trace FILE      trace to replay; --format picks the reader (default: detected)
  --seed N          seed of every random draw (delays, failures); default 1
  --json            canonical JSON report on stdout (byte-identical for the same inputs)
  --html OUT        write a self-contained HTML report with charts
  --sweep           try VM shapes x host counts; recommend the cheapest meeting --target-p95
  --target-p95 S    pending-time target in seconds (default: boot delay + 10 s)
  --host-cost X     price of one Proxmox host per hour, added to VM cost in --sweep (default 0)
  --world FILE      JSON overriding host sizes, delay distributions, failures, scheduler scoring
  --policies LIST   comma-separated subset of: ${POLICY_NAMES.join(", ")}
                    (also: ${OPTIONAL_POLICY_NAMES.join(", ")}, run only when named)
  --gpu MODE        openb GPU pods: drop (default), cpu-only (CPU and memory only), whole
                    (whole passthrough GPUs: num_gpu, or gpu_milli/1000 rounded up, asked as
                    nvidia.com/gpu) or shared (each GPU time-sliced into ${SHARED_GPU_REPLICAS} replicas; a
                    pod asks ceil(gpu_milli x ${SHARED_GPU_REPLICAS} / 1000) replicas per GPU it uses). With GPU pods
                    and no --config, the built-in template gains GPU shapes (1 GPU: 8 vCPU /
                    32 GiB, up to ${DEFAULT_HOST_GPUS} GPUs) and, unless --world gives hosts GPUs, every host
                    passes through ${DEFAULT_HOST_GPUS} GPUs (default-sized hosts become 64 cores, 512 GiB);
                    the report adds GPU utilisation and the bounds count GPUs
  --scale F         openb: multiply CPU and memory requests by F
  --synthetic NAME  replay a generated trace instead: ${FORECAST_TRACES.join(", ")} (day/night
                    services; the same with quiet weekends; constant rate with random bursts),
                    --days N long (default 14), drawn from --seed
  --demand-history F  start proxscale-forecast from a history 'proxscale record --demand-history'
                    wrote (moved to end where the trace begins)
  --patch FILE      apply a config patch (YAML, as 'proxscale advise' prints it) to the config
  --write-trace OUT write the trace being replayed as proxscale JSON Lines, then run
  --queue URL       with --sweep: enqueue each cell as a BullMQ job on this Redis and gather the
                    rows 'proxscale sim worker' processes return (same result as a local sweep)
  --queue-name N    BullMQ queue name (default ${SIM_QUEUE})

'proxscale sim worker --queue URL' replays sweep cells (and 'proxscale advise --queue' runs) from
the queue until SIGINT or SIGTERM.`;

/** The `sim` command. */
export const simCommand: Command = {
  name: "sim",
  summary: COMMAND_SUMMARIES.sim,
  usage: USAGE,
  run: runSim,
};

async function runSim(args: string[], io: Io, stop?: AbortSignal): Promise<number> {
  if (args[0] === "worker") return await runWorker(args.slice(1), io, stop);
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: "string", short: "c" },
        trace: { type: "string", short: "t" },
        format: { type: "string" },
        seed: { type: "string" },
        json: { type: "boolean" },
        html: { type: "string" },
        sweep: { type: "boolean" },
        world: { type: "string" },
        policies: { type: "string" },
        gpu: { type: "string" },
        scale: { type: "string" },
        "target-p95": { type: "string" },
        "host-cost": { type: "string" },
        "write-trace": { type: "string" },
        synthetic: { type: "string" },
        patch: { type: "string" },
        "demand-history": { type: "string" },
        days: { type: "string" },
        queue: { type: "string" },
        "queue-name": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    io.err(`${(e as Error).message}\nusage: ${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const options = readSeedAndFormat(values, io);
  if (!options) return 2;
  const { seed } = options;
  if (values.gpu !== undefined && !(GPU_MODES as readonly string[]).includes(values.gpu)) {
    io.err(`--gpu must be one of ${GPU_MODES.join(", ")}, got "${values.gpu}"`);
    return 2;
  }
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!(scale > 0)) {
    io.err(`--scale must be a positive number, got "${values.scale}"`);
    return 2;
  }
  const loadedConfig = await readSimConfig(values.config, io);
  if (!loadedConfig) return 2;
  let config: Config = loadedConfig;
  const loadedWorld = await readSimWorld(values.world, io);
  if (!loadedWorld) return 2;
  let world: WorldSpec = loadedWorld;
  let trace: Trace = defaultTrace();
  if (values.synthetic !== undefined) {
    const days = values.days === undefined ? 14 : Number(values.days);
    if (!FORECAST_TRACES.includes(values.synthetic as ForecastTraceName)) {
      io.err(`--synthetic must be one of ${FORECAST_TRACES.join(", ")}, got "${values.synthetic}"`);
      return 2;
    }
    if (!Number.isInteger(days) || days < 1) {
      io.err(`--days must be a whole number of days >= 1, got "${values.days}"`);
      return 2;
    }
    trace = forecastTrace(values.synthetic as ForecastTraceName, days, seed);
  } else if (values.trace) {
    const t = await readSimTrace(values.trace, options.format, io, {
      gpu: (values.gpu ?? "drop") as GpuMode,
      scale,
    });
    if (!t) return 2;
    trace = t;
  }
  // GPU pods and the built-in config: GPU shapes, and GPUs on the hosts unless the world has some.
  const gpuOpts = values.config
    ? undefined
    : simGpuOptions(trace, values.gpu === "shared" ? SHARED_GPU_REPLICAS : 1);
  if (gpuOpts) {
    config = defaultSimConfig({ gpu: gpuOpts });
    world = withDefaultGpus(world);
  }
  if (values.patch) {
    let parsed: unknown;
    try {
      parsed = parse(await Deno.readTextFile(values.patch));
    } catch (e) {
      io.err(`${values.patch}: ${(e as Error).message}`);
      return 2;
    }
    const patched = applyConfigPatch(config, parsed);
    if (!patched.ok) {
      io.err(`${values.patch}: ${patched.error}`);
      return 2;
    }
    config = patched.value;
  }
  // The world's host classes and their prices reach every policy's configuration.
  config = withWorldClasses(config, world);
  if (values["write-trace"]) await Deno.writeTextFile(values["write-trace"], writeTrace(trace));

  const target = values["target-p95"] === undefined
    ? bootDelay(world) / 1000 + 10
    : Number(values["target-p95"]);
  if (!(target >= 0)) {
    io.err(`--target-p95 must be seconds >= 0, got "${values["target-p95"]}"`);
    return 2;
  }
  const fits = fluidBound(trace, config, world.departure, trace.duration);
  if (!values.sweep && trace.pods.length > 0 && fits.podsCounted === 0 && fits.podsTooLarge > 0) {
    io.err(
      `no pod of the trace fits any shape: all ${fits.podsTooLarge} pods request more than the ` +
        `largest allocatable (${fits.perNode.cpu}m CPU, ${
          Math.floor(fits.perNode.memory / 2 ** 20)
        } MiB${
          gpuWords(fits.extended?.perNode)
        }); give MachineTemplates larger shapes or scale the trace (--scale)`,
    );
    return 1;
  }
  const started = performance.now();
  if (values.sweep) {
    const hostCost = values["host-cost"] === undefined ? 0 : Number(values["host-cost"]);
    if (!(hostCost >= 0)) {
      io.err(`--host-cost must be a number >= 0, got "${values["host-cost"]}"`);
      return 2;
    }
    const progress = terminalProgress("sweep");
    const input = {
      trace,
      config,
      world,
      seed,
      targetP95Seconds: target,
      hostCostPerHour: hostCost,
      ...(progress ? { onProgress: progress } : {}),
    };
    let result;
    if (values.queue) {
      const q = queueUrl(values.queue);
      if (!q) {
        io.err(`--queue must be a redis:// or rediss:// URL, got "${values.queue}"`);
        return 2;
      }
      try {
        result = await distributedSweep(input, {
          url: q,
          ...(values["queue-name"] ? { name: values["queue-name"] } : {}),
        });
      } catch (e) {
        io.err(`distributed sweep failed: ${(e as Error).message}`);
        return 1;
      }
    } else result = sweep(input);
    if (values.json) {
      io.out(canonicalJson(result).trimEnd());
      return 0;
    }
    const rows = [[
      "SHAPE",
      "HOSTS",
      "NODE-H",
      "xFLUID",
      "COST",
      "p95 PENDING",
      "NEVER",
      "PEAK",
      "MEETS",
    ]];
    for (const r of result.rows) {
      rows.push([
        r.shape,
        String(r.hosts),
        r.nodeHours.toFixed(1),
        r.nodeHoursToFluidBound.toFixed(2),
        r.totalCost.toFixed(2),
        `${r.pendingP95Seconds.toFixed(1)}s`,
        String(r.podsNeverScheduled),
        String(r.peakNodes),
        r.meetsTarget ? "yes" : "no",
      ]);
    }
    io.out(padRows(rows));
    const rec = result.recommended;
    io.out(
      rec
        ? `\nRecommended: ${rec.hosts} host(s) with ${rec.shape} VMs: cost ${
          rec.totalCost.toFixed(2)
        }, p95 pending ${rec.pendingP95Seconds.toFixed(1)} s (target ${target.toFixed(1)} s).`
        : `\nNo combination meets p95 pending <= ${target.toFixed(1)} s with every pod scheduled.`,
    );
    return 0;
  }

  const names = values.policies
    ? values.policies.split(",").map((s) => s.trim()).filter(Boolean)
    : [...POLICY_NAMES];
  for (const n of names) {
    if (!([...POLICY_NAMES, ...OPTIONAL_POLICY_NAMES] as readonly string[]).includes(n)) {
      io.err(
        `unknown policy "${n}"; known: ${[...POLICY_NAMES, ...OPTIONAL_POLICY_NAMES].join(", ")}`,
      );
      return 2;
    }
  }
  let demandHistory: Record<string, DemandHistory> | undefined;
  if (values["demand-history"]) {
    let text: string;
    try {
      text = await Deno.readTextFile(values["demand-history"]);
    } catch (e) {
      io.err(`${values["demand-history"]}: ${(e as Error).message}`);
      return 2;
    }
    const h = readDemandHistoryFile(text);
    if (!h.ok) {
      io.err(`${values["demand-history"]}: ${h.error}`);
      return 2;
    }
    demandHistory = h.value;
  }
  const progress = terminalRunProgress("sim");
  const times: { policy: string; seconds: number }[] = [];
  let lap = performance.now();
  const report = compare({
    trace,
    config,
    world,
    seed,
    policies: names.map((n) => buildPolicy(n as PolicyName, config, demandHistory)),
    ...(progress ? { onProgress: progress } : {}),
    onPolicyDone: (policy) => {
      const now = performance.now();
      times.push({ policy, seconds: (now - lap) / 1000 });
      lap = now;
    },
  });
  if (values.html) await Deno.writeTextFile(values.html, renderReportHtml(report));
  if (values.json) {
    io.out(canonicalJson(report).trimEnd());
    return 0;
  }
  const wall = (performance.now() - started) / 1000;
  io.out(renderReportTable(report));
  io.out(
    `\n${speedLines(trace.duration / 1000, times, wall)}` +
      (values.html ? `\nHTML report: ${values.html}` : ""),
  );
  return 0;
}

/** ", at most N nvidia.com/gpu" for each extended resource one node offers at most. */
function gpuWords(perNode: Record<string, number> | undefined): string {
  return Object.entries(perNode ?? {}).map(([k, v]) => `, at most ${v} ${k}`).join("");
}

/** The URL when it is a Redis URL. */
function queueUrl(v: string): string | undefined {
  return /^rediss?:\/\/[^\s]+$/.test(v) ? v : undefined;
}

/** `proxscale sim worker`: replays sweep cells from the queue until `stop` (SIGINT or SIGTERM). */
async function runWorker(args: string[], io: Io, stop?: AbortSignal): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { queue: { type: "string" }, "queue-name": { type: "string" } },
    }));
  } catch (e) {
    io.err(`${(e as Error).message}\nusage: ${USAGE}`);
    return 2;
  }
  const url = values.queue ? queueUrl(values.queue) : undefined;
  if (!url) {
    io.err(`sim worker needs --queue redis://HOST:PORT`);
    return 2;
  }
  const name = values["queue-name"] ?? SIM_QUEUE;
  let worker;
  try {
    worker = await startSweepWorker({ url, name }, (line) => io.err(line));
  } catch (e) {
    io.err(`sim worker: cannot reach the queue: ${(e as Error).message}`);
    return 1;
  }
  io.err(`sim worker: waiting for sweep jobs on queue ${name}`);
  await stopped(stop);
  await worker.close();
  return 0;
}

/**
 * Wall time per policy and the speed each replays at (simulated seconds ÷ its own wall time),
 * then the whole run: the trace's span once, not once per policy, over the total wall time.
 */
export function speedLines(
  simulatedSeconds: number,
  times: readonly { policy: string; seconds: number }[],
  wallSeconds: number,
): string {
  const x = (s: number) => Math.round(simulatedSeconds / Math.max(s, 1e-3)).toLocaleString("en-US");
  const per = times.map((t) => `${t.policy} ${t.seconds.toFixed(2)} s (${x(t.seconds)}x)`);
  return `time per policy: ${per.join(", ")}\n` +
    `replayed ${(simulatedSeconds / 3600).toFixed(0)} h with ${times.length} ${
      times.length === 1 ? "policy" : "policies"
    } in ${wallSeconds.toFixed(1)} s: ${x(wallSeconds)}x real time for the whole comparison`;
}

function padRows(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}
