/**
 * Issue 9 item 1: the real daemon, run against the fakes, explains a launch in one trace:
 * reconcile -> action LaunchClaim (the NodeClaim, PodsPending and its message) -> job launch
 * (the queued job is the action's child through the span ref carried in its data, and names
 * the NodePool) -> the PVE calls that made the VM (clone, config, start: each naming the claim,
 * NodePool, host and vmid), plus the
 * Kubernetes writes (`kubernetes create nodeclaims`, `kubernetes patch nodeclaims/status`).
 */
import assert from "node:assert/strict";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { createTracing } from "../adapters/telemetry/tracing.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { MiB } from "../core/quantity.ts";

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const attr = (s: ReadableSpan, key: string) => s.attributes[`proxscale.${key}`];

/** Every span below `root`, depth first. */
function descendants(spans: ReadableSpan[], root: ReadableSpan): ReadableSpan[] {
  const out: ReadableSpan[] = [];
  const visit = (id: string) => {
    for (const s of spans.filter((x) => parentOf(x) === id)) {
      out.push(s);
      visit(idOf(s));
    }
  };
  visit(idOf(root));
  return out;
}

Deno.test("one launch by the running daemon is one trace: reconcile > action > job > PVE and Kubernetes calls", async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracing = createTracing({ tracer: provider.getTracer("test") });
  const cluster = await startDemoCluster({ seed: 9 });
  const queue = new MemoryJobQueue<JobData>();
  const reports: DecisionReport[] = [];
  try {
    await cluster.spawn({ queue, tracing, report: (d) => reports.push(d), tickMs: 300 });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    const launched = () => reports.find((d) => d.what === "VmCreated");
    const jobDone = () =>
      exporter.getFinishedSpans().some((s) => s.name === "job launch" && attr(s, "nodeclaim"));
    const end = Date.now() + 20_000;
    while (Date.now() < end && !(launched() && jobDone())) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const created = launched();
    assert.ok(created?.nodeclaim, reports.map((r) => `${r.what} ${r.reason.code}`).join("\n"));
    const claim = created.nodeclaim;
    const spans = exporter.getFinishedSpans();
    const byId = new Map(spans.map((s) => [idOf(s), s]));

    const job = spans.find((s) => s.name === "job launch" && attr(s, "nodeclaim") === claim);
    assert.ok(job, spans.map((s) => s.name).join("\n"));
    assert.equal(attr(job, "job"), `launch-${claim}`);
    assert.equal(attr(job, "reason"), "PodsPending");
    // The NodePool travels with the job, so a pool's launches can be found by attribute.
    assert.equal(attr(job, "nodepool"), "general");

    // The job span is the child of the action that queued it, in the same trace.
    const action = byId.get(parentOf(job) ?? "");
    assert.ok(action, "job launch has the action span as parent");
    assert.equal(action.name, "action LaunchClaim");
    assert.equal(attr(action, "nodeclaim"), claim);
    assert.equal(attr(action, "nodepool"), "general");
    assert.equal(attr(action, "reason"), "PodsPending");
    assert.ok(String(attr(action, "reason_message") ?? "").length > 0);
    assert.equal(action.spanContext().traceId, job.spanContext().traceId);
    // The link is carried by the job itself (so it holds with Redis, after a restart too).
    const queued = await queue.get(`launch-${claim}`);
    assert.ok(queued.ok && queued.value, "the launch job is still known");
    assert.deepEqual(queued.value.data.origin?.span, {
      traceId: action.spanContext().traceId,
      spanId: action.spanContext().spanId,
    });
    assert.equal(queued.value.data.origin?.reason?.code, "PodsPending");
    assert.equal(queued.value.data.origin?.nodepool, "general");

    const reconcile = byId.get(parentOf(action) ?? "");
    assert.ok(reconcile, "action LaunchClaim has the reconcile span as parent");
    assert.equal(reconcile.name, "reconcile");
    assert.equal(parentOf(reconcile), undefined, "a pass is a root span");
    assert.equal(reconcile.spanContext().traceId, job.spanContext().traceId);

    // The action created the NodeClaim in Kubernetes.
    const actionCalls = descendants(spans, action).map((s) => s.name);
    assert.ok(actionCalls.includes("kubernetes create nodeclaims"), actionCalls.join("\n"));

    // The job's PVE calls made, configured and started the VM, each naming claim and VM.
    const calls = descendants(spans, job);
    const names = calls.map((s) => s.name);
    const made = calls.find((s) => s.name === "pve clone" || s.name === "pve create");
    assert.ok(made, names.join("\n"));
    const config = calls.find((s) => s.name === "pve config");
    const start = calls.find((s) => s.name === "pve start");
    assert.ok(config && start, names.join("\n"));
    for (const s of [made, config, start]) {
      assert.equal(attr(s, "nodeclaim"), claim, s.name);
      assert.equal(attr(s, "nodepool"), "general", s.name);
      assert.equal(attr(s, "vmid"), created.vmid, s.name);
      assert.equal(typeof attr(s, "host"), "string", s.name);
      assert.equal(s.spanContext().traceId, job.spanContext().traceId);
    }
    // Clone before config before start, as the launch runs them.
    const at = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];
    assert.ok(at(made) < at(config) && at(config) < at(start), names.join("\n"));
    // The job wrote Launched=True on the claim's status.
    const status = calls.find((s) => s.name === "kubernetes patch nodeclaims/status");
    assert.ok(status, names.join("\n"));
    assert.equal(attr(status, "nodeclaim"), claim);
  } finally {
    await cluster.close();
    await queue.close();
    await provider.shutdown();
  }
});
