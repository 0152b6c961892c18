/**
 * Memory probe: the daemon's resident set while it manages N NodeClaims with their VMs and
 * Nodes and watches M pods (default 1,000 and 30,000). The parent process starts a fake API
 * server and a fake PVE (in its own heap) and fills them with the managed inventory
 * (harness/memory_probe_inventory.ts); a child process runs the daemon as `proxscale run` does
 * (every module `run` loads at start, `startDaemon` with its informers, worker and loop, a real
 * ProxmoxProvider connected with `connectPveClient`, in maintenance mode so nothing is written)
 * for a few passes, each listing the VMs and reading the hosts' inventory from PVE, then prints
 * its RSS and what the last pass saw. The child runs with the V8 flags `deno task compile`
 * bakes into the shipped binary (deno.json), with the front door as `proxscale run` starts it
 * (its worker thread serves the HTTP port and holds the Lease: a second V8 isolate in the same
 * resident set), and without fake-server code (the parent imports that lazily).
 *
 *   npx -y deno@2.9.6 run -A harness/memory_probe.ts [--nodes 1000] [--pods 30000] [--json]
 *   npx -y deno@2.9.6 run -A harness/memory_probe.ts --process [...]   # the real `run` process
 *
 * PROBE_V8=,--flag adds V8 flags to the child's (to measure a candidate flag); PROBE_PASSES sets
 * the passes (default 5); PROBE_TICK_MS the timer period between passes (default 200; the daemon's
 * own default is 5000); PROBE_DEBUG=1 prints the child's memory after each pass (=smaps copies
 * its /proc smaps to /tmp/probe_smaps.txt, =heap writes heap snapshots of the main isolate to
 * /tmp, =malloc prints glibc's arena statistics). PROBE_FRONT_DOOR=off runs without the front
 * door: not the shipped daemon, only to split the resident set per isolate.
 *
 * May import: core/, adapters/, daemon/, cli/run.ts (loaded as `proxscale run` loads it),
 * harness/, fakes/fake_kube/ and fakes/fake_pve/ (the parent only, lazily). The probe is a tool,
 * not the daemon.
 */
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { connectPveClient } from "../adapters/proxmox/client.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import type { MachineProvider } from "../daemon/ports/provider.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { createTracing } from "../adapters/telemetry/tracing.ts";
import { tracePveClient } from "../adapters/telemetry/traced_clients.ts";
import { createMetrics } from "../adapters/telemetry/metrics.ts";
import type { JobData } from "../daemon/context.ts";
import { startDaemon } from "../daemon/daemon.ts";
import { startFrontDoor } from "../daemon/front_door.ts";
import type { Config } from "../core/model.ts";
import { shippedV8Flags } from "./shipped_flags.ts";

const V8_EXTRA = Deno.env.get("PROBE_V8") ?? "";
/** Reconcile passes the child runs before it reads its RSS (PROBE_PASSES overrides). */
const PASSES = Number(Deno.env.get("PROBE_PASSES") ?? 5);

/** What the child prints: its memory and what its last pass saw. */
export type ProbeResult = {
  rssBytes: number;
  syncedRssBytes: number;
  heapUsed: number;
  /** V8 heap committed after the passes (the rest of the RSS is code, native and malloc). */
  heapTotal: number;
  passes: number;
  /** Counts in the last pass's snapshot (what the core decided on). */
  seen: { pods: number; nodes: number; nodeClaims: number; vms: number; hosts: number };
  /** Claims whose VM the provider listed and whose Node the informer holds. */
  matched: number;
  /**
   * Actions the last pass planned, by kind (none carried out: maintenance mode). An inventory
   * as the daemon leaves it plans no lifecycle step (registration, initialization, ...).
   */
  planned: Record<string, number>;
  /** Median time of each pass phase (observe: PVE and caches; decide: the core), in ms. */
  phaseMs: Record<string, number>;
  /**
   * The front door as `proxscale run` has it (HTTP port and Lease on a worker thread): whether
   * it ran, and whether its worker held the Lease for the daemon when the RSS was read.
   */
  frontDoor: { running: boolean; leader: boolean };
  /** The `--v8-flags` the child ran with (the shipped ones, plus PROBE_V8 and --expose-gc). */
  v8Flags: string;
};

const arg = (args: string[], name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};

async function child(kubeconfigPath: string, configPath: string): Promise<void> {
  // Everything `proxscale run` loads at start (config schema, metrics, HTTP, PVE client), so the
  // figure is the daemon's, not only the informers'.
  await import("../cli/run.ts");
  // The configuration as plain data (what `run` gets from its file or CRDs after validation).
  const config = JSON.parse(await Deno.readTextFile(configPath)) as Config;
  const metrics = createMetrics();
  const tracing = createTracing();
  const providers = new Map<string, MachineProvider>();
  for (const p of config.providers) {
    const c = await connectPveClient(p, { observe: (e) => metrics.observePveCall(e) });
    if (!c.ok) throw new Error(c.error.message);
    providers.set(
      p.name,
      new ProxmoxProvider({ client: tracePveClient(c.value, tracing), provider: p }),
    );
  }
  const kube = kubeClientFromKubeconfig(await Deno.readTextFile(kubeconfigPath));
  const queue = new MemoryJobQueue<JobData>();
  let passes = 0;
  let last: Pick<ProbeResult, "seen" | "matched" | "planned"> | undefined;
  const phases = new Map<string, number[]>();
  const done = Promise.withResolvers<void>();
  // The front door as `proxscale run` has it: the HTTP port and the Lease on their own thread
  // (a second V8 isolate, part of the daemon's resident set).
  const door = Deno.env.get("PROBE_FRONT_DOOR") === "off" ? undefined : await startFrontDoor({
    http: { hostname: "127.0.0.1", port: 0 },
    handler: () => Promise.resolve(new Response("")),
    lease: { kc: kube.kc, namespace: "default", name: "memory-probe", identity: "probe" },
  });
  if (door && !door.ok) throw new Error(door.error.message);
  const daemon = await startDaemon({
    config,
    kube,
    providers,
    queue,
    tracing,
    ...(door?.ok ? { elector: door.value.elector } : {}),
    paused: true,
    tickMs: Number(Deno.env.get("PROBE_TICK_MS") ?? 200),
    onError: (m) => console.error(m),
    onPhase: (name, ms) => phases.set(name, [...phases.get(name) ?? [], ms]),
    onPass: (plan, _acted, snap) => {
      const vms = new Set(snap.vms.map((v) => v.claim));
      const nodes = new Set(snap.nodes.map((n) => n.providerID));
      last = {
        seen: {
          pods: snap.pods.length,
          nodes: snap.nodes.length,
          nodeClaims: snap.nodeClaims.length,
          vms: snap.vms.length,
          hosts: snap.hosts.length,
        },
        matched: snap.nodeClaims.filter((c) => vms.has(c.name) && nodes.has(c.providerID)).length,
        planned: {},
      };
      for (const a of plan.actions) last.planned[a.kind] = (last.planned[a.kind] ?? 0) + 1;
      if (Deno.env.get("PROBE_DEBUG")) console.error(JSON.stringify(Deno.memoryUsage()));
      if (++passes === PASSES) done.resolve();
    },
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const syncedRss = Deno.memoryUsage().rss;
  if (Deno.env.get("PROBE_DEBUG")) console.error("synced", JSON.stringify(Deno.memoryUsage()));
  if (Deno.env.get("PROBE_DEBUG") === "heap") {
    const v8 = await import("node:v8");
    console.error("heap snapshot", v8.writeHeapSnapshot("/tmp/probe_synced.heapsnapshot"));
  }
  await done.promise;
  gc?.();
  const rss = Deno.memoryUsage().rss;
  const out: ProbeResult = {
    rssBytes: rss,
    syncedRssBytes: syncedRss,
    heapUsed: Deno.memoryUsage().heapUsed,
    heapTotal: Deno.memoryUsage().heapTotal,
    passes,
    ...last!,
    frontDoor: {
      running: door !== undefined,
      leader: door?.ok === true && door.value.elector.isLeader(),
    },
    v8Flags: "",
    phaseMs: Object.fromEntries(
      [...phases].map((
        [k, v],
      ) => [k, Math.round(v.sort((a: number, b: number) => a - b)[v.length >> 1]!)]),
    ),
  };
  if (Deno.env.get("PROBE_DEBUG")) {
    const st = await Deno.readTextFile("/proc/self/status");
    console.error(st.split("\n").filter((l) => /^(Rss|VmRSS|Threads)/.test(l)).join(" | "));
    if (Deno.env.get("PROBE_DEBUG") === "malloc") {
      const libc = Deno.dlopen("libc.so.6", {
        malloc_stats: { parameters: [], result: "void" },
        malloc_trim: { parameters: ["usize"], result: "i32" },
      });
      libc.symbols.malloc_stats();
      libc.symbols.malloc_trim(0n);
      const st2 = await Deno.readTextFile("/proc/self/status");
      console.error(
        "after malloc_trim",
        st2.split("\n").filter((l) => /^(VmRSS|RssAnon)/.test(l)).join(" | "),
      );
    }
    if (Deno.env.get("PROBE_DEBUG") === "heap") {
      const v8 = await import("node:v8");
      console.error("heap snapshot", v8.writeHeapSnapshot("/tmp/probe.heapsnapshot"));
    }
    if (Deno.env.get("PROBE_DEBUG") === "smaps") {
      await Deno.copyFile("/proc/self/smaps", "/tmp/probe_smaps.txt");
    }
    console.error(JSON.stringify(Deno.memoryUsage()));
  }
  console.log(JSON.stringify(out));
  await daemon.stop();
  if (door?.ok) await door.value.close();
  await queue.close();
}

/**
 * Fills the fakes with `nodes` managed nodes and `pods` pods, runs the child with the shipped
 * V8 flags (plus `extraV8`) and returns what it printed.
 */
export async function runMemoryProbe(
  nodes: number,
  pods: number,
  extraV8 = V8_EXTRA,
): Promise<ProbeResult> {
  const { startProbeFakes } = await import("./memory_probe_fakes.ts");
  const { probeConfig } = await import("./memory_probe_inventory.ts");
  const fakes = await startProbeFakes(nodes, pods);
  const { kube, pve } = fakes;
  const file = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  const configFile = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const config = probeConfig({
      url: pve.url,
      tokenId: pve.tokenId,
      fingerprint: pve.fingerprint,
      nodes,
    });
    fakes.fill(config);
    await Deno.writeTextFile(file, kube.kubeconfig());
    await Deno.writeTextFile(configFile, JSON.stringify(config));
    const shipped = await shippedV8Flags();
    const v8Flags = `--expose-gc${shipped ? `,${shipped}` : ""}${extraV8}`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--v8-flags=${v8Flags}`,
        new URL(import.meta.url).pathname,
        "--child",
        file,
        configFile,
      ],
      env: { PROXSCALE_DEMO_TOKEN: pve.tokenSecret },
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "{}";
    if (!out.success) throw new Error(`the probe's child failed: ${line}`);
    return { ...JSON.parse(line) as ProbeResult, v8Flags };
  } finally {
    await Deno.remove(file).catch(() => {});
    await Deno.remove(configFile).catch(() => {});
    await fakes.close();
  }
}

async function main(args: string[]): Promise<void> {
  const nodes = arg(args, "--nodes", 1000);
  const pods = arg(args, "--pods", 30_000);
  if (args.includes("--process")) {
    const { runProcessProbe } = await import("./memory_probe_process.ts");
    const p = await runProcessProbe(nodes, pods, PASSES);
    if (args.includes("--json")) {
      console.log(JSON.stringify(p));
      return;
    }
    const mib = (b: number) => (b / 2 ** 20).toFixed(0);
    console.log(
      `proxscale run process (${nodes} NodeClaims, ${pods} pods, ${p.passes} passes, ` +
        `leader ${p.leader}, ${p.nodes} nodes counted): RSS ${mib(p.rssBytes)} MB ` +
        `(anonymous ${mib(p.rssAnonBytes)}, file ${mib(p.rssFileBytes)}) (limit 120 MB at ` +
        `1,000/30,000) ${p.rssBytes > 120 * 2 ** 20 ? "OVER" : "OK"}`,
    );
    return;
  }
  const r = await runMemoryProbe(nodes, pods);
  if (!r.frontDoor.running) console.error("PROBE_FRONT_DOOR=off: not the shipped daemon");
  if (args.includes("--json")) {
    console.log(JSON.stringify(r));
    return;
  }
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  const over = r.rssBytes > 120 * 2 ** 20;
  console.log(
    `daemon managing ${r.seen.nodeClaims} NodeClaims (${r.matched} with their VM and Node; ` +
      `${r.seen.vms} VMs on ${r.seen.hosts} hosts, ${r.seen.nodes} nodes) and watching ` +
      `${r.seen.pods} pods, ${r.passes} passes: RSS ${mb(r.rssBytes)} MB (limit 120 MB at ` +
      `1,000/30,000) ${over ? "OVER" : "OK"}; after the first list ${mb(r.syncedRssBytes)} MB, ` +
      `JS heap in use ${mb(r.heapUsed)} MB of ${mb(r.heapTotal)} MB committed; median pass ` +
      `${r.phaseMs.total} ms (observe ${r.phaseMs.observe} ms, decide ${r.phaseMs.decide} ms)`,
  );
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--child");
  if (i >= 0) await child(Deno.args[i + 1]!, Deno.args[i + 2]!);
  else await main(Deno.args);
}
