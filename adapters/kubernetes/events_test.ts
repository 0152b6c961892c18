import assert from "node:assert/strict";
import { startFakeKube } from "../../fakes/fake_kube/server.ts";
import { createRedactor } from "../telemetry/redact.ts";
import { reason } from "../../core/reason.ts";
import { kubeClientFromKubeconfig } from "./kubeconfig.ts";
import {
  eventFor,
  EventRecorder,
  nodeClaimSubject,
  nodePoolSubject,
  nodeSubject,
  providerSubject,
} from "./events.ts";

Deno.test("an Event's message passes the redaction guard: an echoed secret is stored redacted", async () => {
  const fake = await startFakeKube({ seed: 3 });
  try {
    const redactor = createRedactor();
    redactor.registerSecret("s3cr3t-token-value-123456");
    const rec = new EventRecorder(kubeClientFromKubeconfig(fake.kubeconfig()), { redactor });
    const r = await rec.record(
      { apiVersion: "proxscale.io/v1alpha1", kind: "NodePool", name: "general" },
      reason(
        "LaunchFailed",
        "401 authentication failure (PVEAPIToken=a@pve!t=s3cr3t-token-value-123456)",
      ),
    );
    assert.ok(r.ok, JSON.stringify(r));
    const list = fake.store.list("events");
    assert.ok(list.ok);
    const messages = list.value.items.map((e) => (e as { message?: string }).message ?? "");
    assert.equal(messages.length, 1);
    assert.ok(!messages[0]!.includes("s3cr3t"), messages[0]!);
    assert.match(messages[0]!, /<redacted>/);
  } finally {
    await fake.close();
  }
});

const meta = {
  name: "general.1",
  namespace: "default",
  message: "m",
  time: "2026-12-07T05:00:00Z",
  component: "proxscale",
  instance: "proxscale-0",
};

Deno.test("an Event's type follows its reason code: a failure is a Warning, a decision is Normal", () => {
  const failed = eventFor(nodeClaimSubject("c1"), reason("LaunchFailed", "clone failed"), meta);
  assert.equal(failed.type, "Warning");
  assert.equal(failed.reason, "LaunchFailed");
  const queue = eventFor(nodePoolSubject("general"), reason("QueueError", "redis down"), meta);
  assert.equal(queue.type, "Warning");
  const empty = eventFor(nodeSubject("n1"), reason("Empty", "node n1 is empty"), meta);
  assert.equal(empty.type, "Normal");
});

Deno.test("the subjects name the objects Events are recorded on, cluster-scoped in default", () => {
  assert.deepEqual(eventFor(nodeClaimSubject("c1"), reason("Drifted", "d"), meta).involvedObject, {
    apiVersion: "proxscale.io/v1alpha1",
    kind: "NodeClaim",
    name: "c1",
  });
  assert.deepEqual(nodePoolSubject("p"), {
    apiVersion: "proxscale.io/v1alpha1",
    kind: "NodePool",
    name: "p",
  });
  assert.deepEqual(providerSubject("pve"), {
    apiVersion: "proxscale.io/v1alpha1",
    kind: "Provider",
    name: "pve",
  });
  assert.deepEqual(nodeSubject("n1"), { apiVersion: "v1", kind: "Node", name: "n1" });
  const e = eventFor(nodeSubject("n1"), reason("OrphanNode", "o"), meta);
  assert.deepEqual(e.metadata, { name: "general.1", namespace: "default" });
  assert.equal(e.count, 1);
  assert.equal(e.firstTimestamp, meta.time);
  assert.equal(e.reportingInstance, "proxscale-0");
});
