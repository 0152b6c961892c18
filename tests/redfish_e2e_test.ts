/**
 * Bare metal end to end: the real `proxscale run` process with a Redfish Provider, against the
 * fake API server and a fake BMC whose machines boot a kubelet when they power on from a
 * NoCloud seed on their virtual CD (fakes/cluster/kubelet/bare_metal.ts). A bare-metal pool
 * scales up (machine powered on from CD, seed fetched once, Node registered with its
 * redfish:// providerID, pods Running; a second fetch of the seed URL is refused) and down
 * (drained, powered off, media ejected); a daemon SIGKILLed mid-launch leaves, after restart, no
 * machine powered on without a NodeClaim.
 */
import assert from "node:assert/strict";
import https from "node:https";
import { GiB } from "../core/quantity.ts";
import { type DemoCluster, startDemoCluster } from "../harness/cluster.ts";
import { type FakeRedfish, startFakeRedfish } from "../fakes/fake_redfish/server.ts";
import { startBareMetalKubelets } from "../fakes/cluster/kubelet/bare_metal.ts";
import { issueCa, issueLeaf, serverSans } from "../fakes/tls/pki.ts";
import { startRunProcess, until } from "./testing/run_process.ts";

type Env = { cluster: DemoCluster; bmc: FakeRedfish; dir: string; config: string };

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function withEnv(fn: (e: Env) => Promise<void>): Promise<void> {
  const cluster = await startDemoCluster({ seed: 11, bootDelayMs: 300 });
  const bmc = await startFakeRedfish({
    systems: [{ cpus: 4, memoryGiB: 8 }, { cpus: 4, memoryGiB: 8 }],
    model: { powerOnDelayMs: 300, powerOffDelayMs: 200 },
  });
  const kubelets = startBareMetalKubelets({
    store: cluster.kube.store,
    bmc: bmc.model,
    provider: "rack",
    bootDelayMs: 300,
    renewIntervalMs: 500,
  });
  const dir = await Deno.makeTempDir();
  try {
    const ca = await issueCa("proxscale seed CA");
    const leaf = await issueLeaf(ca, {
      subject: "/CN=127.0.0.1",
      usage: "serverAuth",
      sans: serverSans("127.0.0.1"),
    });
    await Deno.writeTextFile(`${dir}/seed.crt`, leaf.certPem);
    await Deno.writeTextFile(`${dir}/seed.key`, leaf.keyPem);
    await Deno.writeTextFile(`${dir}/bmc-password`, "operator\n");
    const port = freePort();
    const machine = (n: number) =>
      `        - { name: m${n}, zone: rack-a, endpoint: "${bmc.url}", systemId: node${n}, username: operator, password: { file: ${dir}/bmc-password }, tls: { fingerprint: "${bmc.fingerprint}" } }`;
    const config = `
providers:
  - name: rack
    spec:
      kind: redfish
      machines:
${machine(1)}
${machine(2)}
      seedServer:
        listen: 127.0.0.1:${port}
        url: https://127.0.0.1:${port}
        certFile: ${dir}/seed.crt
        keyFile: ${dir}/seed.key
        ttlSeconds: 120
machineTemplates:
  - name: metal
    spec:
      provider: rack
      shapes: [{ cpu: 4, memory: 8Gi }]
      reserved: { cpu: 100m, memory: 256Mi }
      source: { scratch: {} }
      bootstrap: { mode: nocloudIso, template: kubeadm, isoStorage: local, clusterServer: "10.0.0.10:6443" }
nodePools:
  - name: metal
    spec:
      machineTemplate: metal
      limits: { nodes: 2 }
      scaleUp: { batchSize: 2, stabilizationWindow: 0s, maxConcurrent: 2 }
      scaleDown: { maxConcurrent: 2, drainTimeout: 20s, stabilizationWindow: 1s }
      disruption:
        consolidationPolicy: WhenEmptyOrUnderutilized
        consolidateAfter: 2s
        budgets: [{ nodes: "100%" }]
settings:
  batchIdle: 300ms
  batchMax: 2s
  orphanGracePeriod: 1s
`;
    await fn({ cluster, bmc, dir, config });
  } finally {
    kubelets.stop();
    await bmc.close();
    await cluster.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function nodes(c: DemoCluster): { name: string; providerID: string | undefined }[] {
  const l = c.kube.store.list("nodes");
  return l.ok
    ? l.value.items.map((n) => ({
      name: n.metadata.name!,
      providerID: n.spec?.providerID as string | undefined,
    }))
    : [];
}

function claims(c: DemoCluster): string[] {
  const l = c.kube.store.list("nodeclaims.proxscale.io");
  return l.ok ? l.value.items.map((n) => n.metadata.name!) : [];
}

function runningPods(c: DemoCluster, prefix: string): number {
  const l = c.kube.store.list("pods");
  return l.ok
    ? l.value.items.filter((p) =>
      p.metadata.name!.startsWith(prefix) && p.status?.phase === "Running"
    ).length
    : 0;
}

function statusOf(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

const on = (b: FakeRedfish) => [...b.model.systems.values()].filter((s) => s.powerState !== "Off");

Deno.test("a bare-metal pool scales up from a one-time seed and down to powered-off, ejected machines", async () => {
  await withEnv(async ({ cluster, bmc, dir, config }) => {
    const proc = await startRunProcess(cluster, dir, [], config);
    try {
      cluster.world.deploy({ name: "metal-app", replicas: 2, cpu: 1500, memory: 2 * GiB });
      await until(
        () => runningPods(cluster, "metal-app") === 2,
        60_000,
        "both pods Running on bare metal",
      );
      const up = on(bmc);
      assert.equal(up.length, 1, "one machine of exactly the shape serves both pods");
      const s = up[0]!;
      assert.equal(s.bootedFrom, "Cd", "booted once from the virtual CD");
      assert.equal(s.boot.enabled, "Disabled", "the one-time override was consumed");
      assert.equal(s.media.fetches.length, 1, "the BMC fetched the seed once");
      assert.equal(s.media.fetches[0]!.status, 200);
      const node = nodes(cluster).find((n) => n.providerID === `redfish://rack/${s.uuid}`);
      assert.ok(
        node,
        `a Node with providerID redfish://rack/${s.uuid}: ${JSON.stringify(nodes(cluster))}`,
      );
      assert.equal(
        await statusOf(s.media.image),
        410,
        "a second fetch of the one-time seed URL is refused",
      );

      cluster.world.scale("metal-app", 0);
      await until(() => on(bmc).length === 0, 60_000, "the machine powered off");
      await until(() => !s.media.inserted, 30_000, "the seed media ejected");
      await until(() => claims(cluster).length === 0, 30_000, "the NodeClaim gone");
      await until(() => !nodes(cluster).some((n) => n.name === node.name), 30_000, "the Node gone");
    } finally {
      await proc.stop();
    }
  });
});

Deno.test("a daemon killed mid-launch leaves no bare-metal machine powered on without a NodeClaim", async () => {
  await withEnv(async ({ cluster, bmc, dir, config }) => {
    let proc = await startRunProcess(cluster, dir, [], config);
    // The BMC refuses the boot override, so the launch stops between InsertMedia and power-on;
    // the daemon is killed there.
    bmc.faults.failNext(1_000_000, 503, { method: "PATCH" });
    const inserted = () => [...bmc.model.systems.values()].some((s) => s.media.inserted);
    cluster.world.deploy({ name: "cut", replicas: 2, cpu: 1500, memory: 2 * GiB });
    await until(inserted, 60_000, "a seed inserted");
    await until(
      () => bmc.requests.some((r) => r.method === "PATCH"),
      30_000,
      "the boot override tried",
    );
    await proc.kill();
    assert.deepEqual(on(bmc), [], "killed mid-launch: seed inserted, machine still off");
    assert.ok(inserted());
    bmc.faults.clear();
    cluster.world.scale("cut", 0);
    proc = await startRunProcess(cluster, dir, [], config);
    try {
      const violations: string[] = [];
      const check = () => {
        for (const s of on(bmc)) {
          const claim = /\/proxscale-seed\/rack\/([^/]+)\//.exec(s.media.image)?.[1];
          if (claim === undefined || !claims(cluster).includes(claim)) {
            violations.push(`${s.id} on with media ${s.media.image} and no claim`);
          }
        }
      };
      // Settles: the resumed or orphaned launch ends with every machine off and ejected.
      const end = Date.now() + 60_000;
      while (Date.now() < end) {
        check();
        if (on(bmc).length === 0 && !inserted() && claims(cluster).length === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(on(bmc).map((s) => s.id), [], "no machine left on");
      assert.equal(inserted(), false, "no seed media left inserted");
      assert.deepEqual(violations.slice(0, 3), [], "never on without a claim");
    } finally {
      await proc.stop();
    }
  });
});
