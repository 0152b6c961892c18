import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { GiB } from "../core/quantity.ts";
import type { DaemonContext, JobData } from "./context.ts";
import { startLaunch } from "./launching.ts";

Deno.test("a launch whose job the queue refuses fails with QueueError", async () => {
  const queue = new MemoryJobQueue<JobData>();
  await queue.close();
  // Resuming a claim that exists touches only the queue.
  const ctx: Pick<DaemonContext, "queue"> = { queue };
  const r = await startLaunch(ctx as DaemonContext, {
    name: "general-abcde",
    nodePool: "general",
    machineTemplate: "tpl",
    provider: "pve",
    shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * GiB },
    createdAt: 0,
    labels: {},
    taints: [],
    startupTaints: [],
    conditions: [],
  }, false);
  assert.ok(!r.ok);
  assert.equal(r.error.code, "QueueError");
  assert.match(r.error.message, /launch-general-abcde/);
});
