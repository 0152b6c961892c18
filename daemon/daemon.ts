/**
 * Wiring of one daemon instance: informers, lease, providers, queue worker, executor and loop,
 * over clients the caller made (the CLI from the configuration, tests and the demo against the
 * fakes). `stop()` is a graceful shutdown; `kill()` is what a crash test uses to drop the
 * instance dead at any point: timers cleared, running jobs abandoned (they stall in the queue),
 * nothing more written by this instance's loop.
 *
 * May import: core/, adapters/, daemon/.
 */
import { DemandRecorder } from "./demand_history.ts";
import { forecastConfigured } from "../core/forecast.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import type { Config } from "../core/model.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import {
  type ClusterInformers,
  createClusterInformers,
} from "../adapters/kubernetes/cluster_informers.ts";
import { EventRecorder } from "../adapters/kubernetes/events.ts";
import { LeaderElector } from "../adapters/kubernetes/leader_elector.ts";
import type { Log } from "../adapters/kubernetes/log.ts";
import type { LeaderConfig } from "../core/leader.ts";
import type { MachineProvider } from "./ports/provider.ts";
import { type JobEvent, jobFailed, type JobQueue, type JobWorker } from "./ports/queue.ts";
import { reason } from "../core/reason.ts";
import type { CrashStep, DaemonContext, DecisionReport, JobData } from "./context.ts";
import { Executor } from "./executor.ts";
import type { Elector } from "./front_door.ts";
import { type PassObserver, ReconcileLoop, type SlowPass } from "./loop.ts";
import { jobHandler } from "./workers.ts";
import { reportWithSubject } from "./report_subject.ts";
import { createTracing, type Tracing } from "../adapters/telemetry/tracing.ts";
import { traceKubeClient } from "../adapters/telemetry/traced_clients.ts";
import { LaunchGuard } from "./launch_guard.ts";

export type DaemonOptions = {
  config: Config;
  /** Client the daemon writes with. */
  kube: KubeClient;
  /** Client the informers and the lease use (default `kube`). */
  watchKube?: KubeClient;
  providers: ReadonlyMap<string, MachineProvider>;
  queue: JobQueue<JobData>;
  /** Lease to hold before acting; false acts at once (single replica, tests). */
  /**
   * An elector made elsewhere (the front door's, which renews the Lease on its own thread);
   * when given, `leaderElection` is not used.
   */
  elector?: Elector;
  leaderElection?: false | {
    namespace: string;
    name: string;
    identity: string;
    config?: LeaderConfig;
  };
  /** Start in maintenance mode. */
  paused?: boolean;
  /** Timer pass period (ms, default 5000). */
  tickMs?: number;
  /** Drain and replacement poll period (ms, default 1000). */
  pollInterval?: number;
  /** Jobs run at once (default 8). */
  concurrency?: number;
  /**
   * Spans of passes, actions, jobs and Kubernetes calls (default: the global tracer, a no-op
   * unless OTEL_DENO=true). Pass the same one to tracePveClient for the providers' PVE calls.
   */
  tracing?: Tracing;
  report?: (d: DecisionReport) => void;
  onPass?: PassObserver;
  /** How long each phase of a pass took (observe, decide, act, total). */
  onPhase?: (phase: string, ms: number) => void;
  /** A pass longer than its budget (daemon/loop.ts). */
  onSlowPass?: (p: SlowPass) => void;
  /** The pass's time budget (ms, default 1000). */
  passBudgetMs?: number;
  onJobEvent?: (e: JobEvent) => void;
  onError?: (message: string, source?: "provider" | "internal") => void;
  hook?: (step: CrashStep, detail: string) => Promise<void>;
  log?: Log;
  now?: () => number;
  /** Join-token random source and cluster CA for node bootstrap (daemon/bootstrap.ts). */
  bootstrap?: DaemonContext["bootstrap"];
  /** How often the leader stores the demand history and followers read it (ms, default 60 s). */
  demandPersistMs?: number;
  /** BMC power control for host power management (absent: hosts are never powered). */
  hostPower?: DaemonContext["hostPower"];
};

/** A running daemon. */
export type Daemon = {
  ctx: DaemonContext;
  loop: ReconcileLoop;
  informers: ClusterInformers;
  isLeader(): boolean;
  setPaused(paused: boolean): void;
  paused(): boolean;
  /** Replaces the configuration (hot reload); the next pass uses it. */
  setConfig(config: Config): void;
  stop(): Promise<void>;
  kill(): Promise<void>;
};

/** Starts informers, lease, worker and loop; returns once the caches have synced. */
export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const now = o.now ?? Date.now;
  let config = o.config;
  let paused = o.paused ?? false;
  let killed = false;
  const sleeps = new Set<ReturnType<typeof setTimeout>>();
  const watchKube = o.watchKube ?? o.kube;
  const tracing = o.tracing ?? createTracing();
  const kube = traceKubeClient(o.kube, tracing);
  const informers = createClusterInformers(watchKube, { ...(o.log ? { log: o.log } : {}), now });
  const ctx: DaemonContext = {
    kube,
    tracing,
    informers,
    providers: o.providers,
    config: () => config,
    queue: o.queue,
    clock: {
      now,
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          if (killed) return; // a dead daemon never wakes up
          const t = setTimeout(() => {
            sleeps.delete(t);
            resolve();
          }, ms);
          sleeps.add(t);
        }),
    },
    report: reportWithSubject(informers, o.report ?? (() => {})),
    hook: o.hook ?? (() => Promise.resolve()),
    events: new EventRecorder(kube, { now }),
    pollInterval: o.pollInterval ?? 1000,
    ...(o.bootstrap ? { bootstrap: o.bootstrap } : {}),
    ...(o.hostPower ? { hostPower: o.hostPower } : {}),
  };
  ctx.demand = new DemandRecorder(kube, o.bootstrap?.namespace ?? DEFAULT_NAMESPACE, {
    ...(o.demandPersistMs !== undefined ? { persistEveryMs: o.demandPersistMs } : {}),
    onError: (m) => o.onError?.(m, "internal"),
  });
  ctx.launchGuard = new LaunchGuard({
    config: () => config,
    now,
    kube,
    ...(ctx.events ? { events: ctx.events } : {}),
  });
  const executor = new Executor(ctx);
  const elector: Elector | undefined = o.elector ?? (o.leaderElection
    ? new LeaderElector({
      client: watchKube,
      namespace: o.leaderElection.namespace,
      name: o.leaderElection.name,
      identity: o.leaderElection.identity,
      ...(o.leaderElection.config ? { config: o.leaderElection.config } : {}),
      now,
      ...(o.log ? { log: o.log } : {}),
    })
    : undefined);
  const isLeader = () => elector?.isLeader() ?? true;
  const loop = new ReconcileLoop(ctx, executor, {
    tickMs: o.tickMs ?? 5000,
    isLeader,
    paused: () => paused,
    ...(o.onPass ? { onPass: o.onPass } : {}),
    ...(o.onPhase ? { onPhase: o.onPhase } : {}),
    ...(o.onSlowPass ? { onSlowPass: o.onSlowPass } : {}),
    ...(o.passBudgetMs !== undefined ? { passBudgetMs: o.passBudgetMs } : {}),
    ...(o.onError ? { onError: o.onError } : {}),
  });
  informers.start();
  elector?.start();
  await informers.synced();
  let worker: JobWorker | undefined;
  let closing: Promise<void> | undefined;
  let halted = false;
  const gate = jobHandler(ctx);
  // Only the lease holder runs jobs. A follower takes none at all: with a shared queue (Redis)
  // its worker would take jobs it cannot run and fail them, spending their retries' backoff
  // while the leader waits. The worker starts when leadership does and closes when it ends
  // (its running jobs finish); the check in the handler covers the moment in between.
  const startWorker = () =>
    o.queue.startWorker(async (job) => {
      if (!isLeader()) {
        return jobFailed(reason("Paused", "this replica is not the leader: it runs no jobs"));
      }
      return await gate(job);
    }, {
      concurrency: o.concurrency ?? 8,
      ...(o.onJobEvent ? { onEvent: o.onJobEvent } : {}),
    });
  const followLease = () => {
    if (halted || closing) return;
    const leading = isLeader();
    if (leading && !worker) worker = startWorker();
    else if (!leading && worker) {
      const w = worker;
      worker = undefined;
      closing = w.close(false).finally(() => (closing = undefined));
    }
  };
  followLease();
  const leaseWatch = setInterval(followLease, 100);
  loop.start();
  const halt = async (force: boolean) => {
    halted = true;
    clearInterval(leaseWatch);
    await loop.stop(force);
    // A clean stop of the leader stores the demand history it recorded since the last write.
    if (!force && isLeader() && forecastConfigured(config)) await ctx.demand?.flush();
    if (!force) await closing;
    if (worker) await worker.close(force);
    worker = undefined;
    await elector?.stop();
    await informers.stop();
  };
  return {
    ctx,
    loop,
    informers,
    isLeader,
    setPaused: (p) => (paused = p),
    paused: () => paused,
    setConfig: (c) => (config = c),
    stop: () => halt(false),
    kill: async () => {
      killed = true;
      for (const t of sleeps) clearTimeout(t);
      sleeps.clear();
      await halt(true);
    },
  };
}
