/**
 * Static IPs end to end with the real daemon on the fake cluster (nocloudIso): the Provider's
 * IP pool has three addresses, one reserved and one used by a VM proxscale does not own (its
 * ipconfig0 says so), so exactly one is free. The first NodeClaim records that address before
 * its VM exists; the seed ISO's network-config carries it with the pool's gateway and DNS, the
 * fake kubelet configures it and the Node reports it as its InternalIP. A second claim finds
 * the pool exhausted: an IpPoolExhausted Event on it and a LaunchBackoff Event naming the full
 * pool on the waiting pod, no second VM. Once the first claim ends (its VM
 * destroyed), the address is free again and the next claim gets it.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { MiB } from "../core/quantity.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { claims, internalIps, seedNetworkConfig, until, withPool } from "./testing/ipam_cluster.ts";

Deno.test("a static address from the pool is on the claim, in the seed's network-config and the Node's InternalIP; exhaustion is an Event on the claim and the pod; the address is reused after the claim ends", async () => {
  const cluster = await startDemoCluster({ seed: 18, tune: withPool() });
  // A VM proxscale does not own, configured by hand with the pool's second address.
  cluster.pve.model.addVm({
    vmid: 500,
    node: "pve1",
    name: "legacy-db",
    config: { ipconfig0: "ip=10.0.20.11/24,gw=10.0.20.1" },
    running: true,
  });
  const queue = new MemoryJobQueue<JobData>();
  const networkConfigs = new Map<number, string>();
  try {
    await cluster.spawn({ queue, tickMs: 300 });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    const registered = await until(() => {
      for (const c of claims(cluster)) {
        const vmid = c.status?.vmid;
        if (vmid !== undefined && !networkConfigs.has(vmid)) {
          const text = seedNetworkConfig(cluster, vmid);
          if (text) networkConfigs.set(vmid, text);
        }
      }
      return internalIps(cluster).includes("10.0.20.12");
    }, 30_000);
    assert.ok(
      registered,
      `Nodes: ${internalIps(cluster)}; claims: ${JSON.stringify(claims(cluster))}`,
    );
    const [first] = claims(cluster);
    assert.deepEqual(first?.status?.addresses, [
      { slot: "net0", pool: "nodes", address: "10.0.20.12" },
    ]);
    const text = networkConfigs.get(first!.status!.vmid!);
    assert.ok(text, "the seed ISO was seen attached");
    const net = parse(text);
    assert.deepEqual(net.ethernets.net0.addresses, ["10.0.20.12/24"]);
    assert.deepEqual(net.ethernets.net0.routes, [{ to: "0.0.0.0/0", via: "10.0.20.1" }]);
    assert.deepEqual(net.ethernets.net0.nameservers, { addresses: ["10.0.0.53"] });

    // A second node is needed (each pod fills a 4-vCPU VM): the pool has nothing left.
    cluster.world.deploy({ name: "big", replicas: 1, cpu: 3_500, memory: 256 * MiB });
    const exhausted = await until(() => {
      const events = cluster.kube.store.list("events");
      return events.ok && events.value.items.some((e) => {
        const ev = e as { reason?: string; type?: string; message?: string };
        return ev.reason === "IpPoolExhausted" && ev.type === "Warning" &&
          /IP pool 'nodes' of Provider 'demo' has no free address: 2 addresses, 1 held by NodeClaims, 1 used by other VMs/
            .test(ev.message ?? "");
      });
    }, 20_000);
    assert.ok(exhausted, "an IpPoolExhausted Warning Event with the counts");
    const podTold = await until(() => {
      const events = cluster.kube.store.list("events");
      return events.ok && events.value.items.some((e) => {
        const ev = e as {
          reason?: string;
          message?: string;
          involvedObject?: { kind?: string; name?: string };
        };
        return ev.involvedObject?.kind === "Pod" &&
          ev.involvedObject.name?.startsWith("big-") === true &&
          ev.reason === "LaunchBackoff" &&
          /IpPoolExhausted: IP pool 'nodes'/.test(ev.message ?? "");
      });
    }, 10_000);
    assert.ok(podTold, "the waiting pod has an Event saying its pool's IP pool is full");
    const held = claims(cluster).flatMap((c) => c.status?.addresses ?? []);
    assert.deepEqual(held.map((a) => a.address), ["10.0.20.12"], "no claim shares or invents one");
    assert.equal(cluster.world.liveVms().length, 1, "no VM without an address");

    // The first workload goes: once its claim is gone the address serves the big pod's node.
    cluster.world.scale("app", 0);
    const reused = await until(() => {
      const cs = claims(cluster);
      return cs.length === 1 && cs[0]!.metadata.name !== first!.metadata.name &&
        cs[0]!.status?.addresses?.[0]?.address === "10.0.20.12" &&
        internalIps(cluster).includes("10.0.20.12");
    }, 40_000);
    assert.ok(reused, `claims: ${JSON.stringify(claims(cluster))}; Nodes: ${internalIps(cluster)}`);
  } finally {
    await cluster.close();
    await queue.close();
  }
});
