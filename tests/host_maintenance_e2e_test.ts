/**
 * Host maintenance with the real daemon against the fake cluster: draining a Proxmox host moves
 * every pod elsewhere without a PodDisruptionBudget ever being broken and leaves no proxscale VM
 * on the host, and a PVE node put into HA maintenance gets no new VM and is drained the same
 * way. The checks count every VM the fake PVE holds that proxscale may own and every Pending pod.
 */
import assert from "node:assert/strict";
import type { Config, HostMaintenance } from "../core/model.ts";
import { GiB } from "../core/quantity.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { type DemoCluster, startDemoCluster } from "../harness/cluster.ts";

async function until(what: string, cond: () => boolean, limitMs: number, trail = () => "") {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}\n${trail()}`);
}

/** Empty nodes go quickly; underutilized ones stay, so only maintenance moves pods. */
const quiet = (c: Config): Config => ({
  ...c,
  nodePools: c.nodePools.map((p) => ({
    ...p,
    disruption: { ...p.disruption, consolidationPolicy: "WhenEmpty" },
  })),
});

const withMaintenance = (c: Config, host: string, state: HostMaintenance): Config => ({
  ...c,
  providers: c.providers.map((p) => ({
    ...p,
    hosts: p.hosts.map((h) => (h.name === host ? { ...h, maintenance: state } : h)),
  })),
});

type PodObj = {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
};

function webPods(cluster: DemoCluster): PodObj[] {
  const r = cluster.kube.store.list("pods", { namespace: "default" });
  return (r.ok ? r.value.items as PodObj[] : []).filter((p) => p.metadata.labels?.app === "web");
}

const ready = (p: PodObj) =>
  !p.metadata.deletionTimestamp &&
  (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

/** The host of each NodeClaim's VM, by node name. */
function hostOfNode(cluster: DemoCluster): Map<string, string> {
  const r = cluster.kube.store.list("nodeclaims.proxscale.io");
  const out = new Map<string, string>();
  for (const c of r.ok ? r.value.items : []) {
    const s = c.status as { host?: string; nodeName?: string } | undefined;
    if (s?.host && s.nodeName) out.set(s.nodeName, s.host);
  }
  return out;
}

/** The host carrying the most proxscale VMs right now. */
function busiestHost(cluster: DemoCluster): string {
  const counts = new Map<string, number>();
  for (const v of cluster.world.liveVms()) counts.set(v.host, (counts.get(v.host) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
}

Deno.test("host drain moves every pod elsewhere with no PDB violation and leaves the host with no proxscale VM", async () => {
  const cluster = await startDemoCluster({ seed: 31, bootDelayMs: 200, tune: quiet });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 20, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  const trail = () =>
    reports.slice(-40).map((r) => `${r.what} ${r.nodeclaim ?? ""} ${r.reason.code}`).join("\n");
  let monitor: ReturnType<typeof setInterval> | undefined;
  try {
    const handle = await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    cluster.world.deploy({ name: "web", replicas: 6, cpu: 1500, memory: 1 * GiB });
    await until("6 web pods ready", () => webPods(cluster).filter(ready).length === 6, 60_000);
    const pdb = cluster.kube.store.create("poddisruptionbudgets.policy", {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web", namespace: "default" },
      spec: { minAvailable: 5, selector: { matchLabels: { app: "web" } } },
    }, { namespace: "default" });
    assert.ok(pdb.ok);
    const host = busiestHost(cluster);
    const onHostBefore = cluster.world.liveVms().filter((v) => v.host === host).length;
    assert.ok(onHostBefore >= 1);
    const vmsBefore = new Set(cluster.world.liveVms().map((v) => v.vmid));

    // The PDB's own invariant, sampled all along: never fewer than 5 ready web pods.
    let fewestReady = Infinity;
    monitor = setInterval(() => {
      fewestReady = Math.min(fewestReady, webPods(cluster).filter(ready).length);
    }, 25);

    handle.daemon.setConfig(withMaintenance(quiet(cluster.config), host, "drain"));
    await until(
      "no proxscale VM left on the drained host, every web pod ready elsewhere",
      () =>
        cluster.world.liveVms().every((v) => v.host !== host) &&
        webPods(cluster).filter(ready).length === 6 &&
        cluster.world.pendingPods() === 0,
      120_000,
      trail,
    );
    clearInterval(monitor);
    monitor = undefined;

    assert.ok(fewestReady >= 5, `ready web pods fell to ${fewestReady} (PDB minAvailable 5)`);
    const audit = cluster.world.liveVms();
    assert.deepEqual(audit.filter((v) => v.host === host), [], "no proxscale VM on the host");
    for (const v of audit) {
      if (!vmsBefore.has(v.vmid)) assert.notEqual(v.host, host, "nothing new placed there");
    }
    const hosts = hostOfNode(cluster);
    for (const p of webPods(cluster)) {
      assert.notEqual(hosts.get(p.spec?.nodeName ?? ""), host, `${p.metadata.name} moved off`);
    }
    assert.equal(cluster.world.pendingPods(), 0);
    assert.ok(
      reports.some((r) => r.what === "Disrupt" && r.reason.code === "HostMaintenance"),
      trail(),
    );
  } finally {
    if (monitor !== undefined) clearInterval(monitor);
    await cluster.close();
    await queue.close();
  }
});

Deno.test("a PVE node put into HA maintenance gets no new VM and is drained", async () => {
  const cluster = await startDemoCluster({ seed: 32, bootDelayMs: 200, tune: quiet });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 20, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  const trail = () =>
    reports.slice(-40).map((r) => `${r.what} ${r.nodeclaim ?? ""} ${r.reason.code}`).join("\n");
  try {
    await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    cluster.world.deploy({ name: "web", replicas: 3, cpu: 1500, memory: 1 * GiB });
    await until("3 web pods ready", () => webPods(cluster).filter(ready).length === 3, 60_000);
    const host = busiestHost(cluster);
    const vmsBefore = new Set(cluster.world.liveVms().map((v) => v.vmid));
    cluster.pve.model.setHaMaintenance(host, true);

    // More work while the node is in maintenance: placed on the other hosts only.
    cluster.world.deploy({ name: "web", replicas: 6, cpu: 1500, memory: 1 * GiB });
    await until(
      "6 web pods ready and no proxscale VM left on the HA-maintenance host",
      () =>
        webPods(cluster).filter(ready).length === 6 &&
        cluster.world.liveVms().every((v) => v.host !== host) &&
        cluster.world.pendingPods() === 0,
      120_000,
      trail,
    );
    const audit = cluster.world.liveVms();
    for (const v of audit) {
      if (!vmsBefore.has(v.vmid)) assert.notEqual(v.host, host, "placement skipped the host");
    }
    assert.deepEqual(audit.filter((v) => v.host === host), []);
    assert.equal(cluster.world.pendingPods(), 0);
    assert.ok(reports.some((r) => r.reason.code === "HostMaintenance"), trail());
  } finally {
    await cluster.close();
    await queue.close();
  }
});
