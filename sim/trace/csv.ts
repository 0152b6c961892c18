/**
 * CSV input: a small RFC 4180 reader (quoted fields, doubled quotes, CRLF) and the generic
 * pod CSV importer. Generic columns, by header name (order free, extra columns ignored):
 *
 *   name (required), namespace, cpu, memory (Kubernetes quantities: 500m, 0.5, 512Mi, 1Gi),
 *   start (required), end, run_for (seconds from trace start, or RFC 3339 times, which are made
 *   relative to the earliest start), priority, owner (Kind/name)
 *
 * A row without end and run_for runs to the end of the trace. Errors are values naming the line.
 *
 * May import: core/quantity.ts, core/result.ts, sim/trace/format.ts.
 */
import { parseQuantity } from "../../core/quantity.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { overlappingPod, sortPods, type Trace, type TraceError, type TracePod } from "./format.ts";

/** Where a field starts: 1-based line and column. */
export type CsvPosition = { line: number; col: number };

/** One CSV row: the line it starts on, its fields and where each field starts. */
export type CsvRow = { line: number; fields: string[]; at: CsvPosition[] };

/**
 * Parses CSV text into rows of fields; the line of each row and the line and column of each
 * field are kept for errors. A BOM at the start is not content.
 */
export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let field = "";
  let fields: string[] = [];
  let at: CsvPosition[] = [];
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let any = false;
  const start = text.startsWith("\uFEFF") ? 1 : 0;
  let lineStart = start;
  let fieldAt: CsvPosition = { line: 1, col: 1 };
  for (let i = start; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === "\n") {
          line++;
          lineStart = i + 1;
        }
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      quoted = true;
      any = true;
    } else if (ch === ",") {
      fields.push(field);
      at.push(fieldAt);
      field = "";
      any = true;
      fieldAt = { line, col: i + 1 - lineStart + 1 };
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      if (any || field !== "") {
        fields.push(field);
        at.push(fieldAt);
        rows.push({ line: rowLine, fields, at });
      }
      fields = [];
      at = [];
      field = "";
      any = false;
      line++;
      rowLine = line;
      lineStart = i + 1;
      fieldAt = { line, col: 1 };
    } else {
      field += ch;
      any = true;
    }
  }
  if (any || field !== "") {
    fields.push(field);
    at.push(fieldAt);
    rows.push({ line: rowLine, fields, at });
  }
  return rows;
}

/** Rows as objects keyed by the header's column names. */
export function csvRecords(
  text: string,
): {
  header: string[];
  records: {
    line: number;
    get: (col: string) => string | undefined;
    at: (col?: string) => CsvPosition;
  }[];
} {
  const rows = parseCsv(text);
  const header = (rows[0]?.fields ?? []).map((h) => h.trim());
  const index = new Map(header.map((h, i) => [h, i]));
  const records = rows.slice(1).map((r) => ({
    line: r.line,
    get: (col: string) => {
      const i = index.get(col);
      if (i === undefined) return undefined;
      const v = r.fields[i]?.trim();
      return v === "" || v === undefined ? undefined : v;
    },
    at: (col?: string) => {
      const i = col === undefined ? undefined : index.get(col);
      return (i === undefined ? undefined : r.at[i]) ?? r.at[0] ?? { line: r.line, col: 1 };
    },
  }));
  return { header, records };
}

function bad(at: CsvPosition, message: string): Result<never, TraceError> {
  return err({ kind: "TraceInvalid", line: at.line, col: at.col, message });
}

const HEAD = { line: 1, col: 1 };

/** Seconds (number) or RFC 3339 text to epoch-ish milliseconds; NaN when neither. */
function timeMs(text: string): { ms: number; absolute: boolean } {
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    const ms = Math.round(Number(text) * 1000);
    return { ms: Number.isSafeInteger(ms) ? ms : NaN, absolute: false };
  }
  const t = Date.parse(text);
  return { ms: t, absolute: true };
}

/** Imports the generic pod CSV. */
export function importGenericCsv(text: string, name = "csv"): Result<Trace, TraceError> {
  const { header, records } = csvRecords(text);
  for (const col of ["name", "start"]) {
    if (!header.includes(col)) return bad(HEAD, `the header needs a "${col}" column`);
  }
  type Row = {
    at: CsvPosition;
    nameAt: CsvPosition;
    pod: TracePod;
    start: number;
    end?: number;
    abs: boolean;
  };
  const rows: Row[] = [];
  for (const r of records) {
    const podName = r.get("name");
    const startText = r.get("start");
    if (!podName || !startText) {
      return bad(r.at(podName ? "start" : "name"), "name and start are required");
    }
    const start = timeMs(startText);
    if (Number.isNaN(start.ms)) {
      return bad(r.at("start"), `start "${startText}" is neither seconds nor an RFC 3339 time`);
    }
    const cpu = parseQuantity(r.get("cpu") ?? "0", 1000);
    if (!cpu.ok) return bad(r.at("cpu"), `cpu: ${cpu.error}`);
    const memory = parseQuantity(r.get("memory") ?? "0", 1);
    if (!memory.ok) return bad(r.at("memory"), `memory: ${memory.error}`);
    const pod: TracePod = {
      namespace: r.get("namespace") ?? "default",
      name: podName,
      arrival: 0,
      cpu: cpu.value,
      memory: memory.value,
    };
    const runFor = r.get("run_for");
    if (runFor !== undefined) {
      const s = Number(runFor);
      if (!(s >= 0) || !Number.isSafeInteger(Math.round(s * 1000))) {
        return bad(r.at("run_for"), `run_for "${runFor}" must be seconds >= 0`);
      }
      pod.runFor = Math.round(s * 1000);
    }
    const pr = r.get("priority");
    if (pr !== undefined) {
      if (!/^-?\d{1,10}$/.test(pr)) {
        return bad(r.at("priority"), `priority "${pr}" must be an integer`);
      }
      pod.priority = Number(pr);
    }
    const owner = r.get("owner");
    if (owner !== undefined) pod.owner = owner;
    const row: Row = {
      at: r.at("start"),
      nameAt: r.at("name"),
      pod,
      start: start.ms,
      abs: start.absolute,
    };
    const endText = r.get("end");
    if (endText !== undefined) {
      const end = timeMs(endText);
      if (Number.isNaN(end.ms) || end.absolute !== start.absolute) {
        return bad(r.at("end"), `end "${endText}" must use the same time form as start`);
      }
      row.end = end.ms;
    }
    rows.push(row);
  }
  // A loop, not Math.min(...): a spread of a huge trace's rows overflows the call stack.
  let origin = 0;
  if (rows.length && rows[0]!.abs) {
    origin = Infinity;
    for (const r of rows) origin = Math.min(origin, r.start);
  }
  let duration = 0;
  const pods: TracePod[] = [];
  for (const r of rows) {
    r.pod.arrival = r.start - origin;
    if (r.pod.arrival < 0) return bad(r.at, "start must not be negative");
    if (r.end !== undefined) r.pod.departure = Math.max(r.pod.arrival, r.end - origin);
    duration = Math.max(duration, r.pod.departure ?? r.pod.arrival + (r.pod.runFor ?? 0));
    pods.push(r.pod);
  }
  const twice = overlappingPod(rows);
  if (twice) {
    return bad(
      twice.nameAt,
      `pod ${twice.pod.namespace}/${twice.pod.name} starts again while it is still running ` +
        "(a name is reused only after the earlier row's end)",
    );
  }
  sortPods(pods);
  return ok({ name, source: "generic CSV", duration, pods, nodes: [], pdbs: [], notes: [] });
}
