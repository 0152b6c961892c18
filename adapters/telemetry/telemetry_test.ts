import assert from "node:assert/strict";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { reason } from "../../core/reason.ts";
import { memorySink } from "./logger.ts";
import { registerSecret } from "./redact.ts";
import { createTelemetry } from "./telemetry.ts";

/** Every output of one telemetry layer, captured, so a test can search them all. */
function captured() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const logSink = memorySink();
  const auditSink = memorySink();
  const t = createTelemetry({
    tracer: provider.getTracer("test"),
    logSink,
    auditSink,
    level: "debug",
    now: () => 0,
  });
  const everything = async () =>
    [
      ...logSink.lines,
      ...auditSink.lines,
      JSON.stringify(
        exporter.getFinishedSpans().map((s) => ({
          name: s.name,
          attributes: s.attributes,
          events: s.events,
          status: s.status,
        })),
      ),
      await t.metrics.collect(),
    ].join("\n");
  const close = async () => {
    await t.shutdown();
    await provider.shutdown();
  };
  return { t, exporter, logSink, auditSink, everything, close };
}

Deno.test("log lines carry the trace id of the span they are written in", async () => {
  const { t, exporter, logSink, close } = captured();
  await t.tracing.job("launch", { nodeclaim: "general-x7k2p" }, () => {
    t.logger.child({ nodeclaim: "general-x7k2p" }).info("cloning");
  });
  t.logger.info("outside");
  const [inside, outside] = logSink.records();
  assert.equal(inside!.trace_id, exporter.getFinishedSpans()[0]!.spanContext().traceId);
  assert.equal(inside!.nodeclaim, "general-x7k2p");
  assert.equal("trace_id" in outside!, false);
  await close();
});

Deno.test("the PVE observe hook counts the request and writes a debug request log", async () => {
  const { t, logSink, close } = captured();
  t.observePveCall({ endpoint: "GET /cluster/nextid", durationMs: 12, status: 200, attempt: 1 });
  assert.match(
    await t.metrics.collect(),
    /proxscale_provider_requests_total\{verb="GET",endpoint="GET \/cluster\/nextid",code="200"\} 1/,
  );
  const rec = logSink.records()[0]!;
  assert.deepEqual([rec.level, rec.msg, rec.endpoint, rec.status], [
    "debug",
    "PVE request",
    "GET /cluster/nextid",
    200,
  ]);
  await close();
});

Deno.test("a secret registered at startup never leaves through logs, audit, spans or metrics, whatever callers pass", async () => {
  // The production path: main.ts registers with the process-wide guard, nothing is passed in.
  const secret = `pve-${crypto.randomUUID()}`;
  registerSecret(secret);
  const { t, everything, close } = captured();
  const why = reason("ProviderError", `PVE refused token ${secret}`);
  const nested = new Error("launch failed", {
    cause: Object.assign(new Error(`401 PVEAPIToken=root@pam!proxscale=${secret}`), {
      config: { headers: { Authorization: `PVEAPIToken=root@pam!proxscale=${secret}` } },
    }),
  });
  await assert.rejects(
    t.tracing.reconcile(() =>
      t.tracing.action(
        "LaunchClaim",
        { nodeclaim: secret, reason: why },
        () =>
          t.tracing.job("launch", { job: secret }, () =>
            t.tracing.pveCall(`clone ${secret}`, { host: secret }, (span) => {
              span.addEvent("retry", { token: secret });
              t.logger.error(`clone failed with ${secret}`, {
                error: nested,
                reason: why,
                [secret]: secret,
              });
              throw nested;
            })),
      )
    ),
  );
  t.logger.audit({ action: "VmCreate", reason: why, nodepool: secret, detail: secret });
  t.metrics.claimLaunched(secret, "ProviderError");
  t.metrics.observeProviderRequest(`POST /access/ticket?password=${secret}`, secret, 3);
  t.metrics.setNodes([{ nodepool: "general", state: secret, count: 1 }]);
  t.observePveCall({
    endpoint: `GET /version?t=${encodeURIComponent(secret)}`,
    durationMs: 1,
    kind: secret,
  });
  const out = await everything();
  assert.ok(out.length > 1000, "the outputs were captured");
  assert.ok(!out.includes(secret), `secret leaked:\n${out}`);
  assert.ok(!out.includes(encodeURIComponent(secret)));
  assert.ok(out.includes("<redacted>"));
  await close();
});
