/**
 * The daemon's own HTTP server: `/metrics` (Prometheus text), `/healthz` (the loop is alive) and
 * `/readyz` (caches synced, PVE reachable). One `Deno.serve` listener: the Prometheus exporter
 * never opens a port of its own (adapters/telemetry/metrics.ts). Probe bodies list each check as
 * `[+]name detail` / `[-]name detail`, like the Kubernetes API server's, and pass through the
 * redaction guard because a check's detail may quote an upstream error.
 *
 * The extra routes (`/status`, `/pause`, `/resume`) read the daemon's pools and claims or flip
 * its switch: when the server listens beyond loopback they answer 401 unless the request
 * carries `Authorization: Bearer <token>` with the configured token (and 401 to everyone when
 * no token is configured: closed, not open). `/metrics`, `/healthz` and `/readyz` stay open;
 * they carry counts and check names, never secrets.
 */
import type { Check, HealthSource } from "../adapters/telemetry/health.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../adapters/telemetry/metrics.ts";
import { defaultRedactor, describeError, type Redactor } from "../adapters/telemetry/redact.ts";
import { probeResponse } from "./probe_response.ts";

export type HttpServerOptions = {
  /** Default 127.0.0.1; a pod passes 0.0.0.0 (the kubelet probes the pod IP). */
  hostname?: string;
  /**
   * Bearer token the extra routes require. Required when `hostname` is not loopback: without
   * one they are refused; on loopback they are open unless a token is given.
   */
  routeToken?: string;
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

/** Is `host` a loopback address (127.0.0.0/8, ::1)? 0.0.0.0 and :: are not. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return h === "::1" || h === "0:0:0:0:0:0:0:1" || h === "localhost";
}

/** Compares without an early exit on the first differing byte. */
function sameToken(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * Whether a request may use the extra routes: always on loopback without a token; otherwise
 * only with `Authorization: Bearer <token>`, and never when no token is configured.
 */
export function routeAllowed(
  req: Request,
  opts: { hostname?: string; routeToken?: string },
): boolean {
  const loopback = isLoopbackHost(opts.hostname ?? "127.0.0.1");
  if (opts.routeToken === undefined || opts.routeToken === "") return loopback;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  return m !== null && sameToken(m[1]!, opts.routeToken);
}

/** The request handler alone, so it can be tested or mounted without a socket. */
export function httpHandler(opts: HttpServerOptions): (req: Request) => Promise<Response> {
  const redactor = opts.redactor ?? defaultRedactor;
  const text = (status: number, body: string, type = TEXT) =>
    new Response(redactor.scrub(body), { status, headers: { "content-type": type } });
  const probe = (checks: Check[]) =>
    probeResponse(checks.map((c) => ({ ...c, detail: redactor.scrub(c.detail) })));

  return async (req) => {
    const path = new URL(req.url).pathname;
    const route = opts.routes?.[path];
    if (route) {
      if (!routeAllowed(req, opts)) {
        const why = opts.routeToken
          ? "unauthorized: send Authorization: Bearer <token> (the daemon's --http-token-file)\n"
          : "unauthorized: this daemon listens beyond loopback and has no --http-token-file; " +
            "its status and switch routes are closed\n";
        return new Response(why, {
          status: 401,
          headers: { "content-type": TEXT, "www-authenticate": 'Bearer realm="proxscale"' },
        });
      }
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
        hostname: opts.hostname ?? "127.0.0.1",
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
