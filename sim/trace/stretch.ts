/**
 * Stretching a trace in time: every instant (arrivals, departures, run lengths, recorded binds,
 * static nodes, the duration) multiplied by one factor. A day played in a minute on the demo
 * cluster becomes a day again, so its daily pattern is one the forecast's 5-minute buckets and
 * daily season can see. Requests are unchanged.
 *
 * May import: sim/trace/format.ts.
 */
import type { Trace } from "./format.ts";

/** `trace` with every time multiplied by `factor` (> 0), rounded to whole milliseconds. */
export function stretchTrace(trace: Trace, factor: number): Trace {
  const t = (x: number) => Math.round(x * factor);
  return {
    ...trace,
    duration: t(trace.duration),
    pods: trace.pods.map((p) => ({
      ...p,
      arrival: t(p.arrival),
      ...(p.departure !== undefined ? { departure: t(p.departure) } : {}),
      ...(p.runFor !== undefined ? { runFor: t(p.runFor) } : {}),
      ...(p.recordedBind !== undefined ? { recordedBind: t(p.recordedBind) } : {}),
    })),
    nodes: trace.nodes.map((n) => ({
      ...n,
      added: t(n.added),
      ...(n.removed !== undefined ? { removed: t(n.removed) } : {}),
    })),
    notes: [...trace.notes, `times stretched x${factor}`],
  };
}
