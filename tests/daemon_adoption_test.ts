/**
 * Disaster recovery inside the real daemon against the fake cluster: every NodeClaim vanishes
 * at once (as after an etcd restore: no finalizer runs). The daemon rebuilds the claims of the
 * running VMs with Ready Nodes, keeps a VM whose Node is NotReady (a Warning says why, past the
 * orphan grace period it is still there), and deletes it only once the operator sets
 * settings.deleteUnadoptableVms.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { type DemoCluster, startDemoCluster } from "../harness/cluster.ts";
import { MiB } from "../core/quantity.ts";
import type { Config } from "../core/model.ts";
import { nodeClaimFromKube } from "../adapters/kubernetes/translate.ts";

type Claim = {
  metadata: {
    name: string;
    creationTimestamp?: string;
    annotations?: Record<string, string>;
  };
  status?: { vmid?: number; conditions?: { type: string; status: string }[] };
};

const quiet = (c: Config): Config => ({
  ...c,
  settings: { ...c.settings, orphanGracePeriod: 500, nodeRepairAfter: 600_000 },
  nodePools: c.nodePools.map((p) => ({
    ...p,
    disruption: { ...p.disruption, consolidateAfter: null },
  })),
});

function claims(c: DemoCluster): Claim[] {
  const r = c.kube.store.list("nodeclaims.proxscale.io");
  return r.ok ? r.value.items as unknown as Claim[] : [];
}

const ready = (x: Claim) =>
  (x.status?.conditions ?? []).some((k) => k.type === "Ready" && k.status === "True");

function vmsIn(c: DemoCluster): { vmid: number; node: string }[] {
  const r = c.pve.model.resources("vm");
  if (!r.ok) return [];
  return r.value.filter((v) => !v.template).map((v) => ({
    vmid: Number(v.vmid),
    node: String(v.node),
  }));
}

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("lost NodeClaims: Ready VMs are adopted, a NotReady one is kept until the operator allows its deletion", async () => {
  const cluster = await startDemoCluster({ seed: 77, bootDelayMs: 200, tune: quiet });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  try {
    const handle = await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    cluster.world.deploy({ name: "app", replicas: 3, cpu: 1500, memory: 256 * MiB });
    await until(
      "three pods on Ready claims",
      () =>
        cluster.world.pendingPods() === 0 && cluster.world.pods.size === 3 &&
        claims(cluster).length >= 2 && claims(cluster).every(ready),
      60_000,
    );
    const before = vmsIn(cluster).map((v) => v.vmid).sort();
    // One VM stops: its Node goes NotReady.
    const victim = claims(cluster)[0]!;
    const vmid = victim.status!.vmid!;
    const host = vmsIn(cluster).find((v) => v.vmid === vmid)!.node;
    assert.ok(cluster.pve.model.powerVm(host, vmid, "stop", {}, "root@pam").ok);
    await until("its node NotReady", () => {
      const n = cluster.kube.store.list("nodes");
      return n.ok && n.value.items.some((o) => {
        const node = o as {
          spec?: { providerID?: string };
          status?: { conditions?: { type: string; status: string }[] };
        };
        return node.spec?.providerID === `proxmox://demo/${vmid}` &&
          (node.status?.conditions ?? []).some((k) => k.type === "Ready" && k.status !== "True");
      });
    });
    // The disaster: every NodeClaim gone without its finalizer running.
    const names = claims(cluster).map((x) => x.metadata.name);
    const born = new Map(
      claims(cluster).map((x) => [x.metadata.name, x.metadata.creationTimestamp!]),
    );
    for (const name of names) {
      assert.ok(
        cluster.kube.store.patch("nodeclaims.proxscale.io", undefined, name, "merge", {
          metadata: { finalizers: null },
        }).ok,
      );
      assert.ok(cluster.kube.store.delete("nodeclaims.proxscale.io", undefined, name).ok);
    }
    await until(
      "the running VMs adopted",
      () => claims(cluster).length === names.length - 1 && claims(cluster).every(ready),
    );
    assert.ok(!claims(cluster).some((x) => x.metadata.name === victim.metadata.name));
    // Each rebuilt claim is as old as the lost one (its VM recorded when it was created), so
    // its pool's expireAfter does not restart: the daemon reads that age back from the object.
    for (const x of claims(cluster)) {
      const first = Date.parse(born.get(x.metadata.name)!);
      const kept = x.metadata.annotations?.["proxscale.io/claim-created"];
      assert.ok(kept, `${x.metadata.name} carries its first creation time`);
      assert.ok(
        Math.abs(Date.parse(kept) - first) < 1_500,
        `${x.metadata.name}: recorded ${kept}, first created ${born.get(x.metadata.name)}`,
      );
      const read = nodeClaimFromKube(x);
      assert.ok(read.ok);
      assert.equal(read.value.createdAt, Date.parse(kept), "its age counts from the first launch");
      assert.ok(
        Date.parse(x.metadata.creationTimestamp!) > read.value.createdAt,
        "not the object's",
      );
    }
    assert.ok(
      reports.some((d) => d.what === "AdoptClaim" && /as the VM records/.test(d.reason.message)),
    );
    // The kept VM is reported by the same pass, possibly just after the claims are written.
    await until("the NotReady one reported", () => reports.some((d) => d.what === "KeepOrphanVM"))
      .catch(() => {});
    const kept = reports.find((d) => d.what === "KeepOrphanVM");
    assert.ok(kept, "the NotReady one is reported as kept");
    assert.equal(kept.reason.code, "OrphanVMKept");
    assert.match(kept.reason.message, /is not Ready/);
    // Well past the 0.5 s orphan grace period, nothing was deleted.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.deepEqual(vmsIn(cluster).map((v) => v.vmid).sort(), before);
    assert.ok(!reports.some((d) => d.what === "GarbageCollectVM"));
    const events = cluster.kube.store.list("events");
    assert.ok(
      events.ok &&
        events.value.items.some((e) => (e as { reason?: string }).reason === "OrphanVMKept"),
      "a Warning Event says why the VM stays",
    );
    // The operator decides: such VMs may go.
    const c = handle.daemon.ctx.config();
    handle.daemon.setConfig({ ...c, settings: { ...c.settings, deleteUnadoptableVms: true } });
    await until("the kept VM deleted", () => !vmsIn(cluster).some((v) => v.vmid === vmid));
    assert.ok(reports.some((d) => d.what === "GarbageCollectVM" && d.vmid === vmid));
    assert.equal(vmsIn(cluster).length, before.length - 1, "only that VM");
  } finally {
    await cluster.close();
    await queue.close();
  }
});
