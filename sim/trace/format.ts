/**
 * The proxscale trace format, version 1: JSON Lines, one object per line, times in integer
 * milliseconds from the trace start, CPU in millicores and memory in bytes (integers, so a
 * trace converts once at import and never again). Line 1 is the header; the rest are events in
 * time order. Documented for users in docs/simulation.md:
 *
 *   {"format":"proxscale-trace","version":1,"name":"default","durationMs":259200000,"source":"..."}
 *   {"t":0,"type":"podCreated","namespace":"web","name":"web-1","cpu":250,"memory":268435456,
 *    "owner":"Deployment/web","priority":0,"labels":{...},"nodeSelector":{...},
 *    "tolerations":[...],"runForMs":600000,"extended":{"nvidia.com/gpu":1}}
 *   {"t":3600000,"type":"podDeleted","namespace":"web","name":"web-1"}
 *   {"t":0,"type":"nodeAdded","name":"static-1","cpu":8000,"memory":34359738368,"labels":{...}}
 *   {"t":0,"type":"nodeRemoved","name":"static-1"}
 *   {"t":0,"type":"pdb","namespace":"web","name":"web","selector":{...},"maxUnavailable":1}
 *
 * `runForMs` marks a batch pod: under the fixed-duration departure model it runs that long after
 * its simulated bind. `extended` holds the pod's extended resource requests (GPUs as
 * nvidia.com/gpu units) by Kubernetes resource name. Pods without a podDeleted line and
 * without runForMs run to the end.
 * Unknown keys are ignored (forward compatible within a major version); an unknown `type` or a
 * newer `version` is an error naming the line.
 *
 * May import: core/model.ts, core/result.ts.
 */
import type { LabelSelector, NodeSelectorTerm, Toleration } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";

export const TRACE_FORMAT = "proxscale-trace";
export const TRACE_VERSION = 1;

/** GPUs a pod asked for in its recording (kept for GPU-aware replays; not scheduled on yet). */
export type TraceGpu = {
  /** Whole GPUs requested (0 for a GPU-sharing pod's share). */
  count: number;
  /** Thousandths of one GPU, for GPU-sharing pods. */
  milli: number;
  /** Allowed GPU models; empty means any. */
  models: string[];
};

/** One pod of a trace, with its whole life resolved: arrival, departure or run length. */
export type TracePod = {
  namespace: string;
  name: string;
  /** ms from trace start */
  arrival: number;
  /** Recorded deletion time (ms from start), if any. */
  departure?: number;
  /** Run length after bind (fixed-duration model), ms. */
  runFor?: number;
  /** Recorded bind time, kept as the "as recorded" pending reference. */
  recordedBind?: number;
  cpu: number;
  memory: number;
  priority?: number;
  owner?: string;
  labels?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  requiredNodeAffinity?: NodeSelectorTerm[];
  gpu?: TraceGpu;
  /**
   * Extended resources the pod requests (nvidia.com/gpu and the like), counts by Kubernetes
   * resource name: what the scheduler and the autoscalers see. Absent: none.
   */
  extended?: Record<string, number>;
};

/** A node the trace says exists regardless of any autoscaler (not paid for by a policy). */
export type TraceNode = {
  name: string;
  added: number;
  removed?: number;
  cpu: number;
  memory: number;
  labels?: Record<string, string>;
};

export type TracePdb = {
  namespace: string;
  name: string;
  selector: LabelSelector;
  maxUnavailable: number;
};

/** A whole trace in memory: pods sorted by arrival then namespace/name. */
export type Trace = {
  name: string;
  source: string;
  /** Length of the replay window, ms. */
  duration: number;
  pods: TracePod[];
  nodes: TraceNode[];
  pdbs: TracePdb[];
  /** What the importer changed or dropped, in plain words (shown in the report header). */
  notes: string[];
};

/** A parse problem, with the 1-based line and column it is at. */
export type TraceError = { kind: "TraceInvalid"; line: number; col: number; message: string };

/** Column (1-based) of `"key":` in a JSON line, else of its first non-blank character. */
function keyColumn(line: string, key?: string): number {
  if (key !== undefined) {
    const i = line.indexOf(`${JSON.stringify(key)}`);
    if (i >= 0) return i + 1;
  }
  const m = /\S/.exec(line);
  return m ? m.index + 1 : 1;
}

/** Column of a JSON.parse error in `line` (V8 names the position), else the line's start. */
function jsonErrorColumn(line: string, message: string): number {
  const col = /column (\d+)/.exec(message);
  if (col) return Number(col[1]) + (line.length - line.trimStart().length);
  const pos = /position (\d+)/.exec(message);
  if (pos) return Number(pos[1]) + 1 + (line.length - line.trimStart().length);
  return keyColumn(line);
}

/** A map of strings (labels, node selectors), or undefined when it is not one. */
function stringMap(v: unknown): Record<string, string> | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  for (const x of Object.values(v)) if (typeof x !== "string") return undefined;
  return v as Record<string, string>;
}

/** A value for a message: strings as they are, anything else as (short) JSON. */
function show(v: unknown): string {
  const text = typeof v === "string" ? v : JSON.stringify(v) ?? "undefined";
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** A name for lookups: strings as they are, anything else as its JSON (never throws). */
function nameOf(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v) ?? "";
}

/** Bounded: every time and size a trace holds stays an exact integer. */
const MAX_INT = Number.MAX_SAFE_INTEGER;

type PodCreated = {
  t: number;
  type: "podCreated";
  namespace?: string;
  name: string;
  cpu: number;
  memory: number;
  owner?: string;
  priority?: number;
  labels?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  requiredNodeAffinity?: NodeSelectorTerm[];
  runForMs?: number;
  recordedBindMs?: number;
  gpu?: TraceGpu;
  extended?: Record<string, unknown>;
};

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX_INT;
}

/**
 * The first row whose pod (namespace/name) is still running when it appears again: a name may
 * be reused only after the earlier pod's recorded departure, as in the JSON Lines form (a
 * podCreated twice without a podDeleted is refused there too). Undefined when none overlap.
 */
export function overlappingPod<R extends { pod: TracePod }>(rows: readonly R[]): R | undefined {
  const byKey = new Map<string, R[]>();
  for (const r of rows) {
    const key = `${r.pod.namespace}/${r.pod.name}`;
    const list = byKey.get(key);
    if (list) list.push(r);
    else byKey.set(key, [r]);
  }
  for (const list of byKey.values()) {
    if (list.length < 2) continue;
    const sorted = [...list].sort((a, b) => a.pod.arrival - b.pod.arrival);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!.pod;
      const next = sorted[i]!.pod;
      // A pod that leaves the instant it arrives cannot share that instant with its successor:
      // the written trace orders both creations before both deletions.
      if (
        prev.departure === undefined || prev.departure > next.arrival ||
        (prev.departure === next.arrival && prev.arrival === prev.departure)
      ) {
        return sorted[i]!;
      }
    }
  }
  return undefined;
}

/** Sorts pods the one way every consumer expects. */
export function sortPods(pods: TracePod[]): void {
  pods.sort((a, b) =>
    a.arrival - b.arrival ||
    (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

/** Parses a version-1 trace. Errors are values naming the line. */
export function parseTrace(text: string): Result<Trace, TraceError> {
  const lines = text.split("\n");
  let header: Record<string, unknown> | undefined;
  const open = new Map<string, TracePod>();
  const pods: TracePod[] = [];
  const nodes = new Map<string, TraceNode>();
  const pdbs: TracePdb[] = [];
  let maxT = 0;
  const bad = (line: number, message: string, key?: string) =>
    err<TraceError>({
      kind: "TraceInvalid",
      line,
      col: keyColumn(lines[line - 1] ?? "", key),
      message,
    });
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === "" || (i === 0 && raw === "\uFEFF")) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(i === 0 && raw.startsWith("\uFEFF") ? raw.slice(1) : raw);
    } catch (e) {
      const message = (e as Error).message;
      return err({
        kind: "TraceInvalid",
        line: i + 1,
        col: jsonErrorColumn(lines[i]!, message),
        message: `not JSON: ${message}`,
      });
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) {
      return bad(i + 1, "each line must be a JSON object");
    }
    if (!header) {
      if (o.format !== TRACE_FORMAT) {
        return bad(
          i + 1,
          `first line must be the header {"format":"${TRACE_FORMAT}",...}`,
          "format",
        );
      }
      if (o.version !== TRACE_VERSION) {
        return bad(
          i + 1,
          `trace version ${show(o.version)} is not supported (this build reads ${TRACE_VERSION})`,
          "version",
        );
      }
      header = o;
      continue;
    }
    const t = o.t;
    if (!isInt(t)) {
      return bad(i + 1, "t must be a non-negative integer (ms from trace start)", "t");
    }
    maxT = Math.max(maxT, t);
    const ns = typeof o.namespace === "string" ? o.namespace : "default";
    switch (o.type) {
      case "podCreated": {
        const p = o as unknown as PodCreated;
        if (typeof p.name !== "string" || p.name === "") {
          return bad(i + 1, "podCreated needs a name", "name");
        }
        if (!isInt(p.cpu) || !isInt(p.memory)) {
          return bad(
            i + 1,
            "podCreated needs integer cpu (millicores) and memory (bytes)",
            isInt(p.cpu) ? "memory" : "cpu",
          );
        }
        const key = `${ns}/${p.name}`;
        if (open.has(key)) {
          return bad(i + 1, `pod ${key} created twice without a podDeleted`, "name");
        }
        const pod: TracePod = {
          namespace: ns,
          name: p.name,
          arrival: t,
          cpu: p.cpu,
          memory: p.memory,
        };
        if (p.runForMs !== undefined) {
          if (!isInt(p.runForMs)) {
            return bad(i + 1, "runForMs must be a non-negative integer", "runForMs");
          }
          pod.runFor = p.runForMs;
        }
        if (p.recordedBindMs !== undefined && isInt(p.recordedBindMs)) {
          pod.recordedBind = p.recordedBindMs;
        }
        if (p.priority !== undefined) {
          if (!Number.isSafeInteger(p.priority)) {
            return bad(i + 1, "priority must be an integer", "priority");
          }
          pod.priority = p.priority;
        }
        if (typeof p.owner === "string") pod.owner = p.owner;
        for (const k of ["labels", "nodeSelector"] as const) {
          if (p[k] === undefined) continue;
          const m = stringMap(p[k]);
          if (!m) return bad(i + 1, `${k} must be a map of strings`, k);
          pod[k] = m;
        }
        for (const k of ["tolerations", "requiredNodeAffinity"] as const) {
          if (p[k] === undefined) continue;
          const list = p[k] as unknown;
          if (
            !Array.isArray(list) ||
            !list.every((x) => typeof x === "object" && x !== null && !Array.isArray(x))
          ) {
            return bad(i + 1, `${k} must be a list of objects`, k);
          }
        }
        if (p.tolerations) pod.tolerations = p.tolerations;
        if (p.requiredNodeAffinity) pod.requiredNodeAffinity = p.requiredNodeAffinity;
        if (p.gpu !== undefined) {
          const g = p.gpu;
          if (!isInt(g.count) || !isInt(g.milli) || !Array.isArray(g.models)) {
            return bad(i + 1, "gpu needs integer count and milli and a models list");
          }
          pod.gpu = { count: g.count, milli: g.milli, models: g.models.map(String) };
        }
        if (p.extended !== undefined) {
          const e = p.extended;
          if (
            typeof e !== "object" || e === null || Array.isArray(e) ||
            !Object.values(e).every((v) => isInt(v) && v > 0)
          ) {
            return bad(
              i + 1,
              "extended must map resource names to positive integers",
              "extended",
            );
          }
          pod.extended = e as Record<string, number>;
        }
        open.set(key, pod);
        pods.push(pod);
        break;
      }
      case "podDeleted": {
        const key = `${ns}/${nameOf(o.name)}`;
        const pod = open.get(key);
        if (!pod) return bad(i + 1, `podDeleted for ${key}, which is not running`, "name");
        pod.departure = Math.max(t, pod.arrival);
        open.delete(key);
        break;
      }
      case "nodeAdded": {
        if (typeof o.name !== "string" || !isInt(o.cpu) || !isInt(o.memory)) {
          return bad(
            i + 1,
            "nodeAdded needs name, cpu and memory",
            typeof o.name !== "string" ? "name" : !isInt(o.cpu) ? "cpu" : "memory",
          );
        }
        const n: TraceNode = { name: o.name, added: t, cpu: o.cpu, memory: o.memory };
        if (o.labels !== undefined) {
          const m = stringMap(o.labels);
          if (!m) return bad(i + 1, "labels must be a map of strings", "labels");
          n.labels = m;
        }
        nodes.set(o.name, n);
        break;
      }
      case "nodeRemoved": {
        const n = nodes.get(nameOf(o.name));
        if (!n) return bad(i + 1, `nodeRemoved for unknown node ${show(o.name)}`, "name");
        // Lines need not be in time order: a removal dated before the node's addition is read
        // as at its addition, as a pod deleted before its creation is.
        n.removed = Math.max(t, n.added);
        break;
      }
      case "pdb": {
        if (typeof o.name !== "string" || !isInt(o.maxUnavailable)) {
          return bad(
            i + 1,
            "pdb needs name and maxUnavailable",
            typeof o.name !== "string" ? "name" : "maxUnavailable",
          );
        }
        if (
          o.selector !== undefined &&
          (typeof o.selector !== "object" || o.selector === null || Array.isArray(o.selector))
        ) {
          return bad(i + 1, "pdb selector must be a map", "selector");
        }
        pdbs.push({
          namespace: ns,
          name: o.name,
          selector: (o.selector ?? {}) as LabelSelector,
          maxUnavailable: o.maxUnavailable,
        });
        break;
      }
      default:
        return bad(i + 1, `unknown event type ${JSON.stringify(o.type)}`, "type");
    }
  }
  if (!header) return bad(1, "empty trace: the header line is missing");
  const duration = isInt(header.durationMs) ? header.durationMs : maxT;
  sortPods(pods);
  return ok({
    name: typeof header.name === "string" ? header.name : "trace",
    source: typeof header.source === "string" ? header.source : "",
    duration,
    pods,
    nodes: [...nodes.values()],
    pdbs,
    notes: Array.isArray(header.notes)
      ? header.notes.map((x) => typeof x === "string" ? x : show(x))
      : [],
  });
}

/** Writes a trace as version-1 JSON Lines; parseTrace(writeTrace(t)) gives t back. */
export function writeTrace(trace: Trace): string {
  type Ev = { t: number; order: number; key: string; line: string };
  const evs: Ev[] = [];
  for (const n of trace.nodes) {
    evs.push({
      t: n.added,
      order: 1,
      key: n.name,
      line: JSON.stringify({
        t: n.added,
        type: "nodeAdded",
        name: n.name,
        cpu: n.cpu,
        memory: n.memory,
        ...(n.labels ? { labels: n.labels } : {}),
      }),
    });
    if (n.removed !== undefined) {
      evs.push({
        t: n.removed,
        // A node removed the instant it is added goes after its own addition; any other removal
        // goes before additions at the same time, so a name reused at that instant stays valid.
        order: n.removed === n.added ? 3 : 0,
        key: n.name,
        line: JSON.stringify({ t: n.removed, type: "nodeRemoved", name: n.name }),
      });
    }
  }
  for (const b of trace.pdbs) {
    evs.push({
      t: 0,
      order: 1,
      key: `${b.namespace}/${b.name}`,
      line: JSON.stringify({
        t: 0,
        type: "pdb",
        namespace: b.namespace,
        name: b.name,
        selector: b.selector,
        maxUnavailable: b.maxUnavailable,
      }),
    });
  }
  for (const p of trace.pods) {
    const key = `${p.namespace}/${p.name}`;
    const o: Record<string, unknown> = {
      t: p.arrival,
      type: "podCreated",
      namespace: p.namespace,
      name: p.name,
      cpu: p.cpu,
      memory: p.memory,
    };
    if (p.owner !== undefined) o.owner = p.owner;
    if (p.priority !== undefined) o.priority = p.priority;
    if (p.labels) o.labels = p.labels;
    if (p.nodeSelector) o.nodeSelector = p.nodeSelector;
    if (p.tolerations) o.tolerations = p.tolerations;
    if (p.requiredNodeAffinity) o.requiredNodeAffinity = p.requiredNodeAffinity;
    if (p.runFor !== undefined) o.runForMs = p.runFor;
    if (p.recordedBind !== undefined) o.recordedBindMs = p.recordedBind;
    if (p.gpu) o.gpu = p.gpu;
    if (p.extended) o.extended = p.extended;
    evs.push({ t: p.arrival, order: 2, key, line: JSON.stringify(o) });
    if (p.departure !== undefined) {
      evs.push({
        t: p.departure,
        // A pod that leaves the instant it arrives is deleted after its own creation; any other
        // departure goes before creations at the same time, so a reused name stays valid.
        order: p.departure === p.arrival ? 3 : 0,
        key,
        line: JSON.stringify({
          t: p.departure,
          type: "podDeleted",
          namespace: p.namespace,
          name: p.name,
        }),
      });
    }
  }
  // Departures before arrivals at equal times, so a name reused at the same instant stays valid.
  evs.sort((a, b) =>
    a.t - b.t || a.order - b.order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
  const header = JSON.stringify({
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    name: trace.name,
    durationMs: trace.duration,
    source: trace.source,
    ...(trace.notes.length ? { notes: trace.notes } : {}),
  });
  return [header, ...evs.map((e) => e.line)].join("\n") + "\n";
}

/** FNV-1a digest of a trace's canonical text: names the trace in reports. */
export function traceDigest(trace: Trace): string {
  const text = writeTrace(trace);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}
