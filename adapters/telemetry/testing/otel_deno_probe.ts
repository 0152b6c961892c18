/**
 * Run by otel_deno_test.ts in a child Deno with OTEL_DENO=true: one traced launch decision and
 * one counter, so the test can check the spans reach Deno's exporter while /metrics text still
 * comes from our own provider (docs/toolchain.md, 'OpenTelemetry's global provider').
 */
import { reason } from "../../../core/reason.ts";
import { memorySink } from "../logger.ts";
import { createTelemetry } from "../telemetry.ts";

const sink = memorySink();
const t = createTelemetry({ logSink: sink });
await t.tracing.reconcile(async () => {
  await t.tracing.action(
    "LaunchClaim",
    { nodeclaim: "general-x7k2p", nodepool: "general", reason: reason("PodsPending", "3 pods") },
    () => t.logger.info("launching"),
  );
});
t.metrics.claimLaunched("general", "PodsPending");
console.log(`PROBE_METRICS ${JSON.stringify(await t.metrics.collect())}`);
console.log(`PROBE_LOG ${sink.lines[0]}`);
await t.shutdown();
