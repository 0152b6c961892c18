/**
 * Importer for the Alibaba cluster-trace-gpu-v2023 ("openb") pod list
 * (`openb_pod_list_default.csv`, docs/simulation.md, 'Alibaba cluster-trace-gpu-v2023 (openb)'):
 * `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,
 * pod_phase,creation_time,deletion_time,scheduled_time`, times in seconds from trace start, empty
 * scheduled_time for pods never scheduled. Arrival is creation_time, departure deletion_time;
 * scheduled_time is kept only as the recorded reference (the simulator decides binding), and gives
 * the run time under the fixed-duration model. GPU pods are dropped, replayed with CPU and memory
 * only, or replayed asking GPUs as the extended resource nvidia.com/gpu: `whole` asks whole
 * passthrough GPUs (num_gpu, or ⌈gpu_milli/1000⌉ for a GPU-sharing pod), `shared` asks
 * time-sliced replicas of whole GPUs, SHARED_GPU_REPLICAS per GPU (a pod asks
 * ⌈gpu_milli·R/1000⌉ replicas for each GPU it uses). num_gpu, gpu_milli and gpu_spec stay on the
 * pod whatever the mode. Two
 * rows of one pod name whose lifetimes overlap are an error naming both lines. Rows that cannot be
 * replayed (GPU pods under --gpu drop, a deletion_time before the creation_time, a zero lifetime)
 * are dropped and the trace's notes say how many and why. Requests can be scaled by a factor
 * (`--scale`) the report header states, since the trace's pods come from servers larger than most
 * Proxmox VMs.
 *
 * May import: core/quantity.ts, core/result.ts.
 */
import { MiB } from "../../core/quantity.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { csvRecords } from "./csv.ts";
import { sortPods, type Trace, type TraceError, type TracePod } from "./format.ts";

export const OPENB_COLUMNS = [
  "name",
  "cpu_milli",
  "memory_mib",
  "num_gpu",
  "gpu_milli",
  "gpu_spec",
  "qos",
  "pod_phase",
  "creation_time",
  "deletion_time",
  "scheduled_time",
] as const;

/** Largest number a column may hold (times in seconds, sizes in MiB or millicores). */
const MAX_VALUE = 1e9;

/** What the importer does with pods that ask for GPUs (docs/simulation.md, 'GPUs'). */
export type GpuMode = "drop" | "cpu-only" | "whole" | "shared";

/** Every --gpu mode, in the order help texts list them. */
export const GPU_MODES: readonly GpuMode[] = ["drop", "cpu-only", "whole", "shared"];

/**
 * Time-slicing replicas per GPU under --gpu shared: one replica is 100 gpu_milli, the finest
 * share the device plugin's time-slicing hands out in this replay.
 */
export const SHARED_GPU_REPLICAS = 10;

/** The extended resource GPU pods ask for (the NVIDIA device plugin's name). */
export const GPU_RESOURCE = "nvidia.com/gpu";

/**
 * The GPU units a pod of `num_gpu` GPUs with `gpu_milli` thousandths of each asks for under a
 * GPU-asking mode: whole GPUs (⌈gpu_milli/1000⌉ when num_gpu is 0), or time-sliced replicas,
 * ⌈gpu_milli·R/1000⌉ for each GPU used (a gpu_milli of 0 with num_gpu > 0 means whole GPUs).
 */
export function gpuUnits(mode: "whole" | "shared", numGpu: number, gpuMilli: number): number {
  const gpus = numGpu > 0 ? Math.ceil(numGpu) : Math.ceil(gpuMilli / 1000);
  if (mode === "whole") return Math.max(1, gpus);
  const milli = gpuMilli > 0 ? Math.min(gpuMilli, 1000) : 1000;
  const per = Math.max(1, Math.ceil((milli * SHARED_GPU_REPLICAS) / 1000));
  return Math.max(1, numGpu > 0 ? Math.ceil(numGpu) : 1) * per;
}

export type OpenbOptions = {
  /** What to do with pods that ask for GPUs. */
  gpu: GpuMode;
  /** Multiplies CPU and memory requests (trace pods are sized for large GPU servers). */
  scale: number;
  name: string;
};

/** Imports an openb pod list. */
export function importOpenb(
  text: string,
  opts: Partial<OpenbOptions> = {},
): Result<Trace, TraceError> {
  const o: OpenbOptions = { gpu: "drop", scale: 1, name: "openb", ...opts };
  const { header, records } = csvRecords(text);
  for (
    const c of ["name", "cpu_milli", "memory_mib", "num_gpu", "creation_time", "deletion_time"]
  ) {
    if (!header.includes(c)) {
      return err({
        kind: "TraceInvalid",
        line: 1,
        col: 1,
        message: `not an openb pod list: no "${c}" column (expected ${OPENB_COLUMNS.join(",")})`,
      });
    }
  }
  const pods: TracePod[] = [];
  // Lifetimes seen per name, to reject a name reused while its earlier pod still lives.
  const lives = new Map<string, { from: number; to: number; line: number }[]>();
  let deletedBeforeCreated = 0;
  let zeroLifetime = 0;
  let gpuPods = 0;
  let neverScheduled = 0;
  let duration = 0;
  const int = (
    at: { line: number; col: number },
    col: string,
    v: string | undefined,
  ): Result<number | undefined, TraceError> => {
    if (v === undefined || v.toLowerCase() === "nan") return ok(undefined);
    const n = Number(v);
    // Bounded so that seconds * 1000 and MiB * 2^20 stay exact integers.
    if (!Number.isFinite(n) || n < 0 || n > MAX_VALUE) {
      return err({
        kind: "TraceInvalid",
        ...at,
        message: `${col} "${v}" must be a non-negative number up to ${MAX_VALUE}`,
      });
    }
    return ok(n);
  };
  for (const r of records) {
    const name = r.get("name");
    if (!name) {
      return err({ kind: "TraceInvalid", ...r.at("name"), message: "name is empty" });
    }
    const vals: Record<string, number | undefined> = {};
    for (
      const c of [
        "cpu_milli",
        "memory_mib",
        "num_gpu",
        "gpu_milli",
        "creation_time",
        "deletion_time",
        "scheduled_time",
      ]
    ) {
      const v = int(r.at(c), c, r.get(c));
      if (!v.ok) return v;
      vals[c] = v.value;
    }
    if (vals.creation_time === undefined) {
      return err({
        kind: "TraceInvalid",
        ...r.at("creation_time"),
        message: "creation_time is empty",
      });
    }
    const arrival = Math.round(vals.creation_time * 1000);
    const deletion = vals.deletion_time === undefined
      ? undefined
      : Math.round(vals.deletion_time * 1000);
    const until = deletion ?? Infinity;
    for (const l of lives.get(name) ?? []) {
      if (arrival < l.to && l.from < until) {
        return err({
          kind: "TraceInvalid",
          ...r.at("name"),
          message: `pod name "${name}" is used again while the pod of line ${l.line} still ` +
            `lives (their lifetimes overlap); one name is one pod at a time`,
        });
      }
    }
    if (!lives.has(name)) lives.set(name, []);
    lives.get(name)!.push({ from: arrival, to: until, line: r.line });
    const gpuAsked = (vals.num_gpu ?? 0) > 0 || (vals.gpu_milli ?? 0) > 0;
    if (gpuAsked) {
      gpuPods++;
      if (o.gpu === "drop") continue;
    }
    if (deletion !== undefined && deletion < arrival) {
      deletedBeforeCreated++;
      continue;
    }
    if (deletion === arrival) {
      zeroLifetime++;
      continue;
    }
    const pod: TracePod = {
      namespace: "openb",
      name,
      arrival,
      cpu: Math.ceil((vals.cpu_milli ?? 0) * o.scale),
      memory: Math.ceil((vals.memory_mib ?? 0) * MiB * o.scale),
      owner: `Job/${name}`,
      labels: { qos: r.get("qos") ?? "" },
    };
    if (deletion !== undefined) pod.departure = deletion;
    if (gpuAsked) {
      const spec = r.get("gpu_spec") ?? "";
      pod.gpu = {
        count: vals.num_gpu ?? 0,
        milli: vals.gpu_milli ?? 0,
        models: spec === "" || spec.toLowerCase() === "nan" ? [] : spec.split("|"),
      };
      if (o.gpu === "whole" || o.gpu === "shared") {
        pod.extended = {
          [GPU_RESOURCE]: gpuUnits(o.gpu, vals.num_gpu ?? 0, vals.gpu_milli ?? 0),
        };
      }
    }
    if (vals.scheduled_time !== undefined) {
      pod.recordedBind = Math.round(vals.scheduled_time * 1000);
    } else neverScheduled++;
    duration = Math.max(duration, pod.departure ?? arrival);
    pods.push(pod);
  }
  sortPods(pods);
  const dropped = records.length - pods.length;
  const why = [
    o.gpu === "drop" && gpuPods > 0 ? `${gpuPods} GPU pods (--gpu drop)` : "",
    deletedBeforeCreated > 0
      ? `${deletedBeforeCreated} with deletion_time before creation_time`
      : "",
    zeroLifetime > 0 ? `${zeroLifetime} with a zero lifetime (deleted when created)` : "",
  ].filter(Boolean);
  const notes = [
    `openb pod list: ${records.length} rows, ${pods.length} pods replayed`,
    `${dropped} rows dropped${why.length > 0 ? `: ${why.join(", ")}` : ""}`,
    o.gpu === "drop"
      ? `${gpuPods} GPU pods dropped`
      : o.gpu === "cpu-only"
      ? `${gpuPods} GPU pods replayed with CPU and memory only`
      : o.gpu === "whole"
      ? `${gpuPods} GPU pods replayed asking whole GPUs (${GPU_RESOURCE})`
      : `${gpuPods} GPU pods replayed asking time-sliced GPU shares (${GPU_RESOURCE}, ` +
        `${SHARED_GPU_REPLICAS} replicas per GPU)`,
    `${neverScheduled} pods were never scheduled in the recording`,
  ];
  if (o.scale !== 1) notes.push(`CPU and memory requests scaled by ${o.scale}`);
  return ok({
    name: o.name,
    source: "Alibaba cluster-trace-gpu-v2023 (openb)",
    duration,
    pods,
    nodes: [],
    pdbs: [],
    notes,
  });
}
