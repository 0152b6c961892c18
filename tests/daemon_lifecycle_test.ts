/**
 * The NodeClaim lifecycle carried out by the real daemon against the fakes:
 * - node repair: a Ready node whose VM stops goes NotReady; after nodeRepairAfter the claim is
 *   deleted (VM, Node, finalizer) and the pods run on a new VM;
 * - registration timeout: a VM whose node never joins is deleted and the claim retried;
 * - orphan VM: a VM carrying proxscale's identity but no NodeClaim is destroyed after the grace
 *   period, and a foreign VM next to it is never touched.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { type ClusterOptions, type DemoCluster, startDemoCluster } from "../harness/cluster.ts";
import { auditVms } from "../harness/demo.ts";
import { MiB } from "../core/quantity.ts";
import type { Config } from "../core/model.ts";
import { claimDescription } from "../adapters/proxmox/vm_config.ts";

const settings = (over: Partial<Config["settings"]>) => (c: Config): Config => ({
  ...c,
  settings: { ...c.settings, ...over },
});

async function withCluster(
  opts: ClusterOptions,
  body: (c: DemoCluster, reports: DecisionReport[]) => Promise<void>,
) {
  const cluster = await startDemoCluster(opts);
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  try {
    await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    await body(cluster, reports);
  } finally {
    await cluster.close();
    await queue.close();
  }
}

/** VMs in the fake PVE now (templates excluded). */
function vmsIn(c: DemoCluster): { vmid: number; node: string }[] {
  const r = c.pve.model.resources("vm");
  if (!r.ok) return [];
  return r.value.filter((v) => !v.template).map((v) => ({
    vmid: Number(v.vmid),
    node: String(v.node),
  }));
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("node repair: a node NotReady past nodeRepairAfter is replaced", async () => {
  await withCluster(
    { seed: 21, bootDelayMs: 200, tune: settings({ nodeRepairAfter: 1_500 }) },
    async (cluster, reports) => {
      cluster.world.deploy({ name: "app", replicas: 2, cpu: 500, memory: 256 * MiB });
      await until(
        "pods running",
        () => cluster.world.pods.size === 2 && cluster.world.pendingPods() === 0,
      );
      // Repair applies to a claim that was Ready: wait for the lifecycle to say so.
      await until("claim Ready", () => {
        const r = cluster.kube.store.list("nodeclaims.proxscale.io");
        return r.ok &&
          r.value.items.some((o) =>
            ((o as { status?: { conditions?: { type: string; status: string }[] } }).status
              ?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
          );
      });
      const first = cluster.world.liveVms()[0]!;
      const host = vmsIn(cluster).find((v) => v.vmid === first.vmid)!.node;
      const stop = cluster.pve.model.powerVm(host, first.vmid, "stop", {}, "root@pam");
      assert.ok(stop.ok);
      await until(
        "repair decided",
        () => reports.some((d) => d.what === "DeleteClaim" && d.reason.code === "NodeNotReady"),
      );
      await until("old VM gone and pods back on a new VM", () => {
        const live = cluster.world.liveVms();
        return !live.some((v) => v.vmid === first.vmid) && live.length === 1 &&
          cluster.world.pendingPods() === 0;
      });
      assert.equal(auditVms(cluster).leaked, 0);
    },
  );
});

Deno.test("registration timeout: a VM whose node never joins is deleted and retried", async () => {
  await withCluster(
    // The world's kubelets take 60 s to boot: longer than registrationTimeout.
    { seed: 22, bootDelayMs: 60_000, tune: settings({ registrationTimeout: 1_000 }) },
    async (cluster, reports) => {
      cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
      await until(
        "timeout decided",
        () =>
          reports.some((d) => d.what === "DeleteClaim" && d.reason.code === "RegistrationTimeout"),
      );
      const firstVm = reports.find((d) => d.what === "VmCreated")!.vmid;
      await until(
        "the VM of the timed-out claim is destroyed and a retry launched",
        () =>
          cluster.world.vms.get(firstVm!)?.goneAt !== undefined &&
          reports.filter((d) => d.what === "VmCreated").length >= 2,
      );
      const audit = auditVms(cluster);
      assert.equal(audit.duplicates, 0);
      assert.ok(audit.live <= 1, `at most one VM at a time, saw ${audit.live}`);
    },
  );
});

Deno.test("orphan VM: ours without a NodeClaim is destroyed after the grace; a foreign VM stays", async () => {
  await withCluster(
    { seed: 23, tune: settings({ orphanGracePeriod: 500 }) },
    async (cluster, reports) => {
      const description = claimDescription({
        name: "general-gone1",
        nodePool: "general",
        machineTemplate: "worker",
        provider: "demo",
        shape: { name: "2c-4Gi", cpu: 2000, memory: 4 * 2 ** 30 },
        createdAt: 0,
        labels: {},
        taints: [],
        startupTaints: [],
        conditions: [],
      });
      cluster.pve.model.addVm({
        vmid: 1500,
        node: "pve1",
        name: "general-gone1",
        running: true,
        description,
        config: { tags: "k8s;proxscale" },
      });
      cluster.pve.model.addVm({ vmid: 1501, node: "pve1", name: "foreign", running: true });
      await until(
        "orphan collected",
        () =>
          reports.some((d) => d.what === "GarbageCollectVM" && d.vmid === 1500) &&
          !vmsIn(cluster).some((v) => v.vmid === 1500),
      );
      const left = vmsIn(cluster).map((v) => v.vmid);
      assert.ok(left.includes(1501), "the foreign VM is untouched");
      const gc = reports.find((d) => d.what === "GarbageCollectVM")!;
      assert.equal(gc.reason.code, "OrphanVM");
    },
  );
});
