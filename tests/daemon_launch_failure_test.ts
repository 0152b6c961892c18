/**
 * A launch that cannot succeed (the template VM does not exist): the job fails with PVE's
 * words, the lifecycle writes Launched=False with that message, deletes the claim with reason
 * LaunchFailed (an Event says so) and nothing leaks.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { auditVms } from "../harness/demo.ts";
import { MiB } from "../core/quantity.ts";
import type { Config } from "../core/model.ts";

const missingTemplate = (c: Config): Config => ({
  ...c,
  machineTemplates: c.machineTemplates.map((t) => ({
    ...t,
    source: { kind: "clone", perHost: { pve1: 8999, pve2: 8999, pve3: 8999 }, full: false },
  })),
});

Deno.test("a failed launch surfaces as Launched=False with the PVE message, then the claim goes", async () => {
  const cluster = await startDemoCluster({ seed: 5, tune: missingTemplate });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 100 },
  });
  const reports: DecisionReport[] = [];
  const conditions: { reason: string; message: string }[] = [];
  type Cond = { type: string; status: string; reason: string; message: string };
  cluster.kube.store.onWrite((def, _type, obj) => {
    if (def.kind !== "NodeClaim") return;
    const status = (obj as { status?: { conditions?: Cond[] } }).status;
    for (const c of status?.conditions ?? []) {
      if (c.type === "Launched" && c.status === "False") conditions.push(c);
    }
  });
  try {
    await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    cluster.world.deploy({ name: "app", replicas: 2, cpu: 500, memory: 256 * MiB });
    const end = Date.now() + 15_000;
    const deleted = () =>
      reports.find((d) => d.what === "DeleteClaim" && d.reason.code === "LaunchFailed");
    while (Date.now() < end && !deleted()) await new Promise((r) => setTimeout(r, 50));
    const d = deleted();
    assert.ok(d, reports.map((r) => `${r.what} ${r.reason.code}`).join("\n"));
    assert.match(d.reason.message, /8999\.conf. does not exist/);
    assert.ok(conditions.some((c) => c.reason === "LaunchFailed" && /8999/.test(c.message)));
    const hasEvent = () => {
      const events = cluster.kube.store.list("events");
      return events.ok &&
        events.value.items.some((e) => (e as { reason?: string }).reason === "LaunchFailed");
    };
    const until = Date.now() + 5_000;
    while (Date.now() < until && !hasEvent()) await new Promise((r) => setTimeout(r, 50));
    assert.ok(hasEvent(), "an Event records the reason");
    assert.equal(auditVms(cluster).leaked, 0);
  } finally {
    await cluster.close();
    await queue.close();
  }
});
