/**
 * The demand history the daemon keeps for a forecasting pool lives in the cluster: a replica
 * started after another was killed reads back the peak the first one recorded (restart), and
 * when the lease holder dies the replica that takes over keeps it and goes on storing it
 * (failover). Real daemons against the fake cluster.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { JobData } from "../daemon/context.ts";
import { type DemoCluster, startDemoCluster } from "../harness/cluster.ts";
import type { Config } from "../core/model.ts";
import { MiB } from "../core/quantity.ts";
import { decodeHistory, type DemandHistory } from "../core/forecast_history.ts";
import { DEMAND_HISTORY_CONFIGMAP } from "../adapters/kubernetes/demand_history_store.ts";

function forecasting(config: Config): Config {
  return {
    ...config,
    nodePools: config.nodePools.map((p) => ({
      ...p,
      scaleUp: { ...p.scaleUp, forecast: { maxNodes: 2, maxError: 0.2, horizon: null } },
    })),
  };
}

/** The highest CPU demand a history holds (completed buckets and the open one). */
function peak(h: DemandHistory | undefined): number {
  return Math.max(0, ...(h?.cpu ?? []), h?.open?.cpu ?? 0);
}

/** The stored history of `pool`, read straight from the fake API server's store. */
function stored(cluster: DemoCluster, pool: string): DemandHistory | undefined {
  const cm = cluster.kube.store.get("configmaps", "default", DEMAND_HISTORY_CONFIGMAP);
  const data = cm.ok ? (cm.value as { data?: Record<string, string> }).data : undefined;
  const text = data?.[pool];
  return text ? decodeHistory(text) : undefined;
}

/** Pods of the deployment still in the API server and not being deleted. */
function livePods(cluster: DemoCluster): number {
  const l = cluster.kube.store.list("pods");
  if (!l.ok) return Infinity;
  return l.value.items.filter((p) =>
    p.metadata.labels?.app === "app" && !p.metadata.deletionTimestamp
  ).length;
}

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("the demand history survives a daemon restart and a leader failover", async () => {
  const cluster = await startDemoCluster({ seed: 21, bootDelayMs: 200 });
  const config = forecasting(cluster.config);
  const pool = config.nodePools[0]!.name;
  const queues = [0, 1, 2].map(() => new MemoryJobQueue<JobData>());
  try {
    const a = await cluster.spawn({
      queue: queues[0]!,
      identity: "a",
      config,
      demandPersistMs: 200,
    });
    cluster.world.deploy({ name: "app", replicas: 6, cpu: 1000, memory: 512 * MiB });
    await until("the 6-core peak stored", () => peak(stored(cluster, pool)) >= 6000);
    cluster.world.scale("app", 1);
    await until("the pods scaled in", () => livePods(cluster) <= 1);
    await a.stop();

    // Restart: a new replica sees one pod, yet its history has the earlier peak.
    const b = await cluster.spawn({
      queue: queues[1]!,
      identity: "b",
      config,
      demandPersistMs: 200,
    });
    await until("b leads", () => b.daemon.isLeader());
    await until("b passed", () => b.daemon.loop.passes > 1);
    assert.ok(peak(b.daemon.ctx.demand!.histories()[pool]) >= 6000, "b restored the peak");

    // Failover: c follows, b dies, c takes over with the history and keeps storing it.
    const c = await cluster.spawn({
      queue: queues[2]!,
      identity: "c",
      config,
      demandPersistMs: 200,
    });
    await until("c passed as follower", () => c.daemon.loop.passes > 1);
    assert.equal(c.daemon.isLeader(), false);
    await b.stop();
    await until("c leads", () => c.daemon.isLeader());
    cluster.world.scale("app", 7);
    await until("the 7-core peak stored by c", () => peak(stored(cluster, pool)) >= 7000);
    const h = c.daemon.ctx.demand!.histories()[pool];
    assert.ok(peak(h) >= 7000, "c recorded the new peak");
    const s = stored(cluster, pool)!;
    assert.ok(s.cpu.length >= 1 && s.first <= Math.floor(Date.now() / 300_000));
  } finally {
    await cluster.close();
    for (const q of queues) await q.close();
  }
});
