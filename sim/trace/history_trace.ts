/**
 * A replayable trace made from the demand histories the daemon stores (ConfigMap
 * proxscale-demand-history), for `proxscale advise --kubeconfig`: each pool's 5-minute peaks of
 * requested CPU and memory become that many equal pods pinned to the pool (its nodepool label, and
 * tolerations of its taints), created when a bucket's demand rises and deleted, newest first,
 * when it falls. The pods are the pool's demand cut into units of the history's own memory/CPU
 * ratio, small enough (at most 40 at the pool's peak, 100m CPU at least) that the simulated VMs
 * pack them as they would pack the real pods. GPU demand is not replayed (noted in the trace).
 *
 * May import: core/, sim/trace/format.ts.
 */
import { BUCKET_MS, type DemandHistory } from "../../core/forecast_history.ts";
import { NODEPOOL_LABEL_KEY } from "../../core/labels.ts";
import type { Config } from "../../core/model.ts";
import { MiB } from "../../core/quantity.ts";
import { sortPods, type Trace, type TracePod } from "./format.ts";

/** Pods at a pool's peak demand at most. */
export const PODS_AT_PEAK = 40;

/** A history's buckets with the open one appended (it is the latest peak seen). */
function closedSeries(h: DemandHistory): { first: number; cpu: number[]; memory: number[] } {
  const cpu = h.cpu.slice();
  const memory = h.memory.slice();
  let first = h.first;
  if (h.open) {
    if (cpu.length === 0) first = h.open.bucket;
    for (let b = first + cpu.length; b < h.open.bucket; b++) {
      cpu.push(cpu.at(-1) ?? 0);
      memory.push(memory.at(-1) ?? 0);
    }
    if (h.open.bucket >= first + cpu.length) {
      cpu.push(h.open.cpu);
      memory.push(h.open.memory);
    }
  }
  return { first, cpu, memory };
}

/** The pod size one pool's demand is cut into: CPU millicores and memory bytes. */
export function podUnit(cpu: readonly number[], memory: readonly number[]): {
  cpu: number;
  memory: number;
} {
  const peakCpu = Math.max(0, ...cpu);
  const sumCpu = cpu.reduce((a, b) => a + b, 0);
  const sumMem = memory.reduce((a, b) => a + b, 0);
  const unitCpu = Math.max(100, Math.ceil(peakCpu / PODS_AT_PEAK / 50) * 50);
  // The history's own bytes per millicore; a memory-only history gets 4 MiB per millicore.
  const perMilli = sumCpu > 0 ? sumMem / sumCpu : 4 * MiB;
  return { cpu: unitCpu, memory: Math.max(MiB, Math.round((unitCpu * perMilli) / MiB) * MiB) };
}

/**
 * The trace of `histories` (pools not in `config` are skipped), over their last `days` days
 * (default: all they hold), named `name`. Empty pods when no configured pool has a bucket.
 */
export function traceFromHistories(
  histories: Record<string, DemandHistory>,
  config: Config,
  opts: { days?: number; name?: string } = {},
): Trace {
  const pools = Object.entries(histories)
    .filter(([name]) => config.nodePools.some((p) => p.name === name))
    .map(([name, h]) => ({ name, ...closedSeries(h), gpus: h.gpus.some((g) => g > 0) }))
    .filter((p) => p.cpu.length > 0)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const notes: string[] = [];
  const end = Math.max(0, ...pools.map((p) => p.first + p.cpu.length));
  let start = Math.min(end, ...pools.map((p) => p.first));
  if (opts.days !== undefined) {
    start = Math.max(start, end - Math.ceil(opts.days * 86_400_000 / BUCKET_MS));
  }
  const pods: TracePod[] = [];
  for (const p of pools) {
    const pool = config.nodePools.find((x) => x.name === p.name)!;
    const from = Math.max(start, p.first) - p.first;
    const cpu = p.cpu.slice(from);
    const memory = p.memory.slice(from);
    const offset = (Math.max(start, p.first) - start) * BUCKET_MS;
    const unit = podUnit(cpu, memory);
    const tolerations = pool.taints.map((t) => ({ key: t.key, operator: "Exists" as const }));
    const live: TracePod[] = [];
    let made = 0;
    for (let i = 0; i < cpu.length; i++) {
      const at = offset + i * BUCKET_MS;
      const want = Math.max(Math.ceil(cpu[i]! / unit.cpu), Math.ceil(memory[i]! / unit.memory));
      while (live.length > want) live.pop()!.departure = at;
      while (live.length < want) {
        const pod: TracePod = {
          namespace: "history",
          name: `${p.name}-${made++}`,
          arrival: at,
          cpu: unit.cpu,
          memory: unit.memory,
          owner: `Deployment/${p.name}`,
          labels: { app: p.name },
          nodeSelector: { [NODEPOOL_LABEL_KEY]: p.name },
          ...(tolerations.length > 0 ? { tolerations } : {}),
        };
        live.push(pod);
        pods.push(pod);
      }
    }
    notes.push(
      `pool ${p.name}: ${cpu.length} buckets of 5 min as pods of ${unit.cpu}m CPU / ${
        Math.round(unit.memory / MiB)
      } MiB`,
    );
    if (p.gpus) notes.push(`pool ${p.name}: its GPU demand is not replayed`);
  }
  sortPods(pods);
  return {
    name: opts.name ?? "demand-history",
    source: "proxscale demand history (ConfigMap proxscale-demand-history)",
    duration: (end - start) * BUCKET_MS,
    pods,
    nodes: [],
    pdbs: [],
    notes,
  };
}
