/**
 * A NodePool's demand history: the requested resources of its pods (running and pending: CPU
 * millicores, memory bytes, GPUs) as the peak of each fixed bucket (5 minutes), at most four
 * weeks of buckets, oldest dropped first. Recording is pure: a new history is returned, and
 * the bucket still open is kept apart so that a record inside it copies nothing large. Also
 * what a pool's demand is now, worked out from a Snapshot, and a compact text encoding
 * (base64 of 32-bit integers) for storing the history in the cluster.
 *
 * May import: core/model.ts, core/pod_requests.ts, core/labels.ts.
 */
import type { Config, Snapshot } from "./model.ts";
import { podExtendedRequests, podRequestsOf } from "./pod_requests.ts";
import { NODEPOOL_LABEL_KEY } from "./labels.ts";

/** Width of one bucket, ms. */
export const BUCKET_MS = 5 * 60_000;
/** Most buckets kept: four weeks of five-minute buckets. */
export const HISTORY_BUCKETS = 4 * 7 * 24 * 12;

/** One bucket's peak demand: CPU millicores, memory bytes, GPUs (any extended resource). */
export type Demand = { cpu: number; memory: number; gpus: number };

/**
 * Completed buckets `first`..`first + cpu.length - 1` (bucket = floor(epoch ms / BUCKET_MS)),
 * a bucket with no record holding the one before it, and the open bucket's peak so far.
 */
export type DemandHistory = {
  first: number;
  cpu: number[];
  memory: number[];
  gpus: number[];
  open?: { bucket: number } & Demand;
};

/** An empty history. */
export function emptyHistory(): DemandHistory {
  return { first: 0, cpu: [], memory: [], gpus: [] };
}

/** The bucket index of an instant. */
export function bucketOf(at: number): number {
  return Math.floor(at / BUCKET_MS);
}

/** The history with `d` recorded at `at`: the open bucket keeps its peak; a later bucket closes it. */
export function recordDemand(h: DemandHistory, at: number, d: Demand): DemandHistory {
  const b = bucketOf(at);
  const open = h.open;
  if (open && b <= open.bucket) {
    if (d.cpu <= open.cpu && d.memory <= open.memory && d.gpus <= open.gpus) return h;
    return {
      ...h,
      open: {
        bucket: open.bucket,
        cpu: Math.max(open.cpu, d.cpu),
        memory: Math.max(open.memory, d.memory),
        gpus: Math.max(open.gpus, d.gpus),
      },
    };
  }
  let closed = h;
  if (open) closed = appendBucket(h, open.bucket, open);
  return { ...closed, open: { bucket: b, ...d } };
}

/** Appends a completed bucket, repeating the last value over any gap and dropping the oldest. */
function appendBucket(h: DemandHistory, bucket: number, d: Demand): DemandHistory {
  const cpu = h.cpu.slice();
  const memory = h.memory.slice();
  const gpus = h.gpus.slice();
  let first = h.first;
  if (cpu.length === 0) first = bucket;
  else {
    const last = first + cpu.length - 1;
    if (bucket < last) return h;
    if (bucket === last) {
      // A bucket completed before (restored from storage) seen again: keep the higher peak.
      const i = cpu.length - 1;
      cpu[i] = Math.max(cpu[i]!, d.cpu);
      memory[i] = Math.max(memory[i]!, d.memory);
      gpus[i] = Math.max(gpus[i]!, d.gpus);
      return { first, cpu, memory, gpus };
    }
    // A gap longer than the history restarts it; a shorter one holds the last value.
    if (bucket - last > HISTORY_BUCKETS) {
      return { first: bucket, cpu: [d.cpu], memory: [d.memory], gpus: [d.gpus] };
    }
    for (let b = last + 1; b < bucket; b++) {
      cpu.push(cpu[cpu.length - 1]!);
      memory.push(memory[memory.length - 1]!);
      gpus.push(gpus[gpus.length - 1]!);
    }
  }
  cpu.push(d.cpu);
  memory.push(d.memory);
  gpus.push(d.gpus);
  const drop = cpu.length - HISTORY_BUCKETS;
  if (drop > 0) {
    cpu.splice(0, drop);
    memory.splice(0, drop);
    gpus.splice(0, drop);
    first += drop;
  }
  return { first, cpu, memory, gpus };
}

/**
 * Each pool's demand now: requests of pods bound to its nodes, plus pending unschedulable pods
 * counted for the pool that may take them (their nodeSelector's pool, else the first pool by
 * weight whose taints they tolerate).
 */
export function demandByPool(snapshot: Snapshot, config: Config): Record<string, Demand> {
  const out: Record<string, Demand> = {};
  for (const p of config.nodePools) out[p.name] = { cpu: 0, memory: 0, gpus: 0 };
  const nodePool = new Map<string, string>();
  for (const n of snapshot.nodes) {
    const pool = n.labels[NODEPOOL_LABEL_KEY];
    if (pool !== undefined) nodePool.set(n.name, pool);
  }
  const byWeight = [...config.nodePools].sort((a, b) => b.weight - a.weight);
  for (const pod of snapshot.pods) {
    if (pod.deleting || pod.ownerKind === "DaemonSet") continue;
    if (pod.phase === "Succeeded" || pod.phase === "Failed") continue;
    let pool: string | undefined;
    if (pod.nodeName) pool = nodePool.get(pod.nodeName);
    else if (pod.unschedulable) {
      pool = pod.nodeSelector?.[NODEPOOL_LABEL_KEY] ??
        byWeight.find((p) =>
          p.taints.every((t) =>
            (pod.tolerations ?? []).some((tol) =>
              tol.operator === "Exists"
                ? (tol.key === undefined || tol.key === t.key)
                : tol.key === t.key
            )
          )
        )?.name;
    }
    const d = pool === undefined ? undefined : out[pool];
    if (!d) continue;
    const r = podRequestsOf(pod);
    d.cpu += r.cpu;
    d.memory += r.memory;
    for (const v of Object.values(podExtendedRequests(pod))) d.gpus += v;
  }
  return out;
}

/** The completed buckets of one resource as a plain series (for the model and the report). */
export function seriesOf(h: DemandHistory, resource: keyof Demand): readonly number[] {
  return h[resource];
}

/**
 * Both histories in one: each bucket the higher of the two (two replicas, or a replica and what
 * was stored, saw the same demand at different instants), a bucket only one has taken from it.
 */
export function mergeHistory(a: DemandHistory, b: DemandHistory): DemandHistory {
  const ca = a.open ? appendBucket(a, a.open.bucket, a.open) : a;
  const cb = b.open ? appendBucket(b, b.open.bucket, b.open) : b;
  if (ca.cpu.length === 0) return cb;
  if (cb.cpu.length === 0) return ca;
  const first = Math.max(
    Math.min(ca.first, cb.first),
    Math.max(ca.first + ca.cpu.length, cb.first + cb.cpu.length) - HISTORY_BUCKETS,
  );
  const last = Math.max(ca.first + ca.cpu.length, cb.first + cb.cpu.length) - 1;
  const out: DemandHistory = { first, cpu: [], memory: [], gpus: [] };
  const at = (h: DemandHistory, k: keyof Demand, bucket: number) => {
    const i = bucket - h.first;
    return i >= 0 && i < h.cpu.length ? h[k][i]! : undefined;
  };
  for (let bucket = first; bucket <= last; bucket++) {
    for (const k of ["cpu", "memory", "gpus"] as const) {
      const x = at(ca, k, bucket);
      const y = at(cb, k, bucket);
      out[k].push(
        x === undefined && y === undefined
          ? (out[k][out[k].length - 1] ?? 0)
          : Math.max(x ?? -Infinity, y ?? -Infinity),
      );
    }
  }
  return out;
}

/** The last `buckets` buckets of a history (what fits a storage budget). */
export function lastBuckets(h: DemandHistory, buckets: number): DemandHistory {
  const drop = h.cpu.length - Math.max(0, Math.floor(buckets));
  if (drop <= 0) return h;
  return {
    first: h.first + drop,
    cpu: h.cpu.slice(drop),
    memory: h.memory.slice(drop),
    gpus: h.gpus.slice(drop),
    ...(h.open ? { open: h.open } : {}),
  };
}

/** Bytes the encoded history takes at most per pool (three 32-bit series, base64). */
export const ENCODED_BYTES_PER_POOL = Math.ceil((3 * HISTORY_BUCKETS * 4 + 12) / 3) * 4 + 64;

/**
 * A compact text form: `v1:<first>:<base64>` with the three series as unsigned 32-bit integers
 * (CPU millicores, memory in MiB rounded up, GPUs); the open bucket is folded in as the last.
 */
export function encodeHistory(h: DemandHistory): string {
  const closed = h.open ? appendBucket(h, h.open.bucket, h.open) : h;
  const n = closed.cpu.length;
  const buf = new Uint32Array(3 * n);
  for (let i = 0; i < n; i++) {
    buf[i] = clampU32(closed.cpu[i]!);
    buf[n + i] = clampU32(Math.ceil(closed.memory[i]! / 2 ** 20));
    buf[2 * n + i] = clampU32(closed.gpus[i]!);
  }
  const bytes = new Uint8Array(buf.buffer);
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return `v1:${closed.first}:${btoa(bin)}`;
}

/** Reads `encodeHistory`'s form back; undefined for text it did not write. */
export function decodeHistory(text: string): DemandHistory | undefined {
  const m = /^v1:(\d+):([A-Za-z0-9+/=]*)$/.exec(text.trim());
  if (!m) return undefined;
  let bin: string;
  try {
    bin = atob(m[2]!);
  } catch {
    return undefined;
  }
  if (bin.length % 12 !== 0) return undefined;
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const buf = new Uint32Array(bytes.buffer);
  const n = buf.length / 3;
  const h: DemandHistory = { first: Number(m[1]), cpu: [], memory: [], gpus: [] };
  for (let i = 0; i < n; i++) {
    h.cpu.push(buf[i]!);
    h.memory.push(buf[n + i]! * 2 ** 20);
    h.gpus.push(buf[2 * n + i]!);
  }
  return h;
}

function clampU32(v: number): number {
  return Math.max(0, Math.min(0xffff_ffff, Math.round(v)));
}
