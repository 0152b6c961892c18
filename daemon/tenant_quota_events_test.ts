import assert from "node:assert/strict";
import type { EventRecorder, EventSubject } from "../adapters/kubernetes/events.ts";
import type { ProvisionPlan } from "../core/provisioning.ts";
import type { Reason } from "../core/reason.ts";
import { snapshotOf, testConfig, testPod } from "../core/testing/arbitraries.ts";
import { quotaBlockedByTenant, TenantQuotaEvents } from "./tenant_quota_events.ts";

const quota = (message: string): Reason => ({ code: "TenantQuotaReached", message });
const plan = (unhelped: ProvisionPlan["unhelped"]): ProvisionPlan => ({
  claims: [],
  placements: [],
  unhelped,
});

function recorder() {
  const calls: { subject: EventSubject; reason: Reason }[] = [];
  const events = {
    record: (subject: EventSubject, reason: Reason) => {
      calls.push({ subject, reason });
      return Promise.resolve({ ok: true, value: { name: "e", count: 1 } });
    },
  } as unknown as EventRecorder;
  return { calls, events };
}

Deno.test("a pod held back by a tenant quota gets one Event in its namespace until the message changes", async () => {
  const { calls, events } = recorder();
  const q = new TenantQuotaEvents(events);
  const pod = testPod("web-1", undefined, { namespace: "b" });
  const snap = snapshotOf({ pods: [pod] });
  const p1 = plan([
    { pod: "b/web-1", reason: quota("tenant 'team-b' node quota 1 reached") },
    { pod: "b/other", reason: { code: "NoShapeFits", message: "too big" } },
  ]);
  await q.observe(p1, snap);
  await q.observe(p1, snap);
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.subject, {
    apiVersion: "v1",
    kind: "Pod",
    namespace: "b",
    name: "web-1",
    uid: pod.uid,
  });
  assert.equal(calls[0]!.reason.code, "TenantQuotaReached");
  await q.observe(
    plan([{ pod: "b/web-1", reason: quota("tenant 'team-b' cpu quota 4 reached") }]),
    snap,
  );
  assert.equal(calls.length, 2);
  // Once the pod is no longer held back, a later hold is news again.
  await q.observe(plan([]), snap);
  await q.observe(p1, snap);
  assert.equal(calls.length, 3);
});

Deno.test("the blocked-pods gauge counts held-back pods per tenant, every tenant listed", () => {
  const config = testConfig({
    tenants: [
      { name: "team-a", namespaces: ["a"], quota: {}, sharing: [] },
      { name: "team-b", namespaces: ["b"], quota: {}, sharing: [] },
    ],
  });
  const rows = quotaBlockedByTenant(
    config,
    plan([
      { pod: "b/web-1", reason: quota("q") },
      { pod: "b/web-2", reason: quota("q") },
      { pod: "a/web-1", reason: { code: "NoShapeFits", message: "too big" } },
    ]),
  );
  assert.deepEqual(rows, [{ tenant: "team-a", pods: 0 }, { tenant: "team-b", pods: 2 }]);
});
