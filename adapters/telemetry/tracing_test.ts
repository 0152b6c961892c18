import assert from "node:assert/strict";
import { SpanStatusCode } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { reason } from "../../core/reason.ts";
import { err, ok } from "../../core/result.ts";
import { createRedactor, REDACTED } from "./redact.ts";
import { createTracing, recordDecision, type Tracing } from "./tracing.ts";

function setup() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const redactor = createRedactor();
  const tracing = createTracing({ tracer: provider.getTracer("test"), redactor });
  return { exporter, provider, redactor, tracing };
}

/** The span tree as "name" lines indented by depth, children in start order. */
function tree(spans: ReadableSpan[]): string[] {
  const byParent = new Map<string | undefined, ReadableSpan[]>();
  for (const s of spans) {
    const p = s.parentSpanContext?.spanId;
    byParent.set(p, [...(byParent.get(p) ?? []), s]);
  }
  const lines: string[] = [];
  const visit = (parent: string | undefined, depth: number) => {
    const kids = (byParent.get(parent) ?? []).sort((a, b) =>
      a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]
    );
    for (const s of kids) {
      lines.push(`${"  ".repeat(depth)}${s.name}`);
      visit(s.spanContext().spanId, depth + 1);
    }
  };
  visit(undefined, 0);
  return lines;
}

/** A launch as the daemon will run it, with stub PVE calls in place of the real provider. */
async function simulateLaunch(tracing: Tracing) {
  const claim = { nodeclaim: "general-x7k2p", nodepool: "general" };
  const why = reason(
    "PodsPending",
    "3 pods pending in pool 'general' need 2500m CPU; new VM 4 cores 8Gi",
  );
  const pve = (op: string, vmid: number) =>
    tracing.pveCall(op, { ...claim, vmid, host: "pve1" }, async () => {
      await Promise.resolve(); // a real await, so the context must survive it
      return ok(`UPID:pve1:${op}`);
    });
  await tracing.reconcile(async (span) => {
    span.setAttributes({ pending_pods: 3 });
    await tracing.action("LaunchClaim", { ...claim, reason: why }, async () => {
      await tracing.job("launch", { ...claim, job: "launch/general-x7k2p" }, async (job) => {
        await pve("clone", 9000);
        await pve("config", 120);
        await pve("start", 120);
        recordDecision(job, reason("Launched", "VM 120 started on host pve1"));
      });
    });
  });
}

Deno.test("one launch makes the span tree reconcile > action > job > PVE clone, config, start", async () => {
  const { exporter, provider, tracing } = setup();
  await simulateLaunch(tracing);
  const spans = exporter.getFinishedSpans();
  assert.deepEqual(tree(spans), [
    "reconcile",
    "  action LaunchClaim",
    "    job launch",
    "      pve clone",
    "      pve config",
    "      pve start",
  ]);
  const traceIds = new Set(spans.map((s) => s.spanContext().traceId));
  assert.equal(traceIds.size, 1, "every span of the launch is in one trace");
  const byName = new Map(spans.map((s) => [s.name, s]));
  const action = byName.get("action LaunchClaim")!;
  assert.equal(action.attributes["proxscale.nodeclaim"], "general-x7k2p");
  assert.equal(action.attributes["proxscale.nodepool"], "general");
  assert.equal(action.attributes["proxscale.reason"], "PodsPending");
  assert.match(String(action.attributes["proxscale.reason_message"]), /3 pods pending/);
  assert.equal(action.attributes["proxscale.action"], "LaunchClaim");
  const job = byName.get("job launch")!;
  assert.equal(job.attributes["proxscale.reason"], "Launched");
  assert.equal(job.attributes["proxscale.job"], "launch/general-x7k2p");
  for (const op of ["clone", "config", "start"]) {
    const s = byName.get(`pve ${op}`)!;
    assert.equal(s.attributes["proxscale.nodeclaim"], "general-x7k2p", op);
    assert.equal(s.attributes["proxscale.operation"], op);
    assert.equal(s.attributes["proxscale.host"], "pve1");
    assert.equal(s.status.code, SpanStatusCode.UNSET);
  }
  assert.equal(byName.get("pve clone")!.attributes["proxscale.vmid"], 9000);
  await provider.shutdown();
});

Deno.test("concurrent jobs keep their own parents across awaits", async () => {
  const { exporter, provider, tracing } = setup();
  await tracing.reconcile(async () => {
    await Promise.all(["a", "b"].map((c) =>
      tracing.job("launch", { nodeclaim: c }, async () => {
        await new Promise((r) => setTimeout(r, c === "a" ? 5 : 1));
        await tracing.pveCall("clone", { nodeclaim: c }, () => ok(1));
      })
    ));
  });
  const spans = exporter.getFinishedSpans();
  const jobs = spans.filter((s) => s.name === "job launch");
  for (const clone of spans.filter((s) => s.name === "pve clone")) {
    const parent = jobs.find((j) => j.spanContext().spanId === clone.parentSpanContext?.spanId);
    assert.equal(
      parent?.attributes["proxscale.nodeclaim"],
      clone.attributes["proxscale.nodeclaim"],
    );
  }
  await provider.shutdown();
});

Deno.test("a throw or a failed Result marks the span failed, and the throw is rethrown", async () => {
  const { exporter, provider, tracing } = setup();
  await assert.rejects(
    tracing.kubeCall("patch", "nodes", { node: "n1" }, () => {
      throw new Error("conflict");
    }),
    /conflict/,
  );
  const r = await tracing.pveCall("start", {}, () => err({ kind: "timeout", message: "no reply" }));
  assert.equal(r.ok, false);
  const [kube, pve] = exporter.getFinishedSpans();
  assert.equal(kube!.name, "kubernetes patch nodes");
  assert.equal(kube!.status.code, SpanStatusCode.ERROR);
  assert.equal(kube!.status.message, "Error: conflict");
  assert.equal(pve!.status.code, SpanStatusCode.ERROR);
  assert.equal(pve!.status.message, "timeout: no reply");
  await provider.shutdown();
});

Deno.test("a registered secret never reaches a span name, attribute, event or error", async () => {
  const { exporter, provider, tracing, redactor } = setup();
  const secret = "b2c1f7e0-5d2a-4c1e-9f0a-token-secret";
  redactor.registerSecret(secret);
  const nested = new Error("outer", { cause: new Error(`auth PVEAPIToken=root@pam!px=${secret}`) });
  await assert.rejects(
    tracing.withSpan(`call ${secret}`, {
      header: `Bearer ${secret}`,
      reason: reason("ProviderError", `401 for ${secret}`),
    }, (span) => {
      span.addEvent(`retry ${secret}`, { token: secret });
      throw nested;
    }),
  );
  const text = JSON.stringify(
    exporter.getFinishedSpans().map((s) => ({
      name: s.name,
      attributes: s.attributes,
      events: s.events,
      status: s.status,
    })),
  );
  assert.ok(!text.includes(secret), text);
  assert.ok(text.includes(REDACTED));
  assert.match(text, /cause: Error: auth PVEAPIToken=root@pam!px=<redacted>/);
  await provider.shutdown();
});

Deno.test("trace id is visible to callers inside a span and absent outside", async () => {
  const { provider, tracing } = setup();
  assert.equal(tracing.traceId(), undefined);
  const seen = await tracing.reconcile((span) => [span.traceId, tracing.traceId()]);
  assert.match(seen[0]!, /^[0-9a-f]{32}$/);
  assert.equal(seen[0], seen[1]);
  await provider.shutdown();
});

Deno.test("without a registered provider the global tracer is a cheap no-op", async () => {
  const tracing = createTracing({ redactor: createRedactor() });
  const v = await tracing.reconcile((span) => {
    span.recordDecision(reason("Empty", "node idle"));
    return span.traceId;
  });
  assert.equal(v, undefined);
});

Deno.test("a job given its action's ref is that action's child, even run outside it; a pass is a root", async () => {
  const { exporter, tracing } = setup();
  let ref: ReturnType<NonNullable<ReturnType<Tracing["current"]>>["ref"]>;
  await tracing.reconcile(() =>
    tracing.action("LaunchClaim", { nodeclaim: "c1", nodepool: "general" }, (span) => {
      ref = span.ref();
    })
  );
  assert.ok(ref);
  // Later, from inside some unrelated span (a worker loop started elsewhere):
  await tracing.withSpan(
    "unrelated",
    {},
    () =>
      tracing.job(
        "launch",
        { nodeclaim: "c1", nodepool: "general", job: "launch-c1" },
        async () => {
          await tracing.pveCall("clone", { vmid: 120 }, () => ok(undefined));
          // A pass started here is still a new trace.
          await tracing.reconcile(() => undefined);
        },
        ref,
      ),
  );
  const spans = exporter.getFinishedSpans();
  const by = (name: string) => spans.filter((s) => s.name === name);
  const action = by("action LaunchClaim")[0]!;
  const job = by("job launch")[0]!;
  assert.equal(job.parentSpanContext?.spanId, action.spanContext().spanId);
  assert.equal(job.spanContext().traceId, action.spanContext().traceId);
  // Children inherit the NodeClaim and NodePool they do not set.
  const clone = by("pve clone")[0]!;
  assert.equal(clone.attributes["proxscale.nodeclaim"], "c1");
  assert.equal(clone.attributes["proxscale.nodepool"], "general");
  assert.equal(clone.attributes["proxscale.vmid"], 120);
  for (const pass of by("reconcile")) assert.equal(pass.parentSpanContext, undefined);
});
