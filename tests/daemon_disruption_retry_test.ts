/**
 * A disruption whose replacement fails is decided again, not forgotten: the command untaints
 * its node and completes, and the next pass's decision (the same candidates, so the same job id)
 * must run again once the cause is gone. Before, the finished job of that id swallowed every
 * later decision for its retention time (10 min), so a drifted node stayed drifted.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { MiB } from "../core/quantity.ts";
import type { Config } from "../core/model.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pool's labels change: every claim drifts. */
const relabelled = (c: Config): Config => ({
  ...c,
  nodePools: c.nodePools.map((p) => ({ ...p, labels: { ...p.labels, rev: "2" } })),
});

type Obj = {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
};

Deno.test("a drift replacement that failed is tried again on a later pass", async () => {
  const cluster = await startDemoCluster({ seed: 5, bootDelayMs: 100 });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 200 },
  });
  const reports: DecisionReport[] = [];
  const claims = () => {
    const l = cluster.kube.store.list("nodeclaims.proxscale.io");
    return (l.ok ? l.value.items : []) as unknown as Obj[];
  };
  const ready = (o: Obj) =>
    (o.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  const until = async (what: string, cond: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end && !cond()) await sleep(50);
    assert.ok(
      cond(),
      `${what}\n${
        reports.map((r) => `${r.what} ${r.nodeclaim ?? ""} ${r.reason.code}`).join("\n")
      }`,
    );
  };
  try {
    const h = await cluster.spawn({ queue, tickMs: 200, report: (d) => reports.push(d) });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    await until(
      "the first claim is Ready",
      () => claims().length === 1 && ready(claims()[0]!),
      20_000,
    );
    const first = claims()[0]!.metadata.name;

    // Every clone fails while the drift is first acted on: the replacement cannot launch.
    cluster.pve.faults.set({
      taskFailures: [{ type: "qmclone", rate: 1, message: "clone failed: storage full" }],
    });
    h.daemon.setConfig(relabelled(cluster.config));
    await until(
      "the first disruption gave up and untainted its node",
      () => reports.some((r) => r.what === "NodeUntainted" && r.outcome === "succeeded"),
      30_000,
    );
    cluster.pve.faults.set({});

    await until(
      "the drifted claim was replaced",
      () => !claims().some((c) => c.metadata.name === first) && claims().some(ready),
      30_000,
    );
    assert.ok(
      reports.filter((r) => r.what === "Disrupt" && r.nodeclaim === first).length >= 2,
      "the disruption was decided and carried out again",
    );
  } finally {
    await cluster.close();
    await queue.close();
  }
});
