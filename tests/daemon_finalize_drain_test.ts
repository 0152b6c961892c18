/**
 * A claim the lifecycle ends while its node still runs pods, carried out by the real daemon
 * against the fakes (daemon/finalize_drain.ts):
 * - node repair with a PodDisruptionBudget: the pods are evicted one at a time as the budget
 *   allows, and the VM goes only once no running pod is left on the node;
 * - a budget that allows nothing and drainTimeoutAction "uncordon": the VM stays;
 * - the same with "force": after drainTimeout the pods are deleted and the VM goes;
 * - registration timeout on a registered (not initialized) node running a pod: the pod is
 *   evicted and gone before the VM is deleted.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { type DemoCluster, startDemoCluster } from "../harness/cluster.ts";
import { MiB } from "../core/quantity.ts";
import type { Config } from "../core/model.ts";

type PodObj = {
  metadata: { name: string; namespace: string; deletionTimestamp?: string; labels?: object };
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
};

const tune = (drainTimeout: number, action: "uncordon" | "force") => (c: Config): Config => ({
  ...c,
  settings: { ...c.settings, nodeRepairAfter: 1_000 },
  nodePools: c.nodePools.map((p) => ({
    ...p,
    scaleDown: { ...p.scaleDown, drainTimeout },
    disruption: { ...p.disruption, drainTimeoutAction: action, consolidationPolicy: "WhenEmpty" },
  })),
});

const appPods = (c: DemoCluster): PodObj[] => {
  const r = c.kube.store.list("pods");
  return r.ok ? (r.value.items as unknown as PodObj[]) : [];
};

const isReady = (p: PodObj) =>
  (p.status?.conditions ?? []).some((x) => x.type === "Ready" && x.status === "True");

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Run = {
  cluster: DemoCluster;
  reports: DecisionReport[];
  /** Fewest Ready, not terminating app pods seen since the budget was created. */
  minHealthy: () => number;
  /** Running pods that were still on the claim's node when its VM was deleted. */
  podsUnderDeletedVm: string[];
  /** The claim whose node was stopped, and its VM. */
  victim: { claim: string; node: string; vmid: number };
};

/** Two app pods on one node, a PDB over them, then that node's VM stopped (node repair). */
async function withRepair(
  opts: { drainTimeout: number; action: "uncordon" | "force"; minAvailable: number },
  body: (r: Run) => Promise<void>,
) {
  const cluster = await startDemoCluster({
    seed: 31,
    bootDelayMs: 200,
    tune: tune(opts.drainTimeout, opts.action),
  });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  const run: Run = {
    cluster,
    reports,
    minHealthy: () => min,
    podsUnderDeletedVm: [],
    victim: { claim: "", node: "", vmid: 0 },
  };
  let min = Infinity;
  let watching = false;
  // What the kubelet would report: a bound, running pod becomes Ready.
  const ready = setInterval(() => {
    const pods = appPods(cluster);
    for (const p of pods) {
      if (p.spec?.nodeName && p.status?.phase === "Running" && !isReady(p)) {
        cluster.kube.store.patch("pods", p.metadata.namespace, p.metadata.name, "merge", {
          status: { conditions: [{ type: "Ready", status: "True" }] },
        }, { subresource: "status" });
      }
    }
    if (watching) {
      min = Math.min(min, pods.filter((p) => isReady(p) && !p.metadata.deletionTimestamp).length);
    }
  }, 25);
  try {
    await cluster.spawn({
      queue,
      tickMs: 300,
      report: (d) => {
        reports.push(d);
        if (d.what === "VmDeleted" && d.nodeclaim === run.victim.claim) {
          run.podsUnderDeletedVm.push(
            ...appPods(cluster).filter((p) =>
              p.spec?.nodeName === run.victim.node && !p.metadata.deletionTimestamp
            ).map((p) => p.metadata.name),
          );
        }
      },
    });
    cluster.world.deploy({ name: "app", replicas: 2, cpu: 500, memory: 256 * MiB });
    await until("two Ready pods on one node", () => {
      const pods = appPods(cluster).filter(isReady);
      return pods.length === 2 && pods[0]!.spec?.nodeName === pods[1]!.spec?.nodeName;
    });
    await until("claim Ready", () => {
      const r = cluster.kube.store.list("nodeclaims.proxscale.io");
      return r.ok &&
        r.value.items.some((o) =>
          ((o as { status?: { conditions?: { type: string; status: string }[] } }).status
            ?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
        );
    });
    const pdb = cluster.kube.store.create("poddisruptionbudgets.policy", {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "app", namespace: "default" },
      spec: { minAvailable: opts.minAvailable, selector: { matchLabels: { app: "app" } } },
    }, { namespace: "default" });
    assert.ok(pdb.ok);
    watching = true;
    const created = reports.find((d) => d.what === "VmCreated")!;
    const node = appPods(cluster)[0]!.spec!.nodeName!;
    run.victim = { claim: created.nodeclaim!, node, vmid: created.vmid! };
    const stop = cluster.pve.model.powerVm(created.host!, created.vmid!, "stop", {}, "root@pam");
    assert.ok(stop.ok);
    await until(
      "repair decided",
      () => reports.some((d) => d.what === "DeleteClaim" && d.reason.code === "NodeNotReady"),
    );
    try {
      await body(run);
    } catch (e) {
      for (const d of reports) {
        console.log(d.what, d.nodeclaim, d.node, d.reason.code, d.reason.message);
      }
      throw e;
    }
  } finally {
    clearInterval(ready);
    await cluster.close();
    await queue.close();
  }
}

/** The daemon reported the victim's VM deleted, and the fake PVE no longer has it. */
const vmGone = (r: Run) =>
  r.reports.some((d) => d.what === "VmDeleted" && d.nodeclaim === r.victim.claim) &&
  r.cluster.world.vms.get(r.victim.vmid)?.goneAt !== undefined;

Deno.test("node repair with running pods: evicted within their PDB before the VM is deleted", async () => {
  await withRepair({ drainTimeout: 60_000, action: "uncordon", minAvailable: 1 }, async (r) => {
    await until("old VM deleted", () => vmGone(r));
    const mine = r.reports.filter((d) => d.nodeclaim === r.victim.claim);
    const evictions = mine.filter((d) => d.what === "Finalize:evict").length;
    assert.ok(evictions >= 2, `both pods evicted one at a time, saw ${evictions} eviction steps`);
    const drainedAt = mine.findIndex((d) => d.what === "Finalize:drained");
    const deletedAt = mine.findIndex((d) => d.what === "VmDeleted");
    assert.ok(drainedAt >= 0 && drainedAt < deletedAt, "drained before the VM was deleted");
    // The VM goes because its claim was deleted: the finalizer's code, not the drain's.
    assert.equal(mine[deletedAt]!.reason.code, "Finalizing");
    assert.deepEqual(r.podsUnderDeletedVm, []);
    assert.ok(r.minHealthy() >= 1, `the PDB kept one pod available, saw ${r.minHealthy()}`);
    await until("pods back on the new node", () => r.cluster.world.pendingPods() === 0);
  });
});

Deno.test("node repair, PDB allows nothing, drainTimeoutAction uncordon: the VM is kept", async () => {
  await withRepair({ drainTimeout: 800, action: "uncordon", minAvailable: 2 }, async (r) => {
    await until(
      "drain timed out",
      () =>
        r.reports.some((d) =>
          d.nodeclaim === r.victim.claim && d.what === "Finalize:gave-up" &&
          d.reason.code === "DrainTimeout"
        ),
    );
    // A few more finalize attempts, each blocked again.
    await new Promise((res) => setTimeout(res, 2_000));
    assert.equal(
      r.cluster.world.vms.get(r.victim.vmid)?.goneAt,
      undefined,
      "VM deleted under running pods",
    );
    assert.ok(!r.reports.some((d) => d.what === "VmDeleted" && d.nodeclaim === r.victim.claim));
    const left = appPods(r.cluster).filter((p) =>
      p.spec?.nodeName === r.victim.node && !p.metadata.deletionTimestamp
    );
    assert.equal(left.length, 2);
  });
});

Deno.test("node repair, PDB allows nothing, drainTimeoutAction force: pods deleted, then the VM", async () => {
  await withRepair({ drainTimeout: 800, action: "force", minAvailable: 2 }, async (r) => {
    await until("old VM deleted", () => vmGone(r));
    const mine = r.reports.filter((d) => d.nodeclaim === r.victim.claim);
    const forcedAt = mine.findIndex((d) => d.what === "Finalize:force");
    const deletedAt = mine.findIndex((d) => d.what === "VmDeleted");
    assert.ok(forcedAt >= 0 && forcedAt < deletedAt, "forced after drainTimeout, then deleted");
    assert.equal(mine.find((d) => d.what === "Finalize:force")!.reason.code, "DrainTimeout");
    assert.deepEqual(r.podsUnderDeletedVm, []);
  });
});

Deno.test("registration timeout with a running pod: the pod is evicted before the VM goes", async () => {
  // A startup taint nothing removes keeps the node from initializing; minNodes makes the claim.
  const cluster = await startDemoCluster({
    seed: 32,
    bootDelayMs: 200,
    tune: (c) => ({
      ...c,
      settings: { ...c.settings, registrationTimeout: 3_000 },
      nodePools: c.nodePools.map((p) => ({
        ...p,
        minNodes: 1,
        startupTaints: [{ key: "example.com/agent-not-ready", effect: "NoSchedule" }],
        scaleDown: { ...p.scaleDown, drainTimeout: 60_000 },
        disruption: { ...p.disruption, drainTimeoutAction: "uncordon" },
      })),
    }),
  });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  let claim = "";
  let node = "";
  const underDeletedVm: string[] = [];
  try {
    await cluster.spawn({
      queue,
      tickMs: 300,
      report: (d) => {
        reports.push(d);
        if (d.what === "VmDeleted" && d.nodeclaim === claim) {
          underDeletedVm.push(
            ...appPods(cluster).filter((p) =>
              p.spec?.nodeName === node && !p.metadata.deletionTimestamp
            ).map((p) => p.metadata.name),
          );
        }
      },
    });
    await until("the node registered", () => {
      const r = cluster.kube.store.list("nodes");
      const n = r.ok ? r.value.items[0] : undefined;
      if (n) node = n.metadata.name!;
      return n !== undefined;
    });
    claim = reports.find((d) => d.what === "VmCreated")!.nodeclaim!;
    // A Deployment's pod that tolerates the startup taint (an agent, say) runs on the node;
    // the fake cluster's controllers make it and its scheduler binds it there.
    const made = cluster.kube.store.create("deployments.apps", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "agent", namespace: "default" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: { labels: { app: "agent" } },
          spec: {
            terminationGracePeriodSeconds: 1,
            nodeSelector: { "kubernetes.io/hostname": node },
            tolerations: [{ key: "example.com/agent-not-ready", operator: "Exists" }],
            containers: [{ name: "agent", image: "registry.local/agent:1" }],
          },
        },
      },
    }, { namespace: "default" });
    assert.ok(made.ok);
    await until(
      "the agent pod running on the node",
      () =>
        appPods(cluster).some((p) =>
          p.spec?.nodeName === node &&
          (p as { status?: { phase?: string } }).status?.phase === "Running"
        ),
    );
    await until(
      "registration timeout decided",
      () =>
        reports.some((d) =>
          d.what === "DeleteClaim" && d.nodeclaim === claim &&
          d.reason.code === "RegistrationTimeout"
        ),
    );
    await until(
      "the VM of the timed-out claim deleted",
      () => reports.some((d) => d.what === "VmDeleted" && d.nodeclaim === claim),
    );
    const mine = reports.filter((d) => d.nodeclaim === claim);
    const evictedAt = mine.findIndex((d) => d.what === "Finalize:evict");
    const deletedAt = mine.findIndex((d) => d.what === "VmDeleted");
    assert.ok(evictedAt >= 0 && evictedAt < deletedAt, "evicted before the VM was deleted");
    assert.deepEqual(underDeletedVm, []);
  } finally {
    await cluster.close();
    await queue.close();
  }
});
