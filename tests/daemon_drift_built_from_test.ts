/**
 * Drift compares a claim's VM with its pool by the template hash the VM was actually built from:
 * a claim created under one configuration whose VM is launched after a change (here: a daemon
 * killed right after creating the claim, and its successor running the changed configuration)
 * carries the new hash and is not marked Drifted.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { MiB } from "../core/quantity.ts";
import type { Config } from "../core/model.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The reloaded configuration: the VM gets one more tag (a hashed field). */
const retagged = (c: Config): Config => ({
  ...c,
  machineTemplates: c.machineTemplates.map((t) => ({ ...t, tags: [...t.tags, "rebuilt"] })),
});

type Obj = {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[] };
};

Deno.test("a claim created before a reload whose VM is built after it from the new config is not Drifted", async () => {
  const cluster = await startDemoCluster({ seed: 11 });
  const queues = [new MemoryJobQueue<JobData>(), new MemoryJobQueue<JobData>()];
  const reports: DecisionReport[] = [];
  const claims = () => {
    const l = cluster.kube.store.list("nodeclaims.proxscale.io");
    return (l.ok ? l.value.items : []) as unknown as Obj[];
  };
  const isTrue = (o: Obj, type: string) =>
    (o.status?.conditions ?? []).some((c) => c.type === type && c.status === "True");
  try {
    const first = await cluster.spawn({
      queue: queues[0]!,
      tickMs: 300,
      crashAt: "after-claim-created",
    });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    await first.crashed;
    const before = claims();
    assert.equal(before.length, 1);
    const oldHash = before[0]!.metadata.annotations?.["proxscale.io/template-hash"];
    assert.ok(oldHash, "the claim was created with the old configuration's hash");

    await cluster.spawn({
      queue: queues[1]!,
      tickMs: 300,
      identity: "proxscale-2",
      config: retagged(cluster.config),
      report: (d) => reports.push(d),
    });
    const end = Date.now() + 20_000;
    while (Date.now() < end && !(claims()[0] && isTrue(claims()[0]!, "Launched"))) await sleep(50);
    assert.ok(claims()[0] && isTrue(claims()[0]!, "Launched"), "the claim was launched");
    // Several passes see the launched claim: none may call it drifted.
    await sleep(2_500);
    const after = claims();
    assert.equal(after.length, 1, "the claim was not replaced");
    const vm = cluster.world.liveVms().find((v) => v.claim === after[0]!.metadata.name);
    assert.ok(vm, "its VM runs");
    assert.notEqual(after[0]!.metadata.annotations?.["proxscale.io/template-hash"], oldHash);
    assert.ok(!isTrue(after[0]!, "Drifted"), "the claim is not Drifted");
    assert.ok(
      !reports.some((r) => r.what === "MarkDrifted"),
      reports.map((r) => `${r.what} ${r.reason.code}: ${r.reason.message}`).join("\n"),
    );
  } finally {
    await cluster.close();
    for (const q of queues) await q.close();
  }
});
