/**
 * The composition root (daemon/composition.ts) in this process, against the in-process fake
 * cluster: it builds a daemon from a configuration loaded once, the daemon takes the Lease and
 * serves its HTTP port, and `stop()` hands the Lease over at once (another replica leads
 * without waiting out the lease duration). The queue's Redis comes from the same loaded
 * configuration, with the flags over it.
 */
import assert from "node:assert/strict";
import { parseConfigText } from "../adapters/config/load.ts";
import { configFromObjects } from "../adapters/config/crd_source.ts";
import { parseRunArgs, type RunSettings } from "../adapters/deploy/run_options.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { LeaderElector } from "../adapters/kubernetes/leader_elector.ts";
import { createLogger, memorySink } from "../adapters/telemetry/logger.ts";
import { preflight, queueRedis, startProxscale } from "../daemon/composition.ts";
import { startPlainCluster, until, yamlConfig } from "./testing/run_process.ts";

function settings(args: string[]): RunSettings {
  const r = parseRunArgs(args, () => undefined);
  assert.ok(r.ok && r.value !== "help", r.ok ? "help" : r.error);
  return r.value as RunSettings;
}

Deno.test("the composition root starts a leading daemon from a loaded configuration, and stop() hands the Lease over at once", async () => {
  const cluster = await startPlainCluster(23);
  const dir = await Deno.makeTempDir();
  Deno.env.set("PROXSCALE_PVE_TOKEN", cluster.pve.tokenSecret);
  const other = new LeaderElector({
    client: kubeClientFromKubeconfig(cluster.kube.kubeconfig()),
    namespace: "proxscale-system",
    name: "proxscale-leader",
    identity: "the-other-replica",
  });
  try {
    cluster.kube.store.create("namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "proxscale-system" },
    });
    const text = yamlConfig(cluster);
    await Deno.writeTextFile(`${dir}/config.yaml`, text);
    await Deno.writeTextFile(`${dir}/kubeconfig`, cluster.kube.kubeconfig());
    const s = settings([
      `--config=${dir}/config.yaml`,
      `--kubeconfig=${dir}/kubeconfig`,
      "--http-port=0",
    ]);
    const checked = await preflight(s);
    assert.ok(checked.ok, checked.ok ? "" : checked.error.cause);
    const config = parseConfigText(text, "config.yaml");
    assert.ok(config.ok);
    const sink = memorySink();
    const started = await startProxscale({
      settings: s,
      config: config.value,
      cluster: checked.value,
      env: { podName: "proxscale-under-test", inPod: false },
      logger: createLogger({ sink, auditSink: () => {} }),
    });
    assert.ok(started.ok, started.ok ? "" : started.error.cause);
    const running = started.value;
    assert.equal(running.identity, "proxscale-under-test", "the pod's name is the Lease identity");
    await until(() => running.daemon.isLeader(), 10_000, "the daemon to take the Lease");
    const health = await fetch(`http://127.0.0.1:${running.httpPort}/healthz`);
    await health.body?.cancel();
    assert.equal(health.status, 200, "the HTTP port serves /healthz");
    assert.ok(sink.lines.some((l) => l.includes("proxscale running")), sink.lines.join("\n"));

    other.start();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(other.isLeader(), false, "the Lease is held while the daemon runs");
    const stoppedAt = Date.now();
    await running.stop();
    assert.equal(running.daemon.isLeader(), false);
    // The Lease lasts 15 s: leading within 5 s means it was released, not left to expire.
    await until(() => other.isLeader(), 5_000, "the other replica to take the released Lease");
    assert.ok(Date.now() - stoppedAt < 15_000);
    const refused = await fetch(`http://127.0.0.1:${running.httpPort}/healthz`).then(
      async (r) => {
        await r.body?.cancel();
        return false;
      },
      () => true,
    );
    assert.ok(refused, "the HTTP port is closed after stop()");
  } finally {
    await other.stop();
    Deno.env.delete("PROXSCALE_PVE_TOKEN");
    await Deno.remove(dir, { recursive: true });
    await cluster.close();
  }
});

const BASE = `
providers:
  - name: lab
    spec:
      endpoint: https://pve.example:8006
      tokenId: "root@pam!proxscale"
      tokenSecret: { env: PVE_TOKEN }
      tls: { fingerprint: "${"AA:".repeat(31)}AA" }
      hosts: [{ name: pve1, zone: a }]
      vmidRange: { lower: 1000, upper: 1999 }
machineTemplates:
  - name: worker
    spec:
      provider: lab
      shapes: [{ cpu: 2, memory: 4Gi }]
      source: { clone: { templateVmid: 9000, full: false } }
      bootstrap: { mode: none }
nodePools:
  - name: general
    spec: { machineTemplate: worker }
`;

Deno.test("the queue's Redis comes from the loaded configuration, and --redis-url and --redis-password-file override it", () => {
  const plain = parseConfigText(BASE, "config.yaml");
  assert.ok(plain.ok);
  assert.equal(queueRedis(settings(["--crds"]), plain.value), undefined, "no Redis: memory");
  const withRedis = parseConfigText(
    BASE + "queue:\n  redis:\n    url: redis://redis.ops:6379\n    password: { env: RP }\n",
    "config.yaml",
  );
  assert.ok(withRedis.ok);
  assert.deepEqual(queueRedis(settings(["--config=c.yaml"]), withRedis.value), {
    url: "redis://redis.ops:6379",
    password: { env: "RP" },
  });
  assert.deepEqual(
    queueRedis(settings(["--config=c.yaml", "--redis-url=rediss://other:6380"]), withRedis.value),
    { url: "rediss://other:6380", password: { env: "RP" } },
    "the flag replaces the URL and keeps the configured password",
  );
  assert.deepEqual(
    queueRedis(
      settings([
        "--config=c.yaml",
        "--redis-url=rediss://other:6380",
        "--redis-password-file=/run/pw",
      ]),
      withRedis.value,
    ),
    { url: "rediss://other:6380", password: { file: "/run/pw" } },
  );
});

Deno.test("the settings ConfigMap's queue section is read with the rest of the configuration, and a bad one is a problem with its place", () => {
  const objects = (queue: string) => [
    {
      apiVersion: "proxscale.io/v1alpha1",
      kind: "Provider",
      metadata: { name: "lab" },
      spec: {
        endpoint: "https://pve.example:8006",
        tokenId: "root@pam!proxscale",
        tokenSecret: { env: "PVE_TOKEN" },
        tls: { fingerprint: `${"AA:".repeat(31)}AA` },
        hosts: [{ name: "pve1", zone: "a" }],
        vmidRange: { lower: 1000, upper: 1999 },
      },
    },
    {
      apiVersion: "proxscale.io/v1alpha1",
      kind: "MachineTemplate",
      metadata: { name: "worker" },
      spec: {
        provider: "lab",
        shapes: [{ cpu: 2, memory: "4Gi" }],
        source: { clone: { templateVmid: 9000, full: false } },
        bootstrap: { mode: "none" },
      },
    },
    {
      apiVersion: "proxscale.io/v1alpha1",
      kind: "NodePool",
      metadata: { name: "general" },
      spec: { machineTemplate: "worker" },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "proxscale-settings" },
      data: { "config.yaml": queue },
    },
  ];
  const good = configFromObjects(objects("queue:\n  redis:\n    url: redis://redis.ops:6379\n"));
  assert.ok(good.ok, good.ok ? "" : JSON.stringify(good.error));
  assert.deepEqual(queueRedis(settings(["--crds"]), good.value), {
    url: "redis://redis.ops:6379",
  });
  const bad = configFromObjects(objects("queue:\n  redis:\n    url: http://not-redis\n"));
  assert.ok(!bad.ok);
  assert.match(
    bad.error.map((p) => `${p.object}: ${p.path}: ${p.message}`).join("\n"),
    /ConfigMap\/proxscale-settings: queue\.redis\.url: .*redis:\/\//,
  );
});
