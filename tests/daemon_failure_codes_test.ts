/**
 * A failure keeps its own code from where it happens to everything that tells about it: the
 * decision report (and so the log line and the Event), the job's recorded error, the metric
 * label and the span. One test per boundary where the daemon decides what a failure means: an
 * action the executor carries out, a job the worker runs, and the loop's read of the queue.
 * In-memory fakes only (no sockets): the provider and the queue fail on request.
 */
import assert from "node:assert/strict";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { reason } from "../core/reason.ts";
import type { Action } from "../core/reconcile.ts";
import type { ClusterInformers } from "../adapters/kubernetes/cluster_informers.ts";
import { createTracing } from "../adapters/telemetry/tracing.ts";
import { createTelemetry } from "../adapters/telemetry/telemetry.ts";
import { memorySink } from "../adapters/telemetry/logger.ts";
import { createRedactor } from "../adapters/telemetry/redact.ts";
import { createHealthState } from "../adapters/telemetry/health.ts";
import type { DaemonContext, DecisionReport, JobData } from "../daemon/context.ts";
import { deleteVmJobId } from "../daemon/ports/queue.ts";
import { Executor } from "../daemon/executor.ts";
import { jobHandler } from "../daemon/workers.ts";
import { ReconcileLoop } from "../daemon/loop.ts";
import { observers } from "../daemon/observe.ts";
import { unitContext } from "../daemon/testing/context_fake.ts";
import { FakeQueue } from "../daemon/testing/queue_fake.ts";
import { FakeProvider } from "../daemon/testing/provider_fake.ts";

/** Informers with nothing in them, synced: enough for a pass and the executor's lookups. */
function emptyInformers(): ClusterInformers {
  const empty = { list: () => [], get: () => undefined, on: () => () => {} };
  return {
    pods: empty,
    nodes: empty,
    pdbs: empty,
    nodeClaims: empty,
    daemonSets: empty,
    persistentVolumeClaims: empty,
    persistentVolumes: empty,
    storageClasses: empty,
    start: () => {},
    synced: () => Promise.resolve(),
    hasSynced: () => true,
    stop: () => Promise.resolve(),
    snapshot: () => ({
      pods: [],
      nodes: [],
      pdbs: [],
      nodeClaims: [],
      daemonSets: [],
      volumeClaims: [],
      volumes: [],
      storageClasses: [],
    }),
  } as unknown as ClusterInformers;
}

/**
 * A unit context whose reports also go through the daemon's observers (log, metrics), with
 * spans kept in memory.
 */
function observed(
  providers: Record<string, FakeProvider>,
  queue: FakeQueue<JobData>,
) {
  const unit = unitContext(providers, { queue });
  const exporter = new InMemorySpanExporter();
  const tracer = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
    .getTracer("test");
  const logs = memorySink();
  const telemetry = createTelemetry({ redactor: createRedactor(), logSink: logs, level: "debug" });
  const obs = observers({
    logger: telemetry.logger,
    metrics: telemetry.metrics,
    health: createHealthState({ now: () => 0, maxTickAgeMs: 60_000 }),
    queue,
    isLeader: () => true,
  });
  const ctx: DaemonContext = {
    ...unit.ctx,
    informers: emptyInformers(),
    tracing: createTracing({ tracer }),
    report: (d) => {
      unit.ctx.report(d);
      obs.report(d);
    },
  };
  const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
  const metricsText = () => telemetry.metrics.collect();
  const logged = (what: string) => logs.records().filter((r) => r.msg === what);
  const close = () => telemetry.shutdown();
  return { ctx, reports: unit.reports, spans, metricsText, logged, close };
}

/** The code a span failed with: the name of the exception it recorded. */
function failureCode(span: ReadableSpan | undefined): unknown {
  assert.ok(span, "the span ended");
  assert.equal(span.status.code, 2, "the span is marked failed");
  const ex = span.events.find((e) => e.name === "exception");
  return ex?.attributes?.["exception.type"];
}

const count = (text: string, series: RegExp) => Number(series.exec(text)?.[1] ?? NaN);

Deno.test("a queue failure in an action keeps QueueError in the report, the log, the metric label and the span", async () => {
  const queue = new FakeQueue<JobData>();
  queue.failNext("enqueue", { kind: "QueueUnavailable", message: "redis 127.0.0.1:6399 down" });
  const o = observed({}, queue);
  try {
    const finalize: Action = {
      kind: "FinalizeClaim",
      claim: "general-abcde",
      reason: reason("Finalizing", "NodeClaim general-abcde is being deleted"),
    };
    await new Executor(o.ctx).apply([finalize], true);
    const failed = o.reports.find((r) => r.what === "FinalizeClaimFailed");
    assert.ok(failed, o.reports.map((r) => r.what).join(", "));
    assert.equal(failed.reason.code, "QueueError");
    assert.equal(failed.outcome, "failed");
    assert.match(failed.reason.message, /finalize-general-abcde: redis 127\.0\.0\.1:6399 down/);
    const line = o.logged("FinalizeClaimFailed")[0];
    assert.equal(line?.reason, "QueueError");
    assert.equal(line?.level, "warn");
    const text = await o.metricsText();
    assert.equal(
      count(text, /^proxscale_reconcile_errors_total\{reason="QueueError"\} (\d+)$/m),
      1,
      text.split("\n").filter((l) => l.includes("reconcile_errors")).join("\n"),
    );
    assert.equal(failureCode(o.spans("action FinalizeClaim")[0]), "QueueError");
  } finally {
    await o.close();
  }
});

Deno.test("a provider failure in a gc-vm job keeps ProviderError in the report, the job's recorded error, the metric label and the span", async () => {
  const provider = new FakeProvider();
  const vm = provider.seed("general-abcde", "host1");
  provider.failNext("delete", {
    kind: "InProgress",
    vmid: vm.vmid,
    host: "host1",
    message: "VM is locked (clone)",
  });
  const queue = new FakeQueue<JobData>();
  const o = observed({ fake: provider }, queue);
  try {
    queue.startWorker(jobHandler(o.ctx));
    await queue.enqueue({
      id: deleteVmJobId(vm.provider, vm.vmid),
      name: "gc-vm",
      data: { kind: "gc-vm", vm: { ...vm, claim: "general-abcde" } },
    });
    const job = await queue.runNext();
    assert.equal(job?.state, "failed");
    assert.equal(job?.lastErrorCode, "ProviderError");
    assert.equal(job?.lastError, "VM is locked (clone)");
    const failed = o.reports.find((r) => r.what === "VmDeleteFailed");
    assert.ok(failed, o.reports.map((r) => r.what).join(", "));
    assert.equal(failed.reason.code, "ProviderError");
    assert.match(failed.reason.message, /VM is locked \(clone\)$/);
    const text = await o.metricsText();
    const series = text.split("\n").find((l) =>
      l.startsWith("proxscale_provider_errors_total{") && l.includes('operation="delete"') &&
      l.includes('code="ProviderError"')
    );
    assert.ok(
      series?.endsWith(" 1"),
      text.split("\n").filter((l) => l.includes("provider_errors")).join("\n"),
    );
    assert.equal(failureCode(o.spans("job gc-vm")[0]), "ProviderError");
  } finally {
    await o.close();
  }
});

Deno.test("a job list the queue cannot give is reported as QueueError, on the metric and the pass's span, not dropped", async () => {
  const queue = new FakeQueue<JobData>();
  queue.failNext("list", { kind: "QueueUnavailable", message: "redis 127.0.0.1:6399 down" });
  const o = observed({}, queue);
  const passes: DecisionReport[][] = [];
  const loop = new ReconcileLoop(o.ctx, new Executor(o.ctx), {
    tickMs: 3_600_000,
    isLeader: () => false,
    paused: () => false,
    onPass: () => passes.push([...o.reports]),
  });
  try {
    loop.runNow();
    const end = Date.now() + 5_000;
    while (passes.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.equal(passes.length, 1, "the pass went on without the job facts");
    const failed = o.reports.find((r) => r.what === "JobListFailed");
    assert.ok(failed, o.reports.map((r) => r.what).join(", "));
    assert.equal(failed.reason.code, "QueueError");
    assert.match(failed.reason.message, /redis 127\.0\.0\.1:6399 down/);
    const text = await o.metricsText();
    assert.equal(
      count(text, /^proxscale_reconcile_errors_total\{reason="QueueError"\} (\d+)$/m),
      1,
    );
    assert.equal(failureCode(o.spans("reconcile")[0]), "QueueError");
  } finally {
    await loop.stop();
    await o.close();
  }
});
