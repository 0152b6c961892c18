/**
 * Launch latency: a pending pod that needs a new VM, from its creation to the clone request
 * arriving at the fake PVE, with the real daemon over real sockets (the demo cluster). Each
 * iteration adds one pod that fills a whole 4-vCPU VM, so each one needs a clone. The time
 * includes the world marking the pod Unschedulable (100 ms tick) and the demo's batch window
 * (300 ms idle); docs/performance.md subtracts the window.
 */
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { JobData } from "../daemon/context.ts";
import { startDemoCluster } from "./cluster.ts";
import { GiB } from "../core/quantity.ts";

const cluster = await startDemoCluster({ seed: 3 });
const queue = new MemoryJobQueue<JobData>();
const handle = await cluster.spawn({ queue });
let replicas = 0;
cluster.world.deploy({ name: "big", replicas: 0, cpu: 3500, memory: 2 * GiB });
const clones = () =>
  cluster.pve.requests.filter((r) => r.method === "POST" && r.path.endsWith("/clone")).length;

Deno.bench({
  name: "pending pod created -> clone request at the fake PVE (batch window 300 ms)",
  n: 12,
  warmup: 1,
  async fn() {
    const before = clones();
    cluster.world.scale("big", ++replicas);
    while (clones() === before) await new Promise((r) => setTimeout(r, 5));
  },
});

globalThis.addEventListener("unload", () => {
  void handle.stop();
});
