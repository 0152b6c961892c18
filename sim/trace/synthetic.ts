/**
 * Synthetic workloads for capacity planning when no recording exists, and the source of the
 * embedded default trace: services whose pod count follows a day/night curve (arrivals by a
 * thinned Poisson process, bounded lifetimes), short bursts of pods, and nightly batch jobs
 * that run a fixed time after they are bound. Everything is drawn from one seed, so the same
 * parameters always give the same trace.
 *
 * May import: sim/trace/format.ts, sim/engine/rng.ts, core/quantity.ts.
 */
import { GiB, MiB } from "../../core/quantity.ts";
import { Rng } from "../engine/rng.ts";
import { sortPods, type Trace, type TracePod } from "./format.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A Deployment-like service: pods arrive at a diurnal rate and each lives a bounded time. */
export type ServiceSpec = {
  name: string;
  namespace: string;
  cpu: number;
  memory: number;
  /** Mean pod arrivals per hour at the daily average. */
  ratePerHour: number;
  /** 0 = flat, 0.8 = peak 1.8x and trough 0.2x the average. */
  amplitude: number;
  /** Hour of day (0-24) with the most arrivals. */
  peakHour: number;
  /** Pod lifetime, uniform in [min, max] ms. */
  lifetime: [number, number];
  priority?: number;
  /** Arrival rate on days 6 and 7 of each week as a fraction of a weekday's (0-1; default 1). */
  weekendFactor?: number;
};

/** Sudden groups of pods (a rollout, a fan-out job) at random times. */
export type BurstSpec = {
  perDay: number;
  size: [number, number];
  cpu: number;
  memory: number;
  lifetime: [number, number];
};

/** Nightly batch jobs: pods that run a fixed time after their bind (fixed-duration model). */
export type BatchSpec = {
  perDay: number;
  /** Hour of day the jobs start around, and the spread (ms) around it. */
  hour: number;
  spread: number;
  pods: [number, number];
  cpu: number;
  memory: number;
  runFor: [number, number];
};

export type SyntheticParams = {
  name: string;
  seed: number;
  days: number;
  services: ServiceSpec[];
  bursts?: BurstSpec;
  batch?: BatchSpec;
};

function uniformInt(rng: Rng, [lo, hi]: [number, number]): number {
  return Math.round(lo + (hi - lo) * rng.next());
}

/** Generates a trace; deterministic in `params`. */
export function synthesize(params: SyntheticParams): Trace {
  const duration = params.days * DAY;
  const pods: TracePod[] = [];
  for (const s of params.services) {
    const rng = Rng.derive(params.seed, `service/${s.name}`);
    const maxRate = (s.ratePerHour * (1 + s.amplitude)) / HOUR;
    let t = 0;
    let n = 0;
    for (;;) {
      t += rng.exponential(1 / maxRate);
      if (t >= duration) break;
      const phase = 2 * Math.PI * ((t % DAY) / DAY - s.peakHour / 24);
      let rate = (s.ratePerHour * (1 + s.amplitude * Math.cos(phase))) / HOUR;
      if (s.weekendFactor !== undefined && Math.floor(t / DAY) % 7 >= 5) rate *= s.weekendFactor;
      if (rng.next() * maxRate > rate) continue;
      const arrival = Math.floor(t / 1000) * 1000;
      pods.push({
        namespace: s.namespace,
        name: `${s.name}-${(n++).toString(36).padStart(5, "0")}`,
        arrival,
        departure: arrival + uniformInt(rng, s.lifetime),
        cpu: s.cpu,
        memory: s.memory,
        owner: `Deployment/${s.name}`,
        labels: { app: s.name },
        ...(s.priority !== undefined ? { priority: s.priority } : {}),
      });
    }
  }
  if (params.bursts) {
    const b = params.bursts;
    const rng = Rng.derive(params.seed, "bursts");
    let t = 0;
    let k = 0;
    for (;;) {
      t += rng.exponential(DAY / b.perDay);
      if (t >= duration) break;
      const arrival = Math.floor(t / 1000) * 1000;
      const size = uniformInt(rng, b.size);
      const life = uniformInt(rng, b.lifetime);
      const job = `burst-${(k++).toString(36).padStart(3, "0")}`;
      for (let i = 0; i < size; i++) {
        pods.push({
          namespace: "bursts",
          name: `${job}-${i}`,
          arrival,
          departure: arrival + life,
          cpu: b.cpu,
          memory: b.memory,
          owner: `ReplicaSet/${job}`,
          labels: { app: job },
        });
      }
    }
  }
  if (params.batch) {
    const b = params.batch;
    const rng = Rng.derive(params.seed, "batch");
    let k = 0;
    for (let day = 0; day < params.days; day++) {
      const jobs = Math.floor(b.perDay) + (rng.next() < b.perDay % 1 ? 1 : 0);
      for (let j = 0; j < jobs; j++) {
        const start = day * DAY + b.hour * HOUR + Math.round((rng.next() * 2 - 1) * b.spread);
        const arrival = Math.max(0, Math.floor(start / 1000) * 1000);
        if (arrival >= duration) continue;
        const n = uniformInt(rng, b.pods);
        const job = `job-${(k++).toString(36).padStart(4, "0")}`;
        for (let i = 0; i < n; i++) {
          pods.push({
            namespace: "batch",
            name: `${job}-${i}`,
            arrival,
            runFor: uniformInt(rng, b.runFor),
            cpu: b.cpu,
            memory: b.memory,
            owner: `Job/${job}`,
            labels: { job },
            priority: -1,
          });
        }
      }
    }
  }
  sortPods(pods);
  return {
    name: params.name,
    source: `synthetic seed=${params.seed} days=${params.days}`,
    duration,
    pods,
    nodes: [],
    pdbs: [],
    notes: [],
  };
}

/** The parameters of the embedded default trace: three days of a small mixed cluster. */
export function defaultSyntheticParams(days = 3, scale = 1, seed = 20260801): SyntheticParams {
  const min = 60_000;
  return {
    name: days === 3 && scale === 1 ? "default" : `synthetic-${days}d`,
    seed,
    days,
    services: [
      {
        name: "web",
        namespace: "shop",
        cpu: 250,
        memory: 512 * MiB,
        ratePerHour: 14 * scale,
        amplitude: 0.7,
        peakHour: 14,
        lifetime: [60 * min, 240 * min],
      },
      {
        name: "api",
        namespace: "shop",
        cpu: 500,
        memory: 1 * GiB,
        ratePerHour: 9 * scale,
        amplitude: 0.6,
        peakHour: 15,
        lifetime: [90 * min, 300 * min],
      },
      {
        name: "worker",
        namespace: "jobs",
        cpu: 1000,
        memory: 2 * GiB,
        ratePerHour: 3 * scale,
        amplitude: 0.5,
        peakHour: 11,
        lifetime: [30 * min, 120 * min],
      },
      {
        name: "cache",
        namespace: "data",
        cpu: 500,
        memory: 4 * GiB,
        ratePerHour: 1 * scale,
        amplitude: 0.2,
        peakHour: 12,
        lifetime: [240 * min, 720 * min],
      },
    ],
    bursts: {
      perDay: 3 * scale,
      size: [10, 30],
      cpu: 500,
      memory: 1 * GiB,
      lifetime: [15 * min, 45 * min],
    },
    batch: {
      perDay: 2 * scale,
      hour: 2,
      spread: 45 * min,
      pods: [8, 20],
      cpu: 1000,
      memory: 3 * GiB,
      runFor: [20 * min, 60 * min],
    },
  };
}
