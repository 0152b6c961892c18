/**
 * Forecast against actual demand, for the report of a run with the `proxscale-forecast`
 * policy: the trace's requested CPU and memory (pods from arrival to departure, as the fluid
 * bound counts them) as five-minute bucket peaks, and at each bucket what the seasonal model
 * (core/forecast_model.ts) predicted for it from the buckets before, and whether its error then
 * was low enough for the forecast to act (it switches itself off otherwise).
 *
 * May import: core/, sim/engine/, sim/trace/format.ts.
 */
import { BUCKET_MS } from "../../core/forecast_history.ts";
import { forecastSeries } from "../../core/forecast_model.ts";
import { demandInterval } from "../engine/engine.ts";
import type { DepartureModel } from "../engine/world_spec.ts";
import type { Trace } from "../trace/format.ts";

/** The chart's data; CPU in cores, memory in GiB, one entry per bucket. */
export type ForecastSeries = {
  bucketSeconds: number;
  maxError: number;
  hours: number[];
  actualCpu: number[];
  predictedCpu: number[];
  actualMemory: number[];
  predictedMemory: number[];
  /** 1 where the model's recent error allowed it to act, else 0. */
  on: number[];
  /** Share of buckets it acted in, and mean absolute error of the CPU prediction while on. */
  onFraction: number;
  cpuMaeWhileOn: number;
};

/** Peaks per bucket of the trace's demand, and the model's one-bucket-ahead prediction. */
export function forecastVsActual(
  trace: Trace,
  departure: DepartureModel,
  maxError: number,
): ForecastSeries {
  const n = Math.max(1, Math.ceil(trace.duration / BUCKET_MS));
  const events: [number, number, number][] = [];
  for (const p of trace.pods) {
    const [a, d] = demandInterval(p, departure, trace.duration);
    if (d <= a) continue;
    events.push([a, p.cpu, p.memory], [d, -p.cpu, -p.memory]);
  }
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const cpu = new Array<number>(n).fill(0);
  const memory = new Array<number>(n).fill(0);
  let c = 0;
  let m = 0;
  let b = 0;
  for (const [t, dc, dm] of events) {
    const tb = Math.min(n - 1, Math.floor(t / BUCKET_MS));
    // Buckets with no event keep the demand they started with.
    for (; b < tb; b++) {
      cpu[b + 1] = Math.max(cpu[b + 1]!, c);
      memory[b + 1] = Math.max(memory[b + 1]!, m);
    }
    c += dc;
    m += dm;
    cpu[tb] = Math.max(cpu[tb]!, c);
    memory[tb] = Math.max(memory[tb]!, m);
  }
  const out: ForecastSeries = {
    bucketSeconds: BUCKET_MS / 1000,
    maxError,
    hours: [],
    actualCpu: [],
    predictedCpu: [],
    actualMemory: [],
    predictedMemory: [],
    on: [],
    onFraction: 0,
    cpuMaeWhileOn: 0,
  };
  let onCount = 0;
  let err = 0;
  for (let i = 0; i < n; i++) {
    const fc = forecastSeries(cpu.slice(0, i), 1);
    const fm = forecastSeries(memory.slice(0, i), 1);
    const on = fc && fm && Math.max(fc.error, fm.error) <= maxError ? 1 : 0;
    out.hours.push(round((i * BUCKET_MS) / 3_600_000));
    out.actualCpu.push(round(cpu[i]! / 1000));
    out.predictedCpu.push(round((fc?.peak ?? 0) / 1000));
    out.actualMemory.push(round(memory[i]! / 2 ** 30));
    out.predictedMemory.push(round((fm?.peak ?? 0) / 2 ** 30));
    out.on.push(on);
    if (on) {
      onCount++;
      err += Math.abs((fc!.peak - cpu[i]!) / 1000);
    }
  }
  out.onFraction = round(onCount / n);
  out.cpuMaeWhileOn = round(onCount > 0 ? err / onCount : 0);
  return out;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
