import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { reason } from "../core/reason.ts";
import type { Action } from "../core/reconcile.ts";
import type { DaemonContext, DecisionReport, JobData } from "./context.ts";
import { Executor } from "./executor.ts";

/**
 * The executor's context for actions that only queue work: a queue, a clock and a report sink.
 * The rest of DaemonContext is never reached by these actions.
 */
function queueOnlyContext(
  queue: MemoryJobQueue<JobData>,
  reports: DecisionReport[],
): DaemonContext {
  const used: Pick<DaemonContext, "queue" | "clock" | "report"> = {
    queue,
    clock: { now: () => 1_000, sleep: () => Promise.resolve() },
    report: (d) => reports.push(d),
  };
  return used as DaemonContext;
}

Deno.test("a queue that refuses a job makes the action fail with QueueError, not KubernetesError", async () => {
  const queue = new MemoryJobQueue<JobData>();
  await queue.close();
  const reports: DecisionReport[] = [];
  const finalize: Action = {
    kind: "FinalizeClaim",
    claim: "general-abcde",
    reason: reason("Finalizing", "NodeClaim general-abcde is being deleted"),
  };
  await new Executor(queueOnlyContext(queue, reports)).apply([finalize], true);
  assert.deepEqual(reports.map((r) => r.what), ["FinalizeClaim", "FinalizeClaimFailed"]);
  const failed = reports[1]!;
  assert.equal(failed.reason.code, "QueueError");
  assert.match(failed.reason.message, /finalize-general-abcde/);
  assert.equal(failed.nodeclaim, "general-abcde");
});

Deno.test("a queued action reports its decision once and no failure", async () => {
  const queue = new MemoryJobQueue<JobData>();
  try {
    const reports: DecisionReport[] = [];
    const finalize: Action = {
      kind: "FinalizeClaim",
      claim: "general-abcde",
      reason: reason("Finalizing", "NodeClaim general-abcde is being deleted"),
    };
    const executor = new Executor(queueOnlyContext(queue, reports));
    await executor.apply([finalize], true);
    await executor.apply([finalize], true);
    assert.deepEqual(reports.map((r) => r.what), ["FinalizeClaim"]);
    const job = await queue.get("finalize-general-abcde");
    assert.ok(job.ok && job.value?.data.kind === "finalize");
  } finally {
    await queue.close();
  }
});
