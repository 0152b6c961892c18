/**
 * A whole simulated cluster for the demo and the end-to-end tests: the fake PVE (TLS, pinned
 * fingerprint) and the fake API server (TLS) on 127.0.0.1 with the proxscale CRDs applied, the
 * world glue, and a factory for REAL daemon instances wired to them through the real adapters
 * over real sockets. A crash test starts a daemon, kills it at a named step, and starts a fresh
 * one against the same fakes (and, with Redis, the same queue).
 *
 * May import: core/, adapters/, daemon/, sim/, fakes/.
 */
import type { Config } from "../core/model.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { PveClient } from "../adapters/proxmox/client.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import type { MachineProvider } from "../daemon/ports/provider.ts";
import type { JobEvent, JobQueue } from "../daemon/ports/queue.ts";
import { type Daemon, startDaemon } from "../daemon/daemon.ts";
import type { Tracing } from "../adapters/telemetry/tracing.ts";
import type { PassObserver } from "../daemon/loop.ts";
import { tracePveClient } from "../adapters/telemetry/traced_clients.ts";
import type { CrashStep, DecisionReport, JobData } from "../daemon/context.ts";
import type { FakeKube, FakeKubeOptions } from "../fakes/fake_kube/server.ts";
import type { FakePve, FakePveOptions } from "../fakes/fake_pve/server.ts";
import type { PciSeed } from "../fakes/fake_pve/pci_inventory.ts";
import { startFakeCluster } from "../fakes/cluster/start.ts";
import type { Log } from "../adapters/kubernetes/log.ts";
import { DEMO_PVE_TIMING, demoConfig } from "./demo_config.ts";
import { haltable } from "./haltable.ts";
import { DemoWorld } from "../fakes/cluster/world.ts";
import type { RandomBytes } from "../core/bootstrap_token.ts";

/** Every point at which a crash test can kill a daemon. */
export type CrashPoint =
  | CrashStep
  | "after-vmid-reserve"
  | "after-clone"
  | "after-start"
  | "after-download";

/** PVE client calls after which the PVE crash points sit. */
const PVE_STEPS: Record<string, (args: unknown[]) => CrashPoint | undefined> = {
  nextid: () => "after-vmid-reserve",
  cloneVm: () => "after-clone",
  createVm: () => "after-clone",
  power: (args) => (args[2] === "start" ? "after-start" : undefined),
  // An image template's download-url (the task runs on in PVE while the daemon is dead).
  call: (args) => (/\/download-url$/.test(String(args[2])) ? "after-download" : undefined),
};

export type ClusterOptions = {
  seed?: number;
  /** Proxmox hosts pve1..pveN (default 3). */
  hosts?: number;
  bootDelayMs?: number;
  worldTickMs?: number;
  /** Changes to the demo configuration (shorter or longer windows). */
  tune?: (c: Config) => Config;
  /** Fake API server options, e.g. static bearer tokens of other users. */
  kube?: Pick<FakeKubeOptions, "users">;
  /** Boot only VMs whose seed carries an accepted join token (default true). */
  requireSeed?: boolean;
  /** What the fake kubelets keep back (default 100m cpu, 256Mi memory, as the demo template says). */
  kubeletReservation?: { cpuMillis: number; memoryBytes: number };
  /** The daemons' PVE circuit breaker (default the client's: 5 failures, 15 s open). */
  pveBreaker?: { failureThreshold: number; cooldownMs: number };
  /** Fake PVE options, e.g. a known token secret (secret-leak test). */
  pve?: Pick<FakePveOptions, "tokenSecret" | "tokens"> & {
    /** PCI devices and mappings of the fake PVE's hosts (GPUs; see `gpuSeed`). */
    pci?: PciSeed;
  };
};

export type DaemonHandle = {
  daemon: Daemon;
  /** Resolves with the crash point once the daemon was killed there. */
  crashed: Promise<CrashPoint>;
  /** Stops gracefully (or does nothing after a crash). */
  stop(): Promise<void>;
};

export type DaemonSpawnOptions = {
  queue: JobQueue<JobData>;
  /** Spans of this daemon and its PVE calls (tests pass one over an in-memory exporter). */
  tracing?: Tracing;
  /** Kill the daemon the first time it reaches this point. */
  crashAt?: CrashPoint;
  report?: (d: DecisionReport) => void;
  /** Called after each pass with its plan (a test reads why pods were left without a VM). */
  onPass?: PassObserver;
  /** What this daemon's queue worker does with each job. */
  onJobEvent?: (e: JobEvent) => void;
  identity?: string;
  tickMs?: number;
  /** Configuration for this instance (default: the cluster's). */
  config?: Config;
  /** Token the daemon's Kubernetes clients send instead of the admin's (a ServiceAccount). */
  kubeToken?: string;
  log?: Log;
  onError?: (message: string) => void;
  /** Join-token random source (a known token for secret-hygiene tests). */
  random?: RandomBytes;
  /** Providers to use instead of ones over the cluster's client (provider hot reload tests). */
  providers?: Map<string, MachineProvider>;
  /** How often the demand history is stored / read back (ms; daemon default 60 s). */
  demandPersistMs?: number;
};

/** The running cluster. */
export type DemoCluster = {
  pve: FakePve;
  kube: FakeKube;
  config: Config;
  world: DemoWorld;
  spawn(o: DaemonSpawnOptions): Promise<DaemonHandle>;
  close(): Promise<void>;
};

/** Starts both fakes, applies the CRDs and starts the world (no daemon yet). */
export async function startDemoCluster(o: ClusterOptions = {}): Promise<DemoCluster> {
  const seed = o.seed ?? 42;
  const requireSeed = o.requireSeed ?? true;
  // Evicted pods finish terminating in a fiftieth of their grace period (0.6 s of 30 s); kubelets
  // renew every 500 ms and a silent one is NotReady after 2 s, so scenarios run in seconds.
  const cluster = await startFakeCluster({
    hosts: o.hosts ?? 3,
    seed,
    provider: "demo",
    bootDelayMs: o.bootDelayMs ?? 400,
    requireSeed,
    renewIntervalMs: 500,
    nodeMonitorGracePeriodMs: 2_000,
    ...(o.kubeletReservation ? { kubeletReservation: o.kubeletReservation } : {}),
    pve: {
      ...(o.pve?.tokenSecret !== undefined ? { tokenSecret: o.pve.tokenSecret } : {}),
      ...(o.pve?.tokens !== undefined ? { tokens: o.pve.tokens } : {}),
      model: { timing: DEMO_PVE_TIMING, ...(o.pve?.pci ? { pci: o.pve.pci } : {}) },
    },
    kube: { podGcOnNodeDelete: true, gracefulDeletion: { scale: 0.02 }, ...o.kube },
  });
  const { pve, kube } = cluster;
  for (const k of KINDS) {
    const r = kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k));
    if (!r.ok) throw new Error(`CRD ${k.kind} could not be applied: ${r.error.message}`);
  }
  const hosts = pve.model.nodes().map((n) => String(n.node)).sort();
  const base = demoConfig({
    url: pve.url,
    tokenId: pve.tokenId,
    fingerprint: pve.fingerprint,
    hosts,
  });
  const config = o.tune ? o.tune(base) : base;
  const world = new DemoWorld({
    pve,
    kube,
    vmidRange: config.providers[0]!.vmidRange,
    tickMs: o.worldTickMs ?? 100,
    kubelets: cluster.kubelets,
  });
  world.start();
  const handles: DaemonHandle[] = [];
  const pveClients: PveClient[] = [];

  const spawn = async (s: DaemonSpawnOptions): Promise<DaemonHandle> => {
    let dead = false;
    const ref: { daemon?: Daemon } = {};
    let crashedResolve: (p: CrashPoint) => void = () => {};
    const crashed = new Promise<CrashPoint>((r) => (crashedResolve = r));
    const crash = (point: CrashPoint): Promise<void> => {
      if (dead || s.crashAt !== point) return Promise.resolve();
      dead = true;
      // The kill runs beside the halted call; the caller never continues.
      queueMicrotask(async () => {
        await ref.daemon?.kill();
        crashedResolve(point);
      });
      return new Promise<never>(() => {});
    };
    const rawPve = new PveClient({
      endpoint: pve.url,
      tokenId: pve.tokenId,
      tokenSecret: pve.tokenSecret,
      tls: { fingerprint: pve.fingerprint },
      timeoutMs: 5_000,
      retry: { attempts: 4, baseMs: 20, maxMs: 200 },
      task: { pollMinMs: 20, pollMaxMs: 60, deadlineMs: 20_000 },
      ...(o.pveBreaker ? { breaker: o.pveBreaker } : {}),
    });
    pveClients.push(rawPve);
    const halting = haltable(rawPve, () => dead, async (method, args) => {
      const point = PVE_STEPS[method]?.(args);
      if (point) await crash(point);
    });
    const pveClient = s.tracing ? tracePveClient(halting, s.tracing) : halting;
    const providers = new Map<string, MachineProvider>();
    for (const p of (s.config ?? config).providers) {
      providers.set(
        p.name,
        new ProxmoxProvider({
          client: pveClient,
          provider: p,
          seed: seed + handles.length,
          timings: { poll: 20, retryBase: 20, ambiguousGrace: 300 },
        }),
      );
    }
    const kubeconfig = s.kubeToken
      ? kube.kubeconfig().replace(kube.token, s.kubeToken)
      : kube.kubeconfig();
    const writeKube = haltable(kubeClientFromKubeconfig(kubeconfig), () => dead, undefined, [
      "core",
      "custom",
      "coordination",
    ]);
    const daemon = ref.daemon = await startDaemon({
      config: s.config ?? config,
      kube: writeKube,
      watchKube: kubeClientFromKubeconfig(kubeconfig),
      providers: s.providers ?? providers,
      queue: s.queue,
      ...(s.tracing ? { tracing: s.tracing } : {}),
      leaderElection: {
        namespace: "default",
        name: "proxscale",
        identity: s.identity ?? `proxscale-${handles.length + 1}`,
        config: { leaseDuration: 2_000, renewDeadline: 1_500, retryPeriod: 300, jitterFactor: 1.2 },
      },
      tickMs: s.tickMs ?? 1_000,
      pollInterval: 200,
      ...(s.demandPersistMs !== undefined ? { demandPersistMs: s.demandPersistMs } : {}),
      ...(s.report ? { report: s.report } : {}),
      ...(s.onPass ? { onPass: s.onPass } : {}),
      ...(s.onJobEvent ? { onJobEvent: s.onJobEvent } : {}),
      ...(s.log ? { log: s.log } : {}),
      ...(s.onError ? { onError: s.onError } : {}),
      hook: (step) => crash(step),
      bootstrap: {
        namespace: "default",
        ...(s.random ? { random: s.random } : {}),
        ...(kube.caPem ? { caPem: kube.caPem } : {}),
      },
    });
    const handle: DaemonHandle = {
      daemon,
      crashed,
      stop: async () => {
        if (!dead) {
          // At the end of a scenario nothing is waited for: abandon, then go quiet.
          await daemon.kill();
          dead = true;
        }
      },
    };
    handles.push(handle);
    return handle;
  };

  return {
    pve,
    kube,
    config,
    world,
    spawn,
    close: async () => {
      world.stop();
      for (const h of handles) await h.stop();
      for (const c of pveClients) c.close();
      await cluster.close();
    },
  };
}
