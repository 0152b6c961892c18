import assert from "node:assert/strict";
import { startFakeKube } from "../../fakes/fake_kube/server.ts";
import { createRedactor } from "../telemetry/redact.ts";
import { reason } from "../../core/reason.ts";
import { KubeClient } from "./client.ts";
import { EventRecorder } from "./events.ts";

Deno.test("an Event's message passes the redaction guard: an echoed secret is stored redacted", async () => {
  const fake = await startFakeKube({ seed: 3 });
  try {
    const redactor = createRedactor();
    redactor.registerSecret("s3cr3t-token-value-123456");
    const rec = new EventRecorder(KubeClient.fromKubeconfig(fake.kubeconfig()), { redactor });
    const r = await rec.record(
      { apiVersion: "proxscale.io/v1alpha1", kind: "NodePool", name: "general" },
      reason(
        "LaunchFailed",
        "401 authentication failure (PVEAPIToken=a@pve!t=s3cr3t-token-value-123456)",
      ),
      "Warning",
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
