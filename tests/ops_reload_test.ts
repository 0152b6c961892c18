/**
 * Hot reload (daemon/config_reload.ts): a changed YAML file and changed CRDs (through the real
 * ConfigWatcher against the fake API server) apply without restart; an invalid change is
 * rejected with its validation error (file:line:column, or the object at fault), the old
 * configuration stays, and a Warning Event (ConfigInvalid) and an error log line say so. With
 * the real daemon: raising a NodePool's node limit at run time lets the pending pods get VMs.
 */
import assert from "node:assert/strict";
import type { Config } from "../core/model.ts";
import { GiB } from "../core/quantity.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { EventRecorder } from "../adapters/kubernetes/events.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { createLogger, memorySink } from "../adapters/telemetry/logger.ts";
import { migrateText } from "../cli/migrate.ts";
import { parseConfigText } from "../adapters/config/load.ts";
import { ConfigReloader, watchConfigCrds, watchConfigFile } from "../daemon/config_reload.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { err, ok } from "../core/result.ts";
import { connectPveClient } from "../adapters/proxmox/client.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import { ProviderConnections } from "../daemon/provider_connections.ts";

const NS = "proxscale-system";

async function eventually(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const yaml = (nodes: number, minNodes = 0) =>
  `apiVersion: proxscale.io/v1alpha1
providers:
  - name: lab
    spec:
      endpoint: https://pve.example:8006
      tokenId: proxscale@pve!autoscaler
      tokenSecret: { env: PROXSCALE_PVE_TOKEN }
      hosts: [{ name: pve1, zone: a }]
      vmidRange: { lower: 2000, upper: 2099 }
machineTemplates:
  - name: worker
    spec:
      provider: lab
      shapes: [{ cpu: 2, memory: 4Gi }]
      source: { clone: { templateVmid: 9000, full: false } }
nodePools:
  - name: general
    spec:
      machineTemplate: worker
      minNodes: ${minNodes}
      limits: { nodes: ${nodes} }
`;

function events(kube: Awaited<ReturnType<typeof startFakeKube>>, ns: string) {
  const r = kube.store.list("events", { namespace: ns });
  return r.ok
    ? r.value.items as unknown as {
      reason: string;
      type: string;
      message: string;
      involvedObject: { kind: string; name: string };
    }[]
    : [];
}

Deno.test("file reload: a valid change applies, an invalid one is rejected with file:line:col", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-reload-" });
  const file = `${dir}/config.yaml`;
  const kube = await startFakeKube({ seed: 1 });
  const sink = memorySink();
  const logger = createLogger({ sink });
  try {
    assert.ok(kube.store.create("namespaces", { metadata: { name: NS } } as never, {}).ok);
    await Deno.writeTextFile(file, yaml(5));
    const first = parseConfigText(yaml(5), file);
    assert.ok(first.ok);
    const applied: Config[] = [];
    const subject = { apiVersion: "v1", kind: "Pod", name: "proxscale-0", namespace: NS };
    const reloader = new ConfigReloader(first.value, file, {
      apply: (c) => applied.push(c),
      log: logger,
      events: new EventRecorder(kubeClientFromKubeconfig(kube.kubeconfig())),
      subject,
    });
    const watch = watchConfigFile(file, reloader, { intervalMs: 60_000 });
    try {
      await watch.check();
      assert.equal(applied.length, 0, "the file the daemon started with is not applied again");

      await Deno.writeTextFile(file, yaml(7));
      await watch.check();
      assert.equal(applied.length, 1);
      assert.equal(applied[0]!.nodePools[0]!.limits.nodes, 7);
      assert.equal(reloader.state().generation, 2);
      assert.ok(sink.records().some((r) => r.msg === "configuration reloaded"));

      // minNodes above the node limit: schema-valid YAML, rejected by the cross-checks.
      await Deno.writeTextFile(file, yaml(7, 9));
      await watch.check();
      assert.equal(applied.length, 1, "the invalid config is not applied");
      assert.equal(reloader.current().nodePools[0]!.limits.nodes, 7, "the old one stays");
      const rejected = reloader.state().rejected;
      assert.ok(rejected);
      assert.match(rejected.problems[0]!, /config\.yaml:\d+:\d+: nodePools\[0\]\.spec/);
      const err = sink.records().find((r) => r.level === "error")!;
      assert.equal(err.msg, "configuration change rejected; keeping the last valid one");
      assert.equal(err.reason, "ConfigInvalid");
      const ev = events(kube, NS);
      assert.equal(ev.length, 1);
      assert.equal(ev[0]!.type, "Warning");
      assert.equal(ev[0]!.reason, "ConfigInvalid");
      assert.equal(ev[0]!.involvedObject.name, "proxscale-0");
      assert.match(
        ev[0]!.message,
        /rejected, the last valid one stays in use: .*config\.yaml:\d+:\d+/,
      );

      // Broken YAML syntax too.
      await Deno.writeTextFile(file, "providers: [\n");
      await watch.check();
      assert.equal(applied.length, 1);
      assert.match(reloader.state().rejected!.problems[0]!, /config\.yaml:\d+:\d+/);

      // YAML's traps: an alias without anchor, an alias bomb, a second document. Each is a
      // located rejection; before, the first two threw out of the watcher and killed the
      // daemon with an unhandled rejection.
      const traps: [string, RegExp][] = [
        ["providers: *nope\n", /config\.yaml:1:12: alias \*nope refers to no anchor/],
        [
          await Deno.readTextFile("tests/fixtures/bad_configs/alias_bomb.yaml"),
          /config\.yaml:5:38: aliases expand to more than 10000 values/,
        ],
        [
          yaml(4) + "---\nproviders: []\n",
          /config\.yaml:\d+:1: a second YAML document starts here/,
        ],
      ];
      for (const [text, says] of traps) {
        await Deno.writeTextFile(file, text);
        await watch.check();
        assert.equal(applied.length, 1, "a broken file is never applied");
        assert.match(reloader.state().rejected!.problems[0]!, says);
      }

      // Fixed: applied, rejection cleared.
      await Deno.writeTextFile(file, yaml(3));
      await watch.check();
      assert.equal(applied.length, 2);
      assert.equal(applied[1]!.nodePools[0]!.limits.nodes, 3);
      assert.equal(reloader.state().rejected, undefined);
    } finally {
      await watch.stop();
    }
  } finally {
    await kube.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CRD reload: a NodePool edit applies; an invalid one is rejected with an Event on it", async () => {
  const kube = await startFakeKube({ seed: 2 });
  const admin = kubeClientFromKubeconfig(kube.kubeconfig());
  const sink = memorySink();
  let watcher: Awaited<ReturnType<typeof watchConfigCrds>> | undefined;
  try {
    for (const k of KINDS) {
      assert.ok(
        kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k)).ok,
      );
    }
    assert.ok(kube.store.create("namespaces", { metadata: { name: NS } } as never, {}).ok);
    await eventually(
      "CRDs served",
      async () => (await admin.requestJson("GET", "/apis/proxscale.io/v1alpha1/nodepools")).ok,
    );
    const example = await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url));
    const m = migrateText(example, "config.example.yaml");
    assert.ok(m.ok);
    for (const o of m.value.manifests) {
      const path = o.kind === "ConfigMap"
        ? `/api/v1/namespaces/${NS}/configmaps`
        : `/apis/proxscale.io/v1alpha1/${o.kind.toLowerCase()}s`;
      assert.ok((await admin.requestJson("POST", path, { body: o })).ok, o.kind);
    }
    const initial = await loadConfigFromCluster(admin, NS);
    assert.ok(initial.ok);
    const limit0 = initial.value.nodePools.find((p) => p.name === "general")!.limits.nodes;
    const applied: Config[] = [];
    const reloader = new ConfigReloader(initial.value, "crds", {
      apply: (c) => applied.push(c),
      log: createLogger({ sink }),
      events: new EventRecorder(admin),
    });
    watcher = watchConfigCrds(admin, reloader, { namespace: NS, debounceMs: 20 });
    const patch = (spec: Record<string, unknown>) =>
      admin.requestJson("PATCH", "/apis/proxscale.io/v1alpha1/nodepools/general", {
        body: { spec },
        contentType: "application/merge-patch+json",
      });

    assert.ok((await patch({ limits: { nodes: (limit0 ?? 10) + 5 } })).ok);
    // The watch's first list may be applied before the edit arrives (it changes nothing).
    const edited = (c: Config) =>
      c.nodePools.find((p) => p.name === "general")?.limits.nodes === (limit0 ?? 10) + 5;
    await eventually("the edit is applied", () => applied.some(edited));
    const general = applied.find(edited)!.nodePools.find((p) => p.name === "general")!;
    assert.equal(general.limits.nodes, (limit0 ?? 10) + 5);

    // Points at a MachineTemplate that does not exist: the API server admits it, proxscale
    // must not use it.
    const n = applied.length;
    assert.ok((await patch({ machineTemplate: "no-such-template" })).ok);
    await eventually("the edit is rejected", () => reloader.state().rejected !== undefined);
    assert.equal(applied.length, n, "not applied");
    assert.equal(
      reloader.current().nodePools.find((p) => p.name === "general")!.machineTemplate,
      "worker",
    );
    assert.match(
      reloader.state().rejected!.problems.join("\n"),
      /NodePool\/general: .*no-such-template/,
    );
    await eventually(
      "a Warning Event on the NodePool",
      () =>
        events(kube, "default").some((e) =>
          e.reason === "ConfigInvalid" && e.involvedObject.kind === "NodePool" &&
          e.involvedObject.name === "general" && /no-such-template/.test(e.message)
        ),
    );
    assert.ok(sink.records().some((r) => r.level === "error" && r.reason === "ConfigInvalid"));
  } finally {
    await watcher?.stop();
    await kube.close();
  }
});

Deno.test("daemon: raising a pool's node limit at run time applies without restart", async () => {
  const cluster = await startDemoCluster({
    seed: 9,
    tune: (c) => ({ ...c, nodePools: c.nodePools.map((p) => ({ ...p, limits: { nodes: 1 } })) }),
  });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  try {
    const handle = await cluster.spawn({ queue, report: (d) => reports.push(d) });
    const reloader = new ConfigReloader(cluster.config, "test", {
      apply: (c) => handle.daemon.setConfig(c),
    });
    // Needs about 3 VMs of 4 vCPU; the limit allows one.
    cluster.world.deploy({ name: "web", replicas: 10, cpu: 1000, memory: 1 * GiB });
    await eventually("one VM, pods left pending", () =>
      cluster.world.liveVms().length === 1 &&
      [...cluster.world.pods.values()].some((p) => p.boundAt !== undefined) &&
      cluster.world.pendingPods() > 0, 20_000);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(cluster.world.liveVms().length, 1, "the limit holds");

    // An invalid change is rejected and changes nothing.
    await reloader.reject([{ text: "config.yaml:3:1: broken" }]);
    assert.equal(handle.daemon.ctx.config().nodePools[0]!.limits.nodes, 1);

    const raised: Config = {
      ...cluster.config,
      nodePools: cluster.config.nodePools.map((p) => ({ ...p, limits: { nodes: 20 } })),
    };
    assert.equal(reloader.accept(raised), "applied");
    await eventually(
      "all pods scheduled after the reload",
      () => cluster.world.pendingPods() === 0,
      20_000,
    );
    assert.ok(cluster.world.liveVms().length >= 2);
  } finally {
    await cluster.close();
    await queue.close();
  }
});

Deno.test("daemon: a Provider's rotated token applies to the next launch without restart", async () => {
  const rotated = { id: "root@pam!rotated", secret: "rotated-secret-0001" };
  const cluster = await startDemoCluster({ seed: 12, pve: { tokens: [rotated] } });
  const env: Record<string, string> = {
    PROXSCALE_DEMO_TOKEN: cluster.pve.tokenSecret,
    ROTATED_TOKEN: rotated.secret,
  };
  const conns = new ProviderConnections(async (p) => {
    const c = await connectPveClient(p, {
      getEnv: (name) => env[name],
      timeoutMs: 5_000,
      retry: { attempts: 4, baseMs: 20, maxMs: 200 },
      task: { pollMinMs: 20, pollMaxMs: 60, deadlineMs: 20_000 },
    });
    if (!c.ok) return err(c.error.message);
    return ok({
      provider: new ProxmoxProvider({
        client: c.value,
        provider: p,
        timings: { poll: 20, retryBase: 20, ambiguousGrace: 300 },
      }),
      close: () => c.value.close(),
    });
  });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  const sink = memorySink();
  try {
    assert.ok((await conns.start(cluster.config.providers)).ok);
    const handle = await cluster.spawn({
      queue,
      providers: conns.providers,
      report: (d) => reports.push(d),
    });
    const reloader = new ConfigReloader(cluster.config, "test", {
      apply: (c) => handle.daemon.setConfig(c),
      reconnect: (p) => conns.update(p),
      log: createLogger({ sink }),
    });
    // Before the reload every call is made with the original token.
    await eventually("the daemon lists VMs", () => cluster.pve.requests.length > 0);
    assert.ok(cluster.pve.requests.every((r) => r.identity === cluster.pve.tokenId));

    const changed: Config = {
      ...cluster.config,
      providers: cluster.config.providers.map((p) => ({
        ...p,
        tokenId: rotated.id,
        tokenSecret: { env: "ROTATED_TOKEN" },
      })),
    };
    assert.equal(reloader.accept(changed), "applied");
    await reloader.settled();
    assert.equal(handle.daemon.ctx.config().providers[0]!.tokenId, rotated.id);
    const mark = cluster.pve.requests.length;

    cluster.world.deploy({ name: "web", replicas: 1, cpu: 500, memory: 1 * GiB });
    await eventually("a VM launched", () => reports.some((d) => d.what === "VmCreated"), 20_000);
    const clones = cluster.pve.requests.slice(mark).filter((r) =>
      r.method === "POST" && r.path.endsWith("/clone")
    );
    assert.ok(clones.length >= 1, "the launch cloned a VM");
    assert.ok(
      clones.every((r) => r.identity === rotated.id && r.status === 200),
      `clones made with ${clones.map((r) => `${r.identity} (${r.status})`).join(", ")}`,
    );
    assert.ok(sink.lines.some((l) => l.includes("provider connections rebuilt")));
    assert.ok(!sink.lines.some((l) => l.includes("restart to reconnect")));
  } finally {
    await cluster.close();
    await queue.close();
    await conns.close();
  }
});

Deno.test("file reload: a second write within the same mtime tick is still seen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-reload-tick-" });
  const file = `${dir}/config.yaml`;
  try {
    await Deno.writeTextFile(file, yaml(5));
    const first = parseConfigText(yaml(5), file);
    assert.ok(first.ok);
    const applied: Config[] = [];
    const reloader = new ConfigReloader(first.value, file, {
      apply: (c) => applied.push(c),
      log: createLogger({ sink: memorySink() }),
    });
    const watch = watchConfigFile(file, reloader, { intervalMs: 60_000 });
    try {
      await watch.check();
      const tick = new Date();
      await Deno.writeTextFile(file, yaml(7));
      await Deno.utime(file, tick, tick);
      await watch.check();
      assert.equal(applied.at(-1)!.nodePools[0]!.limits.nodes, 7);
      // Another edit that keeps the very same mtime (a coarse filesystem clock).
      await Deno.writeTextFile(file, yaml(9));
      await Deno.utime(file, tick, tick);
      await watch.check();
      assert.equal(applied.at(-1)!.nodePools[0]!.limits.nodes, 9, "the second write applied");
    } finally {
      await watch.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
