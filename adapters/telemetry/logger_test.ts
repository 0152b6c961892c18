import assert from "node:assert/strict";
import { reason } from "../../core/reason.ts";
import type { Log } from "../kubernetes/log.ts";
import { createLogger, memorySink, parseLevel } from "./logger.ts";
import { createRedactor, REDACTED } from "./redact.ts";

const T0 = Date.UTC(2026, 10, 26, 4, 0, 0);

function setup(level: "debug" | "info" | "warn" | "error" = "info") {
  const sink = memorySink();
  const auditSink = memorySink();
  const redactor = createRedactor();
  let trace: string | undefined;
  const logger = createLogger({
    sink,
    auditSink,
    level,
    now: () => T0,
    redactor,
    traceId: () => trace,
  });
  return { sink, auditSink, redactor, logger, setTrace: (t?: string) => (trace = t) };
}

Deno.test("a log line is one JSON object with the convention fields in a stable order", () => {
  const { sink, logger, setTrace } = setup();
  setTrace("4bf92f3577b34da6a3ce929d0e0e4736");
  logger.child({ nodeclaim: "general-x7k2p", nodepool: "general" }).info("VM started", {
    reason: reason("Launched", "VM 120 started on host pve1"),
    vmid: 120,
    host: "pve1",
    upid: "UPID:pve1:1",
  });
  assert.equal(sink.lines.length, 1);
  assert.equal(
    sink.lines[0],
    JSON.stringify({
      level: "info",
      time: "2026-11-26T04:00:00.000Z",
      msg: "VM started",
      reason: "Launched",
      reason_message: "VM 120 started on host pve1",
      nodepool: "general",
      nodeclaim: "general-x7k2p",
      vmid: 120,
      host: "pve1",
      trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      upid: "UPID:pve1:1",
    }),
  );
});

Deno.test("lines below the level are dropped; a bare reason code is accepted", () => {
  const { sink, logger } = setup("warn");
  logger.info("not shown");
  logger.debug("not shown");
  logger.warn("pool full", { reason: "PoolLimitReached", nodepool: "general" });
  assert.deepEqual(sink.records().map((r) => [r.level, r.msg, r.reason]), [
    ["warn", "pool full", "PoolLimitReached"],
  ]);
  assert.equal(logger.enabled("error"), true);
  assert.equal(logger.enabled("info"), false);
  assert.equal(parseLevel(" DEBUG "), "debug");
  assert.equal(parseLevel("verbose"), undefined);
});

Deno.test("no trace_id field when no span is active", () => {
  const { sink, logger } = setup();
  logger.info("idle");
  assert.equal("trace_id" in sink.records()[0]!, false);
});

Deno.test("audit records go to their own stream with what, why and which pool", () => {
  const { sink, auditSink, logger } = setup("error");
  const why = reason("Empty", "node general-x7k2p has had no pods for 30s (consolidateAfter 30s)");
  logger.audit({ action: "Cordon", reason: why, nodepool: "general", node: "general-x7k2p" });
  logger.audit({
    action: "Evict",
    reason: why,
    nodepool: "general",
    node: "general-x7k2p",
    pod: "default/web-1",
  });
  logger.audit({
    action: "VmDelete",
    reason: why,
    nodepool: "general",
    nodeclaim: "general-x7k2p",
    vmid: 120,
    host: "pve1",
    outcome: "succeeded",
    detail: "UPID:pve1:00001:qmdestroy:120",
  });
  assert.equal(sink.lines.length, 0, "audit ignores the level and stays off the log stream");
  const recs = auditSink.records();
  assert.deepEqual(recs.map((r) => [r.stream, r.action, r.outcome, r.reason, r.nodepool]), [
    ["audit", "Cordon", "requested", "Empty", "general"],
    ["audit", "Evict", "requested", "Empty", "general"],
    ["audit", "VmDelete", "succeeded", "Empty", "general"],
  ]);
  assert.equal(
    recs[2]!.msg,
    "delete VM 120 on host pve1 for NodeClaim general-x7k2p in pool general succeeded: " +
      why.message,
  );
  assert.equal(
    recs[1]!.msg,
    `evict pod default/web-1 from node general-x7k2p in pool general: ${why.message}`,
  );
  assert.equal(recs[2]!.detail, "UPID:pve1:00001:qmdestroy:120");
  assert.equal(recs[2]!.reason_message, why.message);
});

Deno.test("asLog accepts the Kubernetes adapters' { level, msg, ...fields } entries", () => {
  const { sink, logger } = setup();
  const port: Log = logger.asLog; // fits the port as is
  port({ level: "warn", msg: "eviction refused", reason: "PdbBlocked", pod: "default/a" });
  assert.deepEqual(sink.records()[0], {
    level: "warn",
    time: "2026-11-26T04:00:00.000Z",
    msg: "eviction refused",
    reason: "PdbBlocked",
    pod: "default/a",
  });
});

Deno.test("errors are logged with their cause chain", () => {
  const { sink, logger } = setup();
  logger.error("launch failed", {
    error: new Error("clone failed", { cause: new Error("storage full") }),
  });
  const e = sink.records()[0]!.error as Record<string, unknown>;
  assert.equal(e.message, "clone failed");
  assert.equal((e.cause as Record<string, unknown>).message, "storage full");
});

Deno.test("a registered secret never reaches a log or audit line: message, field, key, nested error", () => {
  const { sink, auditSink, logger, redactor, setTrace } = setup("debug");
  const secret = "9f8e7d6c-token-secret-value";
  redactor.registerSecret(secret);
  setTrace(undefined);
  const err = new Error("request failed", {
    cause: Object.assign(new Error(`401 for PVEAPIToken=root@pam!px=${secret}`), {
      headers: { authorization: `PVEAPIToken=root@pam!px=${secret}` },
    }),
  });
  logger.child({ token: secret }).error(`auth with ${secret} failed`, {
    error: err,
    [`x-${secret}`]: 1,
    nested: { deep: [{ value: secret }] },
    reason: reason("ProviderError", `PVE said no to ${secret}`),
  });
  logger.audit({
    action: "VmCreate",
    reason: reason("PodsPending", `secret ${secret}`),
    nodepool: "general",
    detail: secret,
  });
  const all = [...sink.lines, ...auditSink.lines].join("\n");
  assert.ok(!all.includes(secret), all);
  assert.ok(all.includes(REDACTED));
  assert.equal(sink.records()[0]!.msg, `auth with ${REDACTED} failed`);
});

Deno.test("a broken sink or an odd value never makes a log call throw", () => {
  const logger = createLogger({
    sink: () => {
      throw new Error("EPIPE");
    },
    redactor: createRedactor(),
  });
  logger.error("still fine", { big: 10n });
  const sink = memorySink();
  createLogger({ sink, redactor: createRedactor(), now: () => T0 }).info("big", { big: 10n });
  assert.equal(sink.records()[0]!.big, "10");
});
