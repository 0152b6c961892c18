/**
 * Memory probe: the daemon's resident set while it watches a fake API server holding 1,000
 * nodes and 30,000 pods. The parent process starts the fake (in its own heap) and fills it;
 * a child process runs only what the daemon runs: the informers, the loop (snapshot, reconcile,
 * executor in paused mode so nothing is written) for a few passes, then prints its RSS. The
 * child runs with the V8 flags `deno task compile` bakes into the shipped binary (deno.json),
 * loads every module `proxscale run` loads at start, and no fake-server code (the parent
 * imports that lazily).
 *
 *   npx -y deno@2.9.6 run -A harness/memory_probe.ts [--nodes 1000] [--pods 30000]
 *
 * May import: adapters/, daemon/, cli/run.ts (loaded as `proxscale run` loads it),
 * fakes/fake_kube/ (the parent only, lazily). The probe is a tool, not the daemon.
 */
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { createClusterInformers } from "../adapters/kubernetes/cluster_informers.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { demoConfig } from "./demo_config.ts";
import type { DaemonContext, JobData } from "../daemon/context.ts";
import { Executor } from "../daemon/executor.ts";
import { ReconcileLoop } from "../daemon/loop.ts";

const V8_EXTRA = Deno.env.get("PROBE_V8") ?? "";

/** The `--v8-flags=` of deno.json's compile task: what the shipped daemon runs with. */
async function shippedV8Flags(): Promise<string> {
  const deno = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const m = /--v8-flags=([^'" ]+)/.exec(String(deno.tasks?.compile ?? ""));
  return m ? `,${m[1]}` : "";
}
const arg = (name: string, d: number) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : d;
};

async function child(kubeconfigPath: string): Promise<void> {
  // Everything `proxscale run` loads at start (config schema, metrics, HTTP, PVE client), so the
  // figure is the daemon's, not only the informers'.
  await import("../cli/run.ts");
  const client = KubeClient.fromKubeconfig(await Deno.readTextFile(kubeconfigPath));
  const informers = createClusterInformers(client);
  informers.start();
  await informers.synced();
  (globalThis as { gc?: () => void }).gc?.();
  const syncedRss = Deno.memoryUsage().rss;
  const queue = new MemoryJobQueue<JobData>();
  const config = demoConfig({
    url: "https://127.0.0.1:1",
    tokenId: "x@pve!y",
    fingerprint: "",
    hosts: ["pve1"],
  });
  const ctx: DaemonContext = {
    kube: client,
    informers,
    providers: new Map(),
    config: () => config,
    queue,
    clock: { now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    report: () => {},
    hook: () => Promise.resolve(),
    pollInterval: 1000,
  };
  let passes = 0;
  const done = Promise.withResolvers<void>();
  const loop = new ReconcileLoop(ctx, new Executor(ctx), {
    tickMs: 200,
    isLeader: () => true,
    paused: () => true,
    onPass: () => {
      if (++passes === 5) done.resolve();
    },
    onError: (m) => console.error(m),
  });
  loop.start();
  await done.promise;
  await loop.stop();
  (globalThis as { gc?: () => void }).gc?.();
  const rss = Deno.memoryUsage().rss;
  console.log(JSON.stringify({
    rssBytes: rss,
    syncedRssBytes: syncedRss,
    heapUsed: Deno.memoryUsage().heapUsed,
    pods: informers.pods.list().length,
    nodes: informers.nodes.list().length,
    passes,
  }));
  await informers.stop();
  await queue.close();
}

async function parent(): Promise<void> {
  const nodes = arg("--nodes", 1000);
  const pods = arg("--pods", 30_000);
  const { startFakeKube } = await import("../fakes/fake_kube/server.ts");
  const kube = await startFakeKube({ seed: 1, tls: false, historyLimit: 100 });
  try {
    for (const k of KINDS) {
      kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k));
    }
    for (let i = 0; i < nodes; i++) {
      const name = `node-${i}`;
      kube.store.create("nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name,
          labels: { "kubernetes.io/hostname": name, "proxscale.io/nodepool": "general" },
        },
        spec: { providerID: `proxmox://demo/${1000 + i}` },
        status: { allocatable: { cpu: "8", memory: "32Gi", pods: "110" } },
      });
    }
    for (let i = 0; i < pods; i++) {
      kube.store.create("pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `app-${i}`,
          namespace: "default",
          labels: { app: `app-${i % 50}` },
          ownerReferences: [{
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: `rs-${i % 50}`,
            uid: `u${i % 50}`,
            controller: true,
          }],
        },
        spec: {
          nodeName: `node-${i % nodes}`,
          containers: [{
            name: "c",
            image: "app:1",
            resources: { requests: { cpu: "100m", memory: "128Mi" } },
          }],
        },
      }, { namespace: "default" });
    }
    const file = await Deno.makeTempFile({ suffix: ".kubeconfig" });
    await Deno.writeTextFile(file, kube.kubeconfig());
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--v8-flags=--expose-gc${await shippedV8Flags()}${V8_EXTRA}`,
        new URL(import.meta.url).pathname,
        "--child",
        file,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    await Deno.remove(file);
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "{}";
    const r = JSON.parse(line) as {
      rssBytes: number;
      syncedRssBytes: number;
      heapUsed: number;
      pods: number;
      nodes: number;
      passes: number;
    };
    const mb = r.rssBytes / 2 ** 20;
    console.log(
      `daemon watching ${r.nodes} nodes and ${r.pods} pods, ${r.passes} passes: ` +
        `RSS ${mb.toFixed(0)} MB (limit 150 MB) ${mb < 150 ? "OK" : "OVER"}; ` +
        `after the first list ${(r.syncedRssBytes / 2 ** 20).toFixed(0)} MB, ` +
        `JS heap in use ${(r.heapUsed / 2 ** 20).toFixed(0)} MB`,
    );
  } finally {
    await kube.close();
  }
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--child");
  if (i >= 0) await child(Deno.args[i + 1]!);
  else await parent();
}
