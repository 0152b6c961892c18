/**
 * Two daemon replicas against one cluster: only the Lease holder acts, the other decides the
 * same things and reports them as not carried out. One VM per claim, no leak.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { auditVms } from "../harness/demo.ts";
import { MiB } from "../core/quantity.ts";
import { uniquePrefix, withRedis } from "../adapters/queue/testing/redis.ts";
import { redisQueues } from "../harness/crash_queues.ts";

Deno.test("two replicas: only the lease holder launches, the follower only reports", async () => {
  const cluster = await startDemoCluster({ seed: 11, bootDelayMs: 200 });
  const queues = [new MemoryJobQueue<JobData>(), new MemoryJobQueue<JobData>()];
  const reports: DecisionReport[][] = [[], []];
  try {
    const a = await cluster.spawn({
      queue: queues[0]!,
      identity: "a",
      report: (d) => reports[0]!.push(d),
    });
    const b = await cluster.spawn({
      queue: queues[1]!,
      identity: "b",
      report: (d) => reports[1]!.push(d),
    });
    cluster.world.deploy({ name: "app", replicas: 6, cpu: 1000, memory: 512 * MiB });
    const end = Date.now() + 20_000;
    while (
      Date.now() < end && cluster.world.pendingPods() + (cluster.world.pods.size < 6 ? 1 : 0) > 0
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(cluster.world.pendingPods(), 0, "every pod is running");
    const leaders = [a, b].filter((h) => h.daemon.isLeader());
    assert.equal(leaders.length, 1, "exactly one replica holds the lease");
    const acted = reports.map((r) => r.filter((d) => d.what === "LaunchClaim" && !d.dryRun).length);
    assert.ok(acted.filter((n) => n > 0).length === 1, `launches by replica: ${acted}`);
    const follower = leaders[0] === a ? 1 : 0;
    assert.equal(reports[follower]!.filter((d) => d.what === "VmCreated").length, 0);
    assert.ok(
      reports[follower]!.some((d) => d.what === "LaunchClaim" && d.dryRun),
      "the follower decided too, without acting",
    );
    const audit = auditVms(cluster);
    assert.equal(audit.leaked, 0);
    assert.equal(audit.duplicates, 0);
  } finally {
    await cluster.close();
    for (const q of queues) await q.close();
  }
});

Deno.test("two replicas on one Redis queue: the follower's worker takes no job", async () => {
  await withRedis(async (url) => {
    const cluster = await startDemoCluster({ seed: 12, bootDelayMs: 200 });
    // Each replica opens its own BullMQ connection to the same queue, as in production: any
    // worker that is free may take a job.
    const open = redisQueues(url, uniquePrefix("leader"));
    const queues = [await open(0), await open(1)];
    const events: Record<string, string[]> = { a: [], b: [] };
    try {
      const handles = [];
      for (const [i, id] of ["a", "b"].entries()) {
        handles.push(
          await cluster.spawn({
            queue: queues[i]!,
            identity: id,
            onJobEvent: (e) => events[id]!.push(`${e.kind} ${e.id}`),
          }),
        );
      }
      cluster.world.deploy({ name: "app", replicas: 6, cpu: 1000, memory: 512 * MiB });
      const end = Date.now() + 30_000;
      while (
        Date.now() < end &&
        cluster.world.pendingPods() + (cluster.world.pods.size < 6 ? 1 : 0) > 0
      ) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(cluster.world.pendingPods(), 0, "every pod is running");
      const leader = handles[0]!.daemon.isLeader() ? "a" : "b";
      const follower = leader === "a" ? "b" : "a";
      assert.ok(events[leader]!.some((e) => e.startsWith("completed")), "the leader ran the jobs");
      assert.deepEqual(events[follower], [], "the follower took none");
    } finally {
      await cluster.close();
      for (const q of queues) await q.close();
    }
  });
});
