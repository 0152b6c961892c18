/**
 * A trace recorded from the demo cluster with a daily pattern, compressed in time: the real
 * daemon scales the demo cluster (harness/cluster.ts) while two Deployments follow a day/night
 * curve (web peaking at 14:00, api at 15:00, quiet at night), one simulated day every
 * `secondsPerDay` seconds; `proxscale record`'s pod watch (cli/record.ts) records the pods, and
 * the trace is stretched back so each compressed day lasts 24 h (sim/trace/stretch.ts).
 *
 *   deno run -A harness/diurnal_record.ts OUT.jsonl [--days 5] [--seconds-per-day 45] [--seed 5]
 *
 * docs/simulation.md replays the result with proxscale and proxscale-forecast.
 *
 * May import: core/, adapters/, daemon/, sim/, cli/, harness/.
 */
import { parseArgs } from "node:util";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { JobData } from "../daemon/context.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { informerPodWatch } from "../cli/record.ts";
import { TraceRecorder } from "../sim/trace/recorder.ts";
import { type Trace, writeTrace } from "../sim/trace/format.ts";
import { stretchTrace } from "../sim/trace/stretch.ts";
import { GiB, MiB } from "../core/quantity.ts";
import { startDemoCluster } from "./cluster.ts";

/** The day/night curve: `lo` replicas at night, `hi` at `peakHour`, cos² in between. */
export function replicasAt(hour: number, lo: number, hi: number, peakHour: number): number {
  const x = Math.max(0, Math.cos(((hour - peakHour) / 24) * 2 * Math.PI));
  return Math.round(lo + (hi - lo) * x * x);
}

const SERVICES = [
  { name: "web", cpu: 500, memory: 512 * MiB, lo: 2, hi: 24, peakHour: 14 },
  { name: "api", cpu: 1000, memory: 1 * GiB, lo: 1, hi: 8, peakHour: 15 },
];

/** Records `days` compressed days (`secondsPerDay` each, a step every `stepMs`) and stretches them. */
export async function recordDiurnal(o: {
  days: number;
  secondsPerDay: number;
  seed: number;
  stepMs?: number;
  log?: (line: string) => void;
}): Promise<Trace> {
  const log = o.log ?? (() => {});
  const msPerDay = o.secondsPerDay * 1000;
  const step = o.stepMs ?? 150;
  const cluster = await startDemoCluster({ seed: o.seed });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 6, baseDelayMs: 200, maxDelayMs: 2_000 },
  });
  const handle = await cluster.spawn({ queue });
  const watch = informerPodWatch(kubeClientFromKubeconfig(cluster.kube.kubeconfig()));
  try {
    for (const s of SERVICES) {
      cluster.world.deploy({ name: s.name, replicas: s.lo, cpu: s.cpu, memory: s.memory });
    }
    const start = Date.now();
    const recorder = new TraceRecorder(start, "demo-diurnal");
    await watch.start((change) => recorder.observe(change, Date.now()));
    const now: Record<string, number> = {};
    for (let t = 0; t < o.days * msPerDay; t = Date.now() - start) {
      const hour = ((t % msPerDay) / msPerDay) * 24;
      for (const s of SERVICES) {
        const n = replicasAt(hour, s.lo, s.hi, s.peakHour);
        if (now[s.name] !== n) cluster.world.scale(s.name, n);
        now[s.name] = n;
      }
      if (Math.floor(t / msPerDay) !== Math.floor((t - step) / msPerDay)) {
        log(`day ${Math.floor(t / msPerDay) + 1} of ${o.days}`);
      }
      await new Promise((r) => setTimeout(r, step));
    }
    const trace = recorder.finish(Date.now());
    return stretchTrace(trace, 86_400_000 / msPerDay);
  } finally {
    watch.stop();
    await handle.stop();
    await queue.close();
    await cluster.close();
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      days: { type: "string" },
      "seconds-per-day": { type: "string" },
      seed: { type: "string" },
    },
  });
  const out = positionals[0];
  if (!out) {
    console.error("usage: harness/diurnal_record.ts OUT.jsonl [--days N] [--seconds-per-day S]");
    Deno.exit(2);
  }
  const trace = await recordDiurnal({
    days: Number(values.days ?? 5),
    secondsPerDay: Number(values["seconds-per-day"] ?? 45),
    seed: Number(values.seed ?? 5),
    log: (l) => console.error(l),
  });
  await Deno.writeTextFile(out, writeTrace(trace));
  console.error(
    `wrote ${trace.pods.length} pods over ${(trace.duration / 3_600_000).toFixed(0)} h`,
  );
  Deno.exit(0);
}
