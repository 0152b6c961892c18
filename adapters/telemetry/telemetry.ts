/**
 * The telemetry layer in one value: tracing, metrics and the logger wired to one redaction
 * guard, with the logger's `trace_id` taken from the active span. main.ts builds one at
 * startup (after registering secrets) and hands its parts to the daemon and the adapters; a
 * test builds one over capturing sinks and an in-memory tracer and can search every output.
 *
 * adapters/telemetry/ holds: redact.ts (the secret guard), tracing.ts (spans; OTLP export is
 * documented there), metrics.ts (Prometheus), logger.ts (JSON lines + audit), health.ts (probe
 * state). It imports only core/ types and @opentelemetry/*; daemon/, main.ts and the other
 * adapters may import it. daemon/http.ts serves /metrics, /healthz and /readyz from it.
 */
import type { Tracer } from "@opentelemetry/api";
import { createLogger, type Level, type LogFields, type Logger, type Sink } from "./logger.ts";
import { createMetrics, type Metrics, type ProviderCall } from "./metrics.ts";
import { defaultRedactor, type Redactor } from "./redact.ts";
import { createTracing, type Tracing } from "./tracing.ts";

export type TelemetryOptions = {
  /** Default: the process-wide redactor that `registerSecret` fills. */
  redactor?: Redactor;
  /** Default: the global tracer (Deno's OTLP pipeline with OTEL_DENO=true, else a no-op). */
  tracer?: Tracer;
  /** Log lines; default stdout. */
  logSink?: Sink;
  /** Audit lines; default the log sink. */
  auditSink?: Sink;
  level?: Level;
  now?: () => number;
  /** Fields on every log line. */
  fields?: LogFields;
};

/** Everything the daemon reports through. */
export type Telemetry = {
  redactor: Redactor;
  tracing: Tracing;
  metrics: Metrics;
  logger: Logger;
  /**
   * The PVE client's `observe` hook: counts the request in metrics and writes a debug request
   * log (endpoint, status, duration; the client never passes credentials, and the guard would
   * scrub them anyway).
   */
  observePveCall(call: ProviderCall & { attempt?: number }): void;
  shutdown(): Promise<void>;
};

/** Builds the telemetry layer. */
export function createTelemetry(opts: TelemetryOptions = {}): Telemetry {
  const redactor = opts.redactor ?? defaultRedactor;
  const tracing = createTracing({ redactor, ...(opts.tracer ? { tracer: opts.tracer } : {}) });
  const metrics = createMetrics({ redactor });
  const logger = createLogger({
    redactor,
    traceId: () => tracing.traceId(),
    ...(opts.logSink ? { sink: opts.logSink } : {}),
    ...(opts.auditSink ? { auditSink: opts.auditSink } : {}),
    ...(opts.level ? { level: opts.level } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.fields ? { fields: opts.fields } : {}),
  });
  return {
    redactor,
    tracing,
    metrics,
    logger,
    observePveCall(call) {
      metrics.observePveCall(call);
      if (logger.enabled("debug")) {
        logger.debug("PVE request", {
          endpoint: call.endpoint,
          duration_ms: call.durationMs,
          ...(call.status !== undefined ? { status: call.status } : {}),
          ...(call.kind !== undefined ? { error_kind: call.kind } : {}),
          ...(call.attempt !== undefined ? { attempt: call.attempt } : {}),
        });
      }
    },
    shutdown: () => metrics.shutdown(),
  };
}
