/**
 * Host power management with the real `proxscale run` process against the fake cluster and a
 * fake Redfish BMC whose System (Id: the host's name) is the fake PVE host's power button (powering a System on boots
 * the host, which joins PVE after its boot delay; shutting it down takes it offline). What is
 * counted is what a user sees: hosts online in PVE's /cluster/status, the BMC's PowerState,
 * Pending pods, pods running on nodes of the host, and the daemon's log lines.
 *
 * - A burst that needs a fourth host powers it on and its pods run there; after the burst the
 *   host, empty again, is powered off.
 * - A 3-host cluster with two empty hosts powers off only one: PVE keeps quorum.
 */
import assert from "node:assert/strict";
import { type DemoCluster, startDemoCluster } from "../harness/cluster.ts";
import type { FakeRedfish } from "../fakes/fake_redfish/server.ts";
import { startHostBmc } from "../fakes/cluster/host_bmc.ts";
import { MiB } from "../core/quantity.ts";
import { type RunProcess, startRunProcess, until } from "./testing/run_process.ts";

const BOOT_MS = 1_500;

/** The demo cluster with `hosts` hosts and no node bootstrap (VMs boot as they are). */
function plainCluster(seed: number, hosts: number): Promise<DemoCluster> {
  return startDemoCluster({
    seed,
    hosts,
    requireSeed: false,
    tune: (c) => ({
      ...c,
      machineTemplates: c.machineTemplates.map((t) => ({
        ...t,
        bootstrap: { ...t.bootstrap, mode: "none" as const },
      })),
    }),
  });
}

/** The fake BMC of the `wired` hosts (fakes/cluster/host_bmc.ts); `off` start powered off. */
async function wiredBmc(c: DemoCluster, wired: string[], off: string[]): Promise<FakeRedfish> {
  const h = await startHostBmc(c.pve, wired, {
    off,
    bootDelayMs: BOOT_MS,
    powerOnDelayMs: 200,
    powerOffDelayMs: 300,
  });
  return h.bmc;
}

/**
 * The daemon's configuration: each host may take two 4-vCPU VMs (the rest of its cores is
 * reserved), hosts in `wired` have a BMC (System nodeN), host power is on.
 */
async function config(
  c: DemoCluster,
  dir: string,
  bmc: FakeRedfish,
  hosts: string[],
  wired: string[],
  policy: string,
): Promise<string> {
  await Deno.writeTextFile(`${dir}/bmc-user`, bmc.username);
  await Deno.writeTextFile(`${dir}/bmc-pass`, bmc.password);
  const p = c.config.providers[0]!;
  const hostLines = hosts.map((h) => {
    const base =
      `        - name: ${h}\n          zone: ${h}\n          reserved: { cpu: "23", memory: 2Gi }`;
    if (!wired.includes(h)) return base;
    return base + `
          bmc:
            endpoint: ${bmc.url}
            systemId: ${h}
            username: { file: ${dir}/bmc-user }
            password: { file: ${dir}/bmc-pass }
            tls: { fingerprint: "${bmc.fingerprint}" }
            bootDelay: 2s`;
  }).join("\n");
  return `
providers:
  - name: ${p.name}
    spec:
      endpoint: ${c.pve.url}
      tokenId: "${c.pve.tokenId}"
      tokenSecret: { env: PROXSCALE_PVE_TOKEN }
      tls: { fingerprint: "${c.pve.fingerprint}" }
      hosts:
${hostLines}
      hostPower: ${policy}
      vmidRange: { lower: 1000, upper: 1999 }
      managedTag: ${p.managedTag}
machineTemplates:
  - name: worker
    spec:
      provider: ${p.name}
      shapes: [{ cpu: 4, memory: 8Gi }]
      vmMemOverheadMiB: 256
      reserved: { cpu: 100m, memory: 256Mi }
      source:
        clone:
          full: false
          perHost: { ${hosts.map((h, i) => `${h}: ${9000 + i}`).join(", ")} }
      bootstrap: { mode: none }
nodePools:
  - name: general
    spec:
      machineTemplate: worker
      limits: { nodes: 20 }
      scaleUp: { batchSize: 20, stabilizationWindow: 0s, maxConcurrent: 20 }
      scaleDown: { maxConcurrent: 10, drainTimeout: 20s, stabilizationWindow: 1s }
      disruption:
        consolidationPolicy: WhenEmpty
        consolidateAfter: 1s
        budgets: [{ nodes: "100%" }]
settings:
  batchIdle: 300ms
  batchMax: 2s
  orphanGracePeriod: 1s
`;
}

/** Hosts online in PVE's /cluster/status, sorted. */
function onlineHosts(c: DemoCluster): string[] {
  return c.pve.model.clusterStatus().filter((e) => e.type === "node" && e.online === 1)
    .map((e) => String(e.name)).sort();
}

/** Pods bound to nodes whose VM runs on `host` (the node's proxscale.io/host label). */
function podsOnHost(c: DemoCluster, host: string): number {
  const nodes = c.kube.store.list("nodes");
  if (!nodes.ok) return 0;
  const names = new Set(
    (nodes.value.items as { metadata: { name: string; labels?: Record<string, string> } }[])
      .filter((n) => n.metadata.labels?.["proxscale.io/host"] === host).map((n) => n.metadata.name),
  );
  return [...c.world.pods.values()].filter((p) => p.boundAt && p.node && names.has(p.node)).length;
}

/** The daemon's JSON log lines whose message is `what`. */
function logLines(d: RunProcess, what: string): Record<string, unknown>[] {
  return d.stdout().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    .filter((l) => l.msg === what || l.message === what);
}

Deno.test({
  name: "a burst that needs a fourth host powers it on through its BMC and runs pods there; " +
    "after the burst the empty host is powered off",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const c = await plainCluster(51, 4);
    const dir = await Deno.makeTempDir({ prefix: "proxscale-hostpower-" });
    const bmc = await wiredBmc(c, ["pve4"], ["pve4"]);
    let d: RunProcess | undefined;
    try {
      assert.deepEqual(onlineHosts(c), ["pve1", "pve2", "pve3"]);
      const text = await config(
        c,
        dir,
        bmc,
        ["pve1", "pve2", "pve3", "pve4"],
        ["pve4"],
        "{ powerOffAfter: 3s, minOnlineHosts: 2 }",
      );
      d = await startRunProcess(c, dir, [], text);
      // Eight pods of 3 cores: one per 4-vCPU VM, two VMs per host: three hosts hold six.
      const t0 = Date.now();
      const at: Record<string, number> = {};
      c.world.deploy({ name: "burst", replicas: 8, cpu: 3000, memory: 512 * MiB });
      await until(
        () => bmc.model.system("pve4")!.powerState !== "Off",
        60_000,
        "the BMC to be asked to power pve4 on",
      );
      at.powerOnAsked = Date.now() - t0;
      await until(() => onlineHosts(c).includes("pve4"), 30_000, "pve4 to join PVE");
      at.pve4Online = Date.now() - t0;
      await until(
        () => c.world.pendingPods() === 0 && podsOnHost(c, "pve4") >= 2,
        90_000,
        "every burst pod running, two of them on pve4",
      );
      at.allRunning = Date.now() - t0;
      assert.deepEqual(onlineHosts(c), ["pve1", "pve2", "pve3", "pve4"]);
      const on = logLines(d, "PowerOn");
      assert.equal(on.length, 1, d.stdout().slice(-3000));
      assert.equal(on[0]!.host, "pve4");
      assert.match(String(on[0]!.reason_message), /fit no online host; pve4 \(powered off\) fits/);

      // The burst ends: its VMs go, pve4 runs no VM, and after powerOffAfter it is shut down.
      const t1 = Date.now();
      c.world.scale("burst", 0);
      await until(() => c.world.liveVms().length === 0, 90_000, "every burst VM deleted");
      at.vmsGone = Date.now() - t1;
      await until(() => !onlineHosts(c).includes("pve4"), 60_000, "pve4 to be powered off");
      at.pve4Off = Date.now() - t1;
      // Figures for docs/host_power.md (ms since the burst, then since its end).
      if (Deno.env.get("PROXSCALE_FIGURES")) console.log(JSON.stringify(at));
      assert.equal(bmc.model.system("pve4")!.powerState, "Off");
      assert.deepEqual(onlineHosts(c), ["pve1", "pve2", "pve3"]);
      const off = logLines(d, "PowerOff");
      assert.equal(off.length, 1);
      assert.match(
        String(off[0]!.reason_message),
        /pve4 ran no VM for \d+ s \(powerOffAfter 3 s\)/,
      );
      assert.equal(c.world.pendingPods(), 0);
      // `proxscale host list` (GET /status) shows pve4 powered off, not down: "shutting down"
      // until the daemon's next pass sees the BMC report Off.
      type Status = { hosts: { host: string; power?: string; down?: boolean }[] };
      let status: Status | undefined;
      for (let waited = 0; waited < 30_000; waited += 250) {
        status = await (await fetch(`http://127.0.0.1:${d.port}/status`)).json() as Status;
        if (status.hosts.find((h) => h.host === "pve4")?.power !== "shutting down") break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const pve4 = status!.hosts.find((h) => h.host === "pve4")!;
      assert.deepEqual([pve4.power, pve4.down], ["off", undefined], JSON.stringify(status!.hosts));
      // Both requests are counted on /metrics.
      const metrics = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
      for (const [action, code] of [["power_on", "HostPowerOn"], ["power_off", "HostPowerOff"]]) {
        // Labelled with the reason code the log line and the Event carry.
        assert.match(
          metrics,
          new RegExp(
            `proxscale_host_power_actions_total\\{(?=[^}]*action="${action}")(?=[^}]*reason="${code}")(?=[^}]*outcome="succeeded")[^}]*\\} 1\\b`,
          ),
          metrics.split("\n").filter((l) => l.includes("host_power")).join("\n"),
        );
      }
      // Offline on purpose (off at the start, booting, powered off): never an unavailable host.
      await new Promise((r) => setTimeout(r, 2_000));
      const all = d.stdout().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      assert.deepEqual(all.filter((l) => l.msg === "HostUnavailable"), []);
    } finally {
      await d?.stop();
      await bmc.close();
      await c.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a 3-host cluster with two empty hosts powers off only one of them: PVE keeps quorum",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const c = await plainCluster(52, 3);
    const dir = await Deno.makeTempDir({ prefix: "proxscale-hostpower-" });
    const hosts = ["pve1", "pve2", "pve3"];
    const bmc = await wiredBmc(c, hosts, []);
    let d: RunProcess | undefined;
    try {
      // An operator's VM keeps pve1 busy; pve2 and pve3 run nothing.
      c.pve.model.addVm({ vmid: 500, node: "pve1", name: "operator-db", running: true });
      const text = await config(
        c,
        dir,
        bmc,
        hosts,
        hosts,
        "{ powerOffAfter: 2s, minOnlineHosts: 1 }",
      );
      d = await startRunProcess(c, dir, [], text);
      await until(() => onlineHosts(c).length === 2, 60_000, "one empty host to be powered off");
      // Well past powerOffAfter again: the other empty host is held for quorum, not powered off.
      await until(
        () =>
          logLines(d!, "HostPowerHeld").some((l) => /lose quorum/.test(String(l.reason_message))),
        30_000,
        "the quorum refusal",
      );
      await new Promise((r) => setTimeout(r, 5_000));
      const online = onlineHosts(c);
      assert.equal(online.length, 2, `online: ${online.join(", ")}`);
      assert.ok(online.includes("pve1"), "the host with a VM stays on");
      const status = c.pve.model.clusterStatus().find((e) => e.type === "cluster")!;
      assert.equal(status.quorate, 1);
      const offSystems = [...bmc.model.systems.values()].filter((s) => s.powerState === "Off");
      assert.equal(offSystems.length, 1);
      assert.equal(logLines(d, "PowerOff").length, 1);
      const held = logLines(d, "HostPowerHeld").find((l) =>
        /lose quorum/.test(String(l.reason_message))
      )!;
      assert.match(String(held.reason_message), /leave 1 of 3 quorum votes online/);
    } finally {
      await d?.stop();
      await bmc.close();
      await c.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
