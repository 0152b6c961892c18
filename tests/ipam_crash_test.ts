/**
 * A launch with a static address killed dead at each PVE step (VMID reserved, clone sent, VM
 * started) and taken over by a fresh daemon with a fresh in-memory queue: the claim keeps the
 * address it recorded before the crash, that address and no other is in the seed's
 * network-config and on the Node, one VM, and no other claim ever holds it.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { MiB } from "../core/quantity.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { JobData } from "../daemon/context.ts";
import type { CrashPoint } from "../harness/cluster.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import {
  claims,
  internalIps,
  seedNetworkConfig,
  sleep,
  until,
  withPool,
} from "./testing/ipam_cluster.ts";

const POINTS: CrashPoint[] = ["after-vmid-reserve", "after-clone", "after-start"];

for (const point of POINTS) {
  Deno.test(`killed ${point}, the restarted daemon keeps the claim's recorded static address`, async () => {
    const cluster = await startDemoCluster({ seed: 5, bootDelayMs: 200, tune: withPool() });
    const queues: MemoryJobQueue<JobData>[] = [];
    const queue = () => {
      const q = new MemoryJobQueue<JobData>();
      queues.push(q);
      return q;
    };
    // Every address any claim ever recorded, by claim: none may appear under two claims.
    const recorded = new Map<string, Set<string>>();
    cluster.kube.store.onWrite((def, _type, obj) => {
      if (def.kind !== "NodeClaim") return;
      const c = obj as unknown as {
        metadata: { name: string };
        status?: { addresses?: { address: string }[] };
      };
      for (const a of c.status?.addresses ?? []) {
        const set = recorded.get(a.address) ?? new Set();
        set.add(c.metadata.name);
        recorded.set(a.address, set);
      }
    });
    try {
      cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
      const victim = await cluster.spawn({ queue: queue(), crashAt: point, tickMs: 300 });
      const crashed = await Promise.race([
        victim.crashed.then(() => true),
        sleep(20_000).then(() => false),
      ]);
      assert.ok(crashed, `the daemon reached ${point}`);
      const before = claims(cluster)[0]?.status?.addresses?.[0]?.address;
      assert.equal(before, "10.0.20.11", "recorded before the VM was made");
      await cluster.spawn({ queue: queue(), tickMs: 300 });
      const joined = await until(() => internalIps(cluster).includes(before!), 30_000);
      assert.ok(
        joined,
        `Nodes: ${internalIps(cluster)}; claims: ${JSON.stringify(claims(cluster))}`,
      );
      const [claim, ...others] = claims(cluster);
      assert.equal(others.length, 0);
      assert.equal(claim!.status?.addresses?.[0]?.address, before);
      assert.equal(cluster.world.liveVms().length, 1);
      const net = parse(seedNetworkConfig(cluster, claim!.status!.vmid!) ?? "{}");
      assert.deepEqual(net.ethernets?.net0?.addresses, [`${before}/24`]);
      for (const [address, holders] of recorded) {
        assert.equal(holders.size, 1, `${address} was recorded on ${[...holders]}`);
      }
    } finally {
      await cluster.close();
      for (const q of queues) await q.close();
    }
  });
}
