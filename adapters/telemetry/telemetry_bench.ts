/**
 * What telemetry costs the loop: one scrubbed log line, one no-op span (OTEL_DENO off), one
 * counter add, and one /metrics collect with a realistic number of series.
 */
import { reason } from "../../core/reason.ts";
import { createLogger } from "./logger.ts";
import { createMetrics } from "./metrics.ts";
import { createRedactor } from "./redact.ts";
import { createTracing } from "./tracing.ts";

const redactor = createRedactor();
for (
  const s of ["pve-token-secret-uuid-1234", "redis-password-xyz", "bootstrap.abcdef0123456789"]
) {
  redactor.registerSecret(s);
}
const logger = createLogger({ sink: () => {}, redactor, now: () => 0 });
const tracing = createTracing({ redactor });
const why = reason("PodsPending", "3 pods pending in pool 'general' need 2500m CPU");

Deno.bench("telemetry: one log line with fields and 3 registered secrets", () => {
  logger.info("VM started", {
    reason: why,
    nodeclaim: "general-x7k2p",
    nodepool: "general",
    vmid: 120,
  });
});

Deno.bench("telemetry: one span with the no-op tracer", async () => {
  await tracing.pveCall("clone", { nodeclaim: "general-x7k2p", reason: why }, () => 1);
});

const metrics = createMetrics({ redactor });
for (let p = 0; p < 10; p++) {
  metrics.setPoolUsage(`pool-${p}`, { cpu: 64_000, memory: 2 ** 37, nodes: 16 }, { cpu: 128_000 });
  for (const r of ["PodsPending", "Empty", "Drifted", "Underutilized"] as const) {
    metrics.claimLaunched(`pool-${p}`, r);
    metrics.claimTerminated(`pool-${p}`, r);
  }
}
for (let e = 0; e < 20; e++) metrics.observeProviderRequest(`GET /endpoint/${e}/x`, 200, e);

Deno.bench("telemetry: counter add", () => {
  metrics.claimLaunched("pool-1", "PodsPending");
});

Deno.bench("telemetry: collect /metrics text (~150 series, 20 histograms)", async () => {
  await metrics.collect();
});

globalThis.addEventListener("unload", () => void metrics.shutdown());
