import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { reason } from "../core/reason.ts";
import type { Action } from "../core/reconcile.ts";
import type { DaemonContext, DecisionReport, JobData } from "./context.ts";
import { Executor, NOMINATIONS_WAITING } from "./executor.ts";
import { ok } from "../core/result.ts";
import type { Reason } from "../core/reason.ts";
import type { EventRecorder, EventSubject } from "../adapters/kubernetes/events.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";

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

Deno.test("a launch for thousands of pods records its NodeClaim's Event and at most NOMINATIONS_WAITING pod Events, without waiting on them", async () => {
  const queue = new MemoryJobQueue<JobData>();
  try {
    const reports: DecisionReport[] = [];
    const recorded: { kind: string; name: string; message: string }[] = [];
    let finish = () => {};
    const stuck = new Promise<void>((r) => finish = r);
    const events = {
      // The claim's Event answers; pod Events hang, as on a slow API server.
      record: async (s: EventSubject, r: Reason) => {
        recorded.push({ kind: s.kind, name: s.name, message: r.message });
        if (s.kind === "Pod") await stuck;
        return ok({ name: "e", count: 1 });
      },
    } as unknown as EventRecorder;
    const kube = {
      requestJson: () => Promise.resolve(ok({ status: 201, body: {} })),
    } as unknown as KubeClient;
    const pods = Array.from({ length: 3000 }, (_, i) => `default/web-${i}`);
    const ctx = {
      ...queueOnlyContext(queue, reports),
      kube,
      events,
      informers: { pods: { get: () => undefined } },
      hook: () => Promise.resolve(),
    } as unknown as DaemonContext;
    const why = reason("PodsPending", "3000 pending pods need 1500 vCPU");
    const launch: Action = {
      kind: "LaunchClaim",
      claim: {
        name: "general-abcde",
        nodePool: "general",
        machineTemplate: "worker",
        provider: "fake",
        shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * 2 ** 30 },
        createdAt: 1_000,
        labels: {},
        taints: [],
        startupTaints: [],
        conditions: [],
      },
      pods,
      isNew: true,
      reason: why,
    };
    const executor = new Executor(ctx);
    await executor.apply([launch], true);
    assert.deepEqual(recorded[0], {
      kind: "NodeClaim",
      name: "general-abcde",
      message: why.message,
    });
    const podEvents = recorded.filter((r) => r.kind === "Pod");
    assert.equal(podEvents.length, NOMINATIONS_WAITING);
    assert.equal(
      podEvents[0]!.message,
      `NodeClaim general-abcde is launched for this pod: ${why.message}`,
    );
    assert.ok(reports.every((r) => !r.what.endsWith("Failed")), JSON.stringify(reports));
    // Once they are written, room again: the next launch's pods are told.
    finish();
    await new Promise((r) => setTimeout(r, 0));
    await executor.apply([{ ...launch, claim: { ...launch.claim, name: "general-fghij" } }], true);
    assert.equal(recorded.filter((r) => r.kind === "Pod").length, 2 * NOMINATIONS_WAITING);
  } finally {
    await queue.close();
  }
});
