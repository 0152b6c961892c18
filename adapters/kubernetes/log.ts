/**
 * The structured-log port the Kubernetes adapters write to (one set of field names for every log
 * line: level, msg, reason, node, pod, nodeclaim ...). The daemon passes its telemetry logger;
 * tests pass a collector. Nothing here formats or ships logs.
 */

/** One log line as fields. `reason` is a Reason code or a short machine word. */
export type LogEntry = {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  reason?: string;
  [field: string]: unknown;
};

/** Where adapter log lines go. */
export type Log = (entry: LogEntry) => void;

/** Discards everything (the default when no logger is passed). */
export const silentLog: Log = () => {};

/** Collects entries in memory, for tests that assert what was logged. */
export function memoryLog(): Log & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const log: Log = (e) => {
    entries.push(e);
  };
  return Object.assign(log, { entries });
}
