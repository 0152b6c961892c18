/**
 * Runs several policies over one trace in the same world and assembles the report every output
 * (terminal table, --json, HTML) is rendered from: trace and config identity (name, digest),
 * world parameters, the fluid bounds, each policy's summary with its ratios to the bounds, the
 * time series, and the checks against the targets (node-hours within 1.10x of the fluid bound
 * at p95 pending <= boot delay + 10 s, and below the Cluster-Autoscaler-like baseline).
 * Nothing in the report depends on the wall clock.
 *
 * May import: core/, sim/.
 */
import type { Config } from "../../core/model.ts";
import { fnv1a, stableJson } from "../../core/hash.ts";
import { describeDistribution, median } from "../engine/distribution.ts";
import { runSimulation } from "../engine/engine.ts";
import type { Policy } from "../engine/policy.ts";
import type { WorldSpec } from "../engine/world_spec.ts";
import { type Trace, traceDigest } from "../trace/format.ts";
import { type FluidBound, fluidBound } from "./fluid_bound.ts";
import { type BinBound, binPackingBound } from "./bin_bound.ts";
import type { RunSummary } from "./metrics.ts";
import { type ForecastSeries, forecastVsActual } from "./forecast_series.ts";
import { SIM_FORECAST } from "../policies/proxscale_forecast.ts";

export const REPORT_FORMAT = "proxscale-sim-report";
export const REPORT_VERSION = 1;

/** One policy's line in the report. */
export type PolicyReport = {
  name: string;
  description: string;
  summary: RunSummary;
  nodeHoursToFluidBound: number;
  nodeHoursToIntegerBound: number;
  /** Node-hours ÷ the per-instant bin-packing bound (the tighter of the two lower bounds). */
  nodeHoursToBinBound: number;
  costToCostBound: number;
};

export type Series = {
  nodes: number[];
  pending: number[];
  cpuUtil: number[];
  memUtil: number[];
  cost: number[];
  /** GPU units requested / allocatable, only when the run has GPUs. */
  gpuUtil?: number[];
};

export type SimReport = {
  format: string;
  version: number;
  trace: {
    name: string;
    source: string;
    digest: string;
    pods: number;
    hours: number;
    notes: string[];
  };
  config: {
    digest: string;
    nodePools: string[];
    shapes: string[];
    hosts: number;
    cost: { perVcpuHour: number; perGiBHour: number };
  };
  world: {
    seed: number;
    departure: string;
    scoring: string;
    cloneFailure: number;
    delays: Record<string, string>;
    /** Median clone + boot + join: "the boot delay" of the pending target. */
    bootDelaySeconds: number;
  };
  bound: FluidBound;
  /** The per-instant bin-packing (Martello-Toth L2) lower bound. */
  binBound: BinBound;
  policies: PolicyReport[];
  series: {
    stepSeconds: number;
    hours: number[];
    /** N*(t): the fluid bound's node count at each sample. */
    fluidNodes: number[];
    byPolicy: Record<string, Series>;
  };
  /** Forecast against actual demand: only when the proxscale-forecast policy ran. */
  forecast?: ForecastSeries;
  targets: {
    pendingP95TargetSeconds: number;
    fluidRatioTarget: number;
    proxscale?: {
      nodeHoursToFluidBound: number;
      nodeHoursToBinBound: number;
      /** False when no pod of the trace ever ran: then no target is met. */
      podsRan: boolean;
      pendingP95Seconds: number;
      withinFluidTarget: boolean;
      meetsPendingTarget: boolean;
      belowClusterAutoscaler?: boolean;
    };
  };
};

/** Digest of a config: names it in the report so two reports can be compared. */
export function configDigest(config: Config): string {
  return fnv1a(stableJson(config)).toString(16).padStart(8, "0");
}

/** Median total provisioning delay (clone + boot + join), ms. */
export function bootDelay(world: WorldSpec): number {
  return median(world.delays.clone) + median(world.delays.boot) + median(world.delays.join);
}

export type CompareInput = {
  trace: Trace;
  config: Config;
  world: WorldSpec;
  seed: number;
  policies: Policy<unknown>[];
  /**
   * Progress of the policy being replayed (fraction of its run), with its name and position, for
   * a progress bar that advances with the work of each run rather than a fixed share per policy.
   */
  onProgress?: (fraction: number, policy: string, index: number, count: number) => void;
  /** Called after each policy's run (the CLI times runs here; the report has no wall clock). */
  onPolicyDone?: (policy: string, index: number) => void;
};

/** Runs every policy and builds the report. */
export function compare(input: CompareInput): SimReport {
  const { trace, config, world, seed, policies } = input;
  const { series: fluidNodes = [], ...bound } = fluidBound(
    trace,
    config,
    world.departure,
    trace.duration,
    world.sampleEvery,
  );
  const binBound = binPackingBound(trace, config, world.departure, trace.duration);
  const results = policies.map((policy, i) => {
    const r = runSimulation({
      trace,
      policy,
      world,
      seed,
      ...(input.onProgress
        ? {
          onProgress: (f: number) => input.onProgress!(f, policy.name, i, policies.length),
        }
        : {}),
    });
    input.onPolicyDone?.(policy.name, i);
    return r;
  });
  const reports: PolicyReport[] = results.map((r, i) => ({
    name: r.policy,
    description: policies[i]!.description,
    summary: r.summary,
    nodeHoursToFluidBound: bound.nodeHours > 0 ? r.summary.nodeHours / bound.nodeHours : 0,
    nodeHoursToIntegerBound: bound.nodeHoursInteger > 0
      ? r.summary.nodeHours / bound.nodeHoursInteger
      : 0,
    nodeHoursToBinBound: binBound.nodeHours > 0 ? r.summary.nodeHours / binBound.nodeHours : 0,
    costToCostBound: bound.cost > 0 ? r.summary.cost / bound.cost : 0,
  }));
  const byPolicy: Record<string, Series> = {};
  let hours: number[] = [];
  for (const r of results) {
    hours = r.samples.map((s) => s.t / 3_600_000);
    byPolicy[r.policy] = {
      nodes: r.samples.map((s) => s.nodes),
      pending: r.samples.map((s) => s.pending),
      cpuUtil: r.samples.map((s) => s.cpuUtil),
      memUtil: r.samples.map((s) => s.memUtil),
      cost: r.samples.map((s) => s.cost),
      ...(r.samples.some((s) => s.gpuUtil !== undefined)
        ? { gpuUtil: r.samples.map((s) => s.gpuUtil ?? 0) }
        : {}),
    };
  }
  const forecastPolicy = policies.find((p) => p.name === "proxscale-forecast");
  const boot = bootDelay(world);
  const pendingTarget = boot / 1000 + 10;
  const px = reports.find((r) => r.name === "proxscale");
  const ca = reports.find((r) => r.name === "cluster-autoscaler");
  const shapes = [...new Set(config.machineTemplates.flatMap((t) => t.shapes.map((s) => s.name)))];
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    trace: {
      name: trace.name,
      source: trace.source,
      digest: traceDigest(trace),
      pods: trace.pods.length,
      hours: trace.duration / 3_600_000,
      notes: trace.notes,
    },
    config: {
      digest: configDigest(config),
      nodePools: config.nodePools.map((p) => p.name),
      shapes,
      hosts: config.providers.reduce((n, p) => n + p.hosts.length, 0),
      cost: config.settings.cost,
    },
    world: {
      seed,
      departure: world.departure,
      scoring: world.scoring,
      cloneFailure: world.cloneFailure,
      delays: Object.fromEntries(
        Object.entries(world.delays).map(([k, d]) => [k, describeDistribution(d)]),
      ),
      bootDelaySeconds: boot / 1000,
    },
    bound,
    binBound,
    policies: reports,
    series: { stepSeconds: world.sampleEvery / 1000, hours, fluidNodes, byPolicy },
    ...(forecastPolicy
      ? {
        forecast: forecastVsActual(
          trace,
          world.departure,
          forecastPolicy.config.nodePools[0]?.scaleUp.forecast?.maxError ?? SIM_FORECAST.maxError,
        ),
      }
      : {}),
    targets: {
      pendingP95TargetSeconds: pendingTarget,
      fluidRatioTarget: 1.1,
      ...(px
        ? {
          proxscale: {
            nodeHoursToFluidBound: px.nodeHoursToFluidBound,
            nodeHoursToBinBound: px.nodeHoursToBinBound,
            podsRan: px.summary.podsScheduled > 0,
            pendingP95Seconds: px.summary.pendingSeconds.p95,
            // Nothing ran, so nothing was achieved: 0 node-hours is not "within" any bound.
            withinFluidTarget: px.summary.podsScheduled > 0 && bound.nodeHours > 0 &&
              px.nodeHoursToFluidBound <= 1.1,
            meetsPendingTarget: px.summary.podsScheduled > 0 &&
              px.summary.pendingSeconds.p95 <= pendingTarget,
            ...(ca
              ? {
                belowClusterAutoscaler: px.summary.podsScheduled > 0 &&
                  px.summary.nodeHours < ca.summary.nodeHours,
              }
              : {}),
          },
        }
        : {}),
    },
  };
}
