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
import { sortPods, type Trace, type TraceError, type TracePod } from "./format.ts";

/** Parses CSV text into rows of fields; the line number of each row is kept for errors. */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let field = "";
  let fields: string[] = [];
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === "\n") line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      quoted = true;
      any = true;
    } else if (ch === ",") {
      fields.push(field);
      field = "";
      any = true;
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      if (any || field !== "") {
        fields.push(field);
        rows.push({ line: rowLine, fields });
      }
      fields = [];
      field = "";
      any = false;
      line++;
      rowLine = line;
    } else {
      field += ch;
      any = true;
    }
  }
  if (any || field !== "") {
    fields.push(field);
    rows.push({ line: rowLine, fields });
  }
  return rows;
}

/** Rows as objects keyed by the header's column names. */
export function csvRecords(
  text: string,
): { header: string[]; records: { line: number; get: (col: string) => string | undefined }[] } {
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
  }));
  return { header, records };
}

function bad(line: number, message: string): Result<never, TraceError> {
  return err({ kind: "TraceInvalid", line, message });
}

/** Seconds (number) or RFC 3339 text to epoch-ish milliseconds; NaN when neither. */
function timeMs(text: string): { ms: number; absolute: boolean } {
  if (/^-?\d+(\.\d+)?$/.test(text)) return { ms: Math.round(Number(text) * 1000), absolute: false };
  const t = Date.parse(text);
  return { ms: t, absolute: true };
}

/** Imports the generic pod CSV. */
export function importGenericCsv(text: string, name = "csv"): Result<Trace, TraceError> {
  const { header, records } = csvRecords(text);
  for (const col of ["name", "start"]) {
    if (!header.includes(col)) return bad(1, `the header needs a "${col}" column`);
  }
  type Row = { line: number; pod: TracePod; start: number; end?: number; abs: boolean };
  const rows: Row[] = [];
  for (const r of records) {
    const podName = r.get("name");
    const startText = r.get("start");
    if (!podName || !startText) return bad(r.line, "name and start are required");
    const start = timeMs(startText);
    if (Number.isNaN(start.ms)) {
      return bad(r.line, `start "${startText}" is neither seconds nor an RFC 3339 time`);
    }
    const cpu = parseQuantity(r.get("cpu") ?? "0", 1000);
    if (!cpu.ok) return bad(r.line, `cpu: ${cpu.error}`);
    const memory = parseQuantity(r.get("memory") ?? "0", 1);
    if (!memory.ok) return bad(r.line, `memory: ${memory.error}`);
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
      if (!(s >= 0)) return bad(r.line, `run_for "${runFor}" must be seconds >= 0`);
      pod.runFor = Math.round(s * 1000);
    }
    const pr = r.get("priority");
    if (pr !== undefined) {
      if (!/^-?\d+$/.test(pr)) return bad(r.line, `priority "${pr}" must be an integer`);
      pod.priority = Number(pr);
    }
    const owner = r.get("owner");
    if (owner !== undefined) pod.owner = owner;
    const row: Row = { line: r.line, pod, start: start.ms, abs: start.absolute };
    const endText = r.get("end");
    if (endText !== undefined) {
      const end = timeMs(endText);
      if (Number.isNaN(end.ms) || end.absolute !== start.absolute) {
        return bad(r.line, `end "${endText}" must use the same time form as start`);
      }
      row.end = end.ms;
    }
    rows.push(row);
  }
  const origin = rows.length && rows[0]!.abs ? Math.min(...rows.map((r) => r.start)) : 0;
  let duration = 0;
  const pods: TracePod[] = [];
  for (const r of rows) {
    r.pod.arrival = r.start - origin;
    if (r.pod.arrival < 0) return bad(r.line, "start must not be negative");
    if (r.end !== undefined) r.pod.departure = Math.max(r.pod.arrival, r.end - origin);
    duration = Math.max(duration, r.pod.departure ?? r.pod.arrival + (r.pod.runFor ?? 0));
    pods.push(r.pod);
  }
  sortPods(pods);
  return ok({ name, source: "generic CSV", duration, pods, nodes: [], pdbs: [], notes: [] });
}
