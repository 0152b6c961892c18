/**
 * The daemon's own HTTP server: `/metrics` (Prometheus text), `/healthz` (the loop is alive) and
 * `/readyz` (caches synced, PVE reachable). One `Deno.serve` listener: the Prometheus exporter
 * never opens a port of its own (adapters/telemetry/metrics.ts). Probe bodies list each check as
 * `[+]name detail` / `[-]name detail`, like the Kubernetes API server's, and pass through the
 * redaction guard because a check's detail may quote an upstream error.
 */
import type { Check, HealthSource } from "../adapters/telemetry/health.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../adapters/telemetry/metrics.ts";
import { defaultRedactor, describeError, type Redactor } from "../adapters/telemetry/redact.ts";

export type HttpServerOptions = {
  /** Default 0.0.0.0 (the kubelet probes the pod IP); tests use 127.0.0.1. */
  hostname?: string;
  /** Default 8080; 0 picks a free port (tests). */
  port?: number;
  /** The metrics registry (adapters/telemetry/metrics.ts `createMetrics()`). */
  metrics: { collect(): Promise<string> };
  /** More exposition text appended to /metrics, e.g. BullMQ's `exportPrometheusMetrics()`. */
  extraMetrics?: () => Promise<string> | string;
  health: HealthSource;
  redactor?: Redactor;
  /** Told when /metrics fails to collect (the response says only that it failed). */
  onError?: (msg: string, error: unknown) => void;
  /**
   * More endpoints by exact path (e.g. `/status`, `/pause`, `/resume` from daemon/status_report.ts
   * and daemon/maintenance.ts); each handles its own methods. Bodies pass the redaction guard.
   */
  routes?: Record<string, (req: Request) => Response | Promise<Response>>;
};

/** A running server. */
export type DaemonHttpServer = {
  hostname: string;
  port: number;
  /** Stops accepting, finishes in-flight requests. */
  shutdown(): Promise<void>;
};

const TEXT = "text/plain; charset=utf-8";

/** The request handler alone, so it can be tested or mounted without a socket. */
export function httpHandler(opts: HttpServerOptions): (req: Request) => Promise<Response> {
  const redactor = opts.redactor ?? defaultRedactor;
  const text = (status: number, body: string, type = TEXT) =>
    new Response(redactor.scrub(body), { status, headers: { "content-type": type } });
  const probe = (checks: Check[]) => {
    const ok = checks.every((c) => c.ok);
    const lines = checks.map((c) => `[${c.ok ? "+" : "-"}]${c.name} ${c.detail}`);
    return text(ok ? 200 : 503, `${lines.join("\n")}\n${ok ? "ok" : "not ok"}\n`);
  };

  return async (req) => {
    const path = new URL(req.url).pathname;
    const route = opts.routes?.[path];
    if (route) {
      const res = await route(req);
      return new Response(redactor.scrub(await res.text()), {
        status: res.status,
        headers: res.headers,
      });
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text(405, "method not allowed\n");
    }
    switch (path) {
      case "/healthz":
      case "/livez":
        return probe([opts.health.liveness()]);
      case "/readyz":
        return probe(opts.health.readiness());
      case "/metrics": {
        try {
          let body = await opts.metrics.collect();
          if (opts.extraMetrics) {
            const extra = await opts.extraMetrics();
            if (extra.trim() !== "") body = `${body.trimEnd()}\n${extra.trimEnd()}\n`;
          }
          return text(200, body, PROMETHEUS_CONTENT_TYPE);
        } catch (e) {
          opts.onError?.("metrics collection failed", e);
          return text(500, `metrics collection failed: ${describeError(e, redactor)}\n`);
        }
      }
      default:
        return text(404, "not found\n");
    }
  };
}

/** Starts the server; resolves once it listens (the port is known then). */
export function startHttpServer(opts: HttpServerOptions): Promise<DaemonHttpServer> {
  const handler = httpHandler(opts);
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: opts.hostname ?? "0.0.0.0",
        port: opts.port ?? 8080,
        onListen(addr) {
          resolve({
            hostname: addr.hostname,
            port: addr.port,
            shutdown: () => server.shutdown(),
          });
        },
      }, handler);
    } catch (e) {
      reject(e);
    }
  });
}
