/**
 * Structured logs as JSON lines, and the audit stream. A log line carries the project's log
 * fields (level, time, msg, reason, nodepool, nodeclaim, vmid, host, node, pod, trace_id) so a
 * NodeClaim's story can be followed by its name or by the trace id of the active span. The
 * audit stream records every VM create/delete, cordon and eviction with what was done, why
 * (the Reason) and for which pool, apart from the chatty log so it can be kept longer.
 *
 * Both streams go to injected sinks (tests capture them) and through the redaction guard: the
 * whole record (keys, nested values, errors with causes) and the final line are scrubbed.
 */
import type { Reason, ReasonCode } from "../../core/reason.ts";
import { defaultRedactor, type Redactor } from "./redact.ts";

/** Severity, lowest first. */
export type Level = "debug" | "info" | "warn" | "error";

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where finished lines go (one JSON object, no trailing newline). */
export type Sink = (line: string) => void;

/**
 * Fields of a log line. `reason` may be a whole Reason (written as `reason` = code and
 * `reason_message`) or a bare code. `error` may be any thrown value.
 */
export type LogFields = {
  reason?: Reason | ReasonCode;
  nodepool?: string;
  nodeclaim?: string;
  vmid?: number;
  host?: string;
  node?: string;
  pod?: string;
  error?: unknown;
  [field: string]: unknown;
};

/** The actions that change the cluster or the hypervisor, each audited. */
export type AuditAction =
  | "VmCreate"
  | "VmStart"
  | "VmStop"
  | "VmDelete"
  | "Cordon"
  | "Uncordon"
  | "Taint"
  | "Untaint"
  | "Drain"
  | "Evict"
  | "PodDelete"
  | "NodeDelete";

/** One audit record: what was done (action + msg), why (reason) and for which pool. */
export type AuditRecord = {
  action: AuditAction;
  reason: Reason;
  nodepool: string;
  /** `requested` before the call, then `succeeded` or `failed`. Default `requested`. */
  outcome?: "requested" | "succeeded" | "failed";
  nodeclaim?: string;
  vmid?: number;
  host?: string;
  node?: string;
  pod?: string;
  /** Extra words, e.g. the PVE task UPID or the eviction's refusal. */
  detail?: string;
};

/** The logger the daemon, workers and adapters write to. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  log(level: Level, msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry `fields` (e.g. `{ nodeclaim, nodepool }` in a job). */
  child(fields: LogFields): Logger;
  /** Writes one record to the audit stream, whatever the level. */
  audit(record: AuditRecord): void;
  enabled(level: Level): boolean;
  /**
   * The same logger as a one-argument function of `{ level, msg, ...fields }`, the shape of the
   * Kubernetes adapters' `Log` port (adapters/kubernetes/log.ts).
   */
  readonly asLog: (entry: { level: Level; msg: string; [field: string]: unknown }) => void;
}

export type LoggerOptions = {
  /** Log lines. Default: stdout. */
  sink?: Sink;
  /** Audit lines. Default: stdout, told apart by `"stream":"audit"`. */
  auditSink?: Sink;
  /** Lines below this level are dropped. Default `info`. */
  level?: Level;
  /** Epoch ms; injected so tests get stable times. */
  now?: () => number;
  redactor?: Redactor;
  /** The active trace id, e.g. `tracing.traceId` (tracing.ts), for the `trace_id` field. */
  traceId?: () => string | undefined;
  /** Fields on every line (e.g. `{ component: "daemon" }`). */
  fields?: LogFields;
};

/** Parses a level name from configuration or LOG_LEVEL; undefined when it is not one. */
export function parseLevel(s: string | undefined): Level | undefined {
  const l = s?.trim().toLowerCase();
  return l === "debug" || l === "info" || l === "warn" || l === "error" ? l : undefined;
}

/** Writes lines to stdout synchronously, so lines from concurrent jobs never interleave. */
export function stdoutSink(): Sink {
  const enc = new TextEncoder();
  return (line) => {
    const bytes = enc.encode(line + "\n");
    let off = 0;
    while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
  };
}

/** Keeps lines in memory: for tests, and for the "every output" secret-leak checks. */
export function memorySink(): Sink & { lines: string[]; records(): Record<string, unknown>[] } {
  const lines: string[] = [];
  const sink: Sink = (line) => {
    lines.push(line);
  };
  return Object.assign(sink, {
    lines,
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  });
}

/** The fields every line puts first, in this order; the rest follow as given. */
const ORDERED = ["nodepool", "nodeclaim", "vmid", "host", "node", "pod"] as const;

/** Builds a logger over injected sinks. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const sink = opts.sink ?? stdoutSink();
  const auditSink = opts.auditSink ?? opts.sink ?? sink;
  const min = RANK[opts.level ?? "info"];
  const now = opts.now ?? Date.now;
  const redactor = opts.redactor ?? defaultRedactor;
  const traceId = opts.traceId ?? (() => undefined);

  const write = (out: Sink, record: Record<string, unknown>) => {
    let line: string;
    try {
      line = JSON.stringify(
        redactor.scrubValue(record),
        (_k, v) => typeof v === "bigint" ? v.toString() : v,
      );
    } catch {
      line = JSON.stringify({
        level: "error",
        time: record.time,
        msg: "unserialisable log record",
      });
    }
    try {
      out(redactor.scrub(line));
    } catch {
      // A broken sink (closed pipe) must not turn a log call into a failed reconcile.
    }
  };

  const compose = (head: Record<string, unknown>, fields: LogFields): Record<string, unknown> => {
    const rec: Record<string, unknown> = { ...head };
    const { reason, error, ...rest } = fields;
    if (reason !== undefined) {
      if (typeof reason === "string") rec.reason = reason;
      else {
        rec.reason = reason.code;
        rec.reason_message = reason.message;
      }
    }
    for (const k of ORDERED) if (rest[k] !== undefined) rec[k] = rest[k];
    const tid = traceId();
    if (tid !== undefined) rec.trace_id = tid;
    for (const [k, v] of Object.entries(rest)) {
      if (v !== undefined && !(k in rec)) rec[k] = v;
    }
    if (error !== undefined) rec.error = error;
    return rec;
  };

  const make = (base: LogFields): Logger => {
    const log = (level: Level, msg: string, fields: LogFields = {}) => {
      if (RANK[level] < min) return;
      const time = new Date(now()).toISOString();
      write(sink, compose({ level, time, msg }, { ...base, ...fields }));
    };
    return {
      debug: (msg, f) => log("debug", msg, f),
      info: (msg, f) => log("info", msg, f),
      warn: (msg, f) => log("warn", msg, f),
      error: (msg, f) => log("error", msg, f),
      log,
      child: (fields) => make({ ...base, ...fields }),
      enabled: (level) => RANK[level] >= min,
      audit(r) {
        const time = new Date(now()).toISOString();
        const { action, reason, outcome = "requested", detail, ...where } = r;
        write(
          auditSink,
          compose(
            { stream: "audit", time, action, outcome, msg: auditMessage(r) },
            { reason, ...where, ...(detail !== undefined ? { detail } : {}) },
          ),
        );
      },
      asLog: ({ level, msg, ...fields }) => log(level, msg, fields as LogFields),
    };
  };
  return make(opts.fields ?? {});
}

/** The audit record in one sentence: "create VM 120 on host pve1 for NodeClaim x in pool p". */
function auditMessage(r: AuditRecord): string {
  const vm = r.vmid !== undefined ? ` ${r.vmid}` : "";
  const on = r.host !== undefined ? ` on host ${r.host}` : "";
  const claim = r.nodeclaim !== undefined ? ` for NodeClaim ${r.nodeclaim}` : "";
  const what = {
    VmCreate: `create VM${vm}${on}${claim}`,
    VmStart: `start VM${vm}${on}${claim}`,
    VmStop: `stop VM${vm}${on}${claim}`,
    VmDelete: `delete VM${vm}${on}${claim}`,
    Cordon: `cordon node ${r.node ?? "?"}${claim}`,
    Uncordon: `uncordon node ${r.node ?? "?"}${claim}`,
    Taint: `taint node ${r.node ?? "?"}${claim}`,
    Untaint: `untaint node ${r.node ?? "?"}${claim}`,
    Drain: `drain node ${r.node ?? "?"}${claim}`,
    Evict: `evict pod ${r.pod ?? "?"} from node ${r.node ?? "?"}`,
    PodDelete: `delete pod ${r.pod ?? "?"} from node ${r.node ?? "?"}`,
    NodeDelete: `delete node ${r.node ?? "?"}${claim}`,
  }[r.action];
  const outcome = r.outcome === undefined || r.outcome === "requested" ? "" : ` ${r.outcome}`;
  return `${what} in pool ${r.nodepool}${outcome}: ${r.reason.message}`;
}
