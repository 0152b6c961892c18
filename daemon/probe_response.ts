/**
 * The body of /healthz, /livez and /readyz: one `[+]name detail` or `[-]name detail` line per
 * check, like the Kubernetes API server's, then `ok` (200) or `not ok` (503). Shared by the
 * HTTP handler (daemon/http.ts) and the front-door thread (daemon/front_door_worker.ts), which
 * must not load the handler's imports.
 *
 * May import: adapters/.
 */
import type { Check } from "../adapters/telemetry/health.ts";

/** The probe answer for `checks` (details already scrubbed of secrets by the caller). */
export function probeResponse(checks: readonly Check[]): Response {
  const ok = checks.every((c) => c.ok);
  const lines = checks.map((c) => `[${c.ok ? "+" : "-"}]${c.name} ${c.detail}`);
  return new Response(`${lines.join("\n")}\n${ok ? "ok" : "not ok"}\n`, {
    status: ok ? 200 : 503,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
