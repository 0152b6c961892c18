/**
 * One Proxmox host going offline degrades that host, not the cluster: the real daemon keeps
 * launching on the other hosts, keeps the claims whose VMs sit on the offline host (their VMs are
 * unknown, never taken as vanished), says so once with an Event on the Provider, and says so
 * again when the host is back. A PVE that cannot be read at all still lets Kubernetes-only work
 * go on.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { GiB } from "../core/quantity.ts";

async function until(what: string, cond: () => boolean, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("an offline host stops nothing but itself: launches go on elsewhere, its claims stay", async () => {
  const cluster = await startDemoCluster({ seed: 11, bootDelayMs: 200 });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  try {
    const handle = await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    const bound = () => [...cluster.world.pods.values()].filter((p) => p.boundAt).length;
    cluster.world.deploy({ name: "a", replicas: 3, cpu: 1500, memory: 1 * GiB });
    await until("3 pods running", () => bound() >= 3, 30_000);
    const claims = () => {
      const r = cluster.kube.store.list("nodeclaims.proxscale.io");
      return r.ok ? r.value.items : [];
    };
    const before = claims();
    const host = (before[0]!.status as { host: string }).host;
    const onHost = before.filter((c) => (c.status as { host?: string }).host === host)
      .map((c) => c.metadata.name);
    cluster.pve.model.setHostOnline(host, false);

    // More work arrives while the host is away: it is placed on the other hosts.
    cluster.world.deploy({ name: "b", replicas: 2, cpu: 1500, memory: 1 * GiB });
    await until("the new pods running elsewhere", () => bound() >= 5, 30_000);
    const hostOf = new Map(
      claims().map((c) => [c.metadata.name, (c.status as { host?: string }).host]),
    );
    for (const c of claims()) {
      if (!before.some((b) => b.metadata.name === c.metadata.name)) {
        assert.notEqual(hostOf.get(c.metadata.name), host, "nothing is placed on the offline host");
      }
    }

    // Longer than the orphan grace period (3 s): the offline host's claims are still there.
    await new Promise((r) => setTimeout(r, 4_000));
    const names = new Set(claims().map((c) => c.metadata.name));
    for (const n of onHost) assert.ok(names.has(n), `claim ${n} on the offline host is kept`);
    assert.equal(
      reports.filter((d) => d.reason.code === "VMVanished").length,
      0,
      "an unknown VM is not a vanished one",
    );
    const down = reports.filter((d) => d.what === "HostUnavailable");
    assert.equal(down.length, 1, "reported once, not every pass");
    assert.equal(down[0]!.host, host);
    const events = cluster.kube.store.list("events");
    const onProvider = (events.ok ? events.value.items : []).filter((e) =>
      (e as { involvedObject?: { kind?: string } }).involvedObject?.kind === "Provider" &&
      (e as { reason?: string }).reason === "HostUnavailable"
    );
    assert.equal(onProvider.length, 1);
    assert.equal((onProvider[0] as { type?: string }).type, "Warning");
    assert.deepEqual(handle.daemon.loop.hostHealth.down().map((h) => h.host), [host]);

    cluster.pve.model.setHostOnline(host, true);
    // Its breaker lets a probe through after its cool-down; then the host is read again.
    await until(
      "the host reported back",
      () => reports.some((d) => d.what === "HostAvailable"),
      30_000,
    );
  } finally {
    await cluster.close();
    await queue.close();
  }
});

Deno.test("a claim whose host goes offline while it is finalized keeps its finalizer until its VM is destroyed", async () => {
  const cluster = await startDemoCluster({ seed: 12, bootDelayMs: 200 });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 60, baseDelayMs: 100, maxDelayMs: 300 },
  });
  const reports: DecisionReport[] = [];
  const trail = () =>
    reports.map((r) => `${r.what} ${r.nodeclaim ?? r.host ?? ""} ${r.reason.message}`).join("\n");
  try {
    await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    cluster.world.deploy({ name: "a", replicas: 1, cpu: 1500, memory: 1 * GiB });
    const claims = () => {
      const r = cluster.kube.store.list("nodeclaims.proxscale.io");
      return r.ok ? r.value.items : [];
    };
    const vmsOf = (claim: string) => cluster.world.liveVms().filter((v) => v.claim === claim);
    const bound = () => [...cluster.world.pods.values()].filter((p) => p.boundAt).length;
    await until("the pod runs", () => claims().length === 1 && bound() === 1, 30_000);
    const claim = claims()[0]!;
    const name = claim.metadata.name!;
    const host = (claim.status as { host: string }).host;

    // A PDB holds the finalize job in its drain, so the host can go offline under it.
    const pdb = cluster.kube.store.create("poddisruptionbudgets.policy", {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "a", namespace: "default" },
      spec: { minAvailable: 1, selector: { matchLabels: { app: "a" } } },
    }, { namespace: "default" });
    assert.ok(pdb.ok);
    cluster.kube.store.delete("nodeclaims.proxscale.io", undefined, name);
    await until(
      "the drain is blocked",
      () => reports.some((r) => r.what === "Finalize:draining"),
      20_000,
    ).catch((e) => {
      throw new Error(`${e}\n${trail()}`);
    });
    cluster.pve.model.setHostOnline(host, false);
    await new Promise((r) => setTimeout(r, 500));
    cluster.kube.store.delete("poddisruptionbudgets.policy", "default", "a");
    await until("the pod evicted", () => reports.some((r) => r.what === "Evicted"), 20_000);

    // Finalize attempts go by: the claim must stay while its VM is unknown.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.ok(claims().some((c) => c.metadata.name === name), `the claim is kept\n${trail()}`);
    assert.equal(vmsOf(name).length, 1, "its VM is still there, counted by its claim");

    cluster.pve.model.setHostOnline(host, true);
    await until("the claim released", () => !claims().some((c) => c.metadata.name === name), 30_000)
      .catch((e) => {
        throw new Error(`${e}\n${trail()}`);
      });
    assert.equal(vmsOf(name).length, 0, "the VM was destroyed before the claim went");
  } finally {
    await cluster.close();
    await queue.close();
  }
});
