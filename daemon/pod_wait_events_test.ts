import assert from "node:assert/strict";
import { recordingEvents } from "./testing/events_fake.ts";
import type { ProvisionPlan } from "../core/provisioning.ts";
import type { Reason } from "../core/reason.ts";
import { snapshotOf, testPod } from "../core/testing/arbitraries.ts";
import { PodWaitEvents, WAIT_EVENTS_PER_PASS } from "./pod_wait_events.ts";

const plan = (unhelped: ProvisionPlan["unhelped"]): ProvisionPlan => ({
  claims: [],
  placements: [],
  unhelped,
});

Deno.test("an unhelped pod gets one Event with the plan's reason until the message changes", async () => {
  const { calls, events } = recordingEvents();
  const w = new PodWaitEvents(events);
  const pod = testPod("web-1", undefined, { namespace: "b" });
  const snap = snapshotOf({ pods: [pod] });
  const p1 = plan([
    { pod: "b/web-1", reason: { code: "NoShapeFits", message: "64 vCPU fit no shape" } },
  ]);
  await w.observe(p1, snap);
  await w.observe(p1, snap);
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.subject, {
    apiVersion: "v1",
    kind: "Pod",
    namespace: "b",
    name: "web-1",
    uid: pod.uid,
  });
  assert.deepEqual(calls[0]!.reason, { code: "NoShapeFits", message: "64 vCPU fit no shape" });
  const quota: Reason = { code: "TenantQuotaReached", message: "tenant 'team-b' cpu quota 4" };
  await w.observe(plan([{ pod: "b/web-1", reason: quota }]), snap);
  assert.equal(calls.length, 2);
  assert.equal(calls[1]!.reason.code, "TenantQuotaReached");
  // Helped in between (a node came): a later wait is news again.
  await w.observe(plan([]), snap);
  await w.observe(p1, snap);
  assert.equal(calls.length, 3);
});

Deno.test("pods that are not provisioning's matter get no Event", async () => {
  const { calls, events } = recordingEvents();
  const w = new PodWaitEvents(events);
  await w.observe(
    plan([
      { pod: "a/ds", reason: { code: "DaemonSetPod", message: "follows nodes" } },
      { pod: "a/new", reason: { code: "PodNotUnschedulable", message: "not yet" } },
      { pod: "a/gone", reason: { code: "PodNotManaged", message: "being deleted" } },
    ]),
    snapshotOf({ pods: [] }),
  );
  assert.equal(calls.length, 0);
});

Deno.test("a pass writes a bounded number of pod Events; the next passes write the rest", async () => {
  const { calls, events } = recordingEvents();
  const w = new PodWaitEvents(events);
  const n = WAIT_EVENTS_PER_PASS * 2 + 7;
  const p = plan(
    Array.from({ length: n }, (_, i) => ({
      pod: `a/p-${i}`,
      reason: { code: "NoShapeFits" as const, message: "too big" },
    })),
  );
  const snap = snapshotOf({ pods: [] });
  await w.observe(p, snap);
  assert.equal(calls.length, WAIT_EVENTS_PER_PASS);
  await w.observe(p, snap);
  await w.observe(p, snap);
  assert.equal(calls.length, n);
  await w.observe(p, snap);
  assert.equal(calls.length, n, "every pod told once");
  assert.equal(new Set(calls.map((c) => c.subject.name)).size, n);
});
