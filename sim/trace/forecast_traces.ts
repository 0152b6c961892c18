/**
 * Synthetic traces that judge predictive scale-up: `diurnal` (services whose arrivals follow
 * the day, no unannounced bursts), `weekly` (the same with quiet weekends) and `flat` (the same
 * services at a constant rate with random bursts: nothing a season can predict). Each is the
 * synthetic generator (sim/trace/synthetic.ts) on fixed parameters, so a name, a length and a
 * seed give the same trace every time.
 *
 * May import: sim/trace/synthetic.ts, sim/trace/format.ts, core/quantity.ts.
 */
import { GiB, MiB } from "../../core/quantity.ts";
import type { Trace } from "./format.ts";
import { type ServiceSpec, synthesize } from "./synthetic.ts";

/** The names `proxscale sim --synthetic` accepts. */
export const FORECAST_TRACES = ["diurnal", "weekly", "flat"] as const;
export type ForecastTraceName = typeof FORECAST_TRACES[number];

const MIN = 60_000;

function services(amplitude: number, weekendFactor?: number): ServiceSpec[] {
  const weekly = weekendFactor === undefined ? {} : { weekendFactor };
  return [
    {
      name: "web",
      namespace: "shop",
      cpu: 250,
      memory: 512 * MiB,
      ratePerHour: 30,
      amplitude,
      peakHour: 14,
      lifetime: [60 * MIN, 180 * MIN],
      ...weekly,
    },
    {
      name: "api",
      namespace: "shop",
      cpu: 500,
      memory: 1 * GiB,
      ratePerHour: 16,
      amplitude,
      peakHour: 15,
      lifetime: [90 * MIN, 240 * MIN],
      ...weekly,
    },
    {
      name: "worker",
      namespace: "jobs",
      cpu: 1000,
      memory: 2 * GiB,
      ratePerHour: 4,
      amplitude,
      peakHour: 11,
      lifetime: [30 * MIN, 120 * MIN],
      ...weekly,
    },
  ];
}

/** The named trace over `days` days, drawn from `seed`. */
export function forecastTrace(name: ForecastTraceName, days: number, seed = 7): Trace {
  switch (name) {
    case "diurnal":
      return synthesize({ name: `diurnal-${days}d`, seed, days, services: services(0.8) });
    case "weekly":
      return synthesize({ name: `weekly-${days}d`, seed, days, services: services(0.8, 0.3) });
    case "flat":
      return synthesize({
        name: `flat-${days}d`,
        seed,
        days,
        services: services(0),
        bursts: {
          perDay: 6,
          size: [4, 12],
          cpu: 500,
          memory: 1 * GiB,
          lifetime: [20 * MIN, 60 * MIN],
        },
      });
  }
}
