/**
 * The observe -> decide -> act loop. A change seen by the informers (a pod, node or NodeClaim)
 * opens Karpenter's batch window: the pass runs once no change came for `batchIdle`, or at the
 * latest `batchMax` after the first change, so a burst of pending pods is decided together. A
 * periodic tick runs a pass anyway, for timers (consolidateAfter, timeouts, orphan grace) and
 * for Proxmox, which cannot be watched. Passes never overlap. Each pass builds a Snapshot,
 * calls core/reconcile.ts and hands the actions to the executor, which acts only while this
 * replica holds the lease and is not paused (otherwise it reports what it would do).
 *
 * May import: core/, adapters/, daemon/.
 */
import {
  initialReconcileState,
  type JobFacts,
  reconcile,
  type ReconcilePlan,
  type ReconcileState,
} from "../core/reconcile.ts";
import type { Snapshot } from "../core/model.ts";
import { forecastConfigured } from "../core/forecast.ts";
import { reason } from "../core/reason.ts";
import { providerSubject } from "../adapters/kubernetes/events.ts";
import type { DaemonContext } from "./context.ts";
import type { Executor } from "./executor.ts";
import { buildSnapshot } from "./snapshot.ts";
import { HostHealth } from "./host_health.ts";
import { sweepExpiredBootstrapTokens } from "./bootstrap_sweep.ts";
import { queueTemplateJobs } from "./template_jobs.ts";
import { PodWaitEvents } from "./pod_wait_events.ts";
import { VerdictEvents } from "./verdict_events.ts";
import { type HostPowered, HostPowerManager } from "./host_power.ts";

/** Told after each pass: its plan, whether it acted, and the Snapshot it decided on. */
export type PassObserver = (plan: ReconcilePlan, acted: boolean, snapshot: Snapshot) => void;

/** How the loop is paced and gated. */
export type LoopOptions = {
  /** Period of the timer-driven pass (ms). */
  tickMs: number;
  /** Whether this replica may act (holds the lease). */
  isLeader: () => boolean;
  /** Maintenance mode: decide and report, do not act. */
  paused: () => boolean;
  /** Called after each pass with its plan (status, metrics, tests). */
  onPass?: PassObserver;
  /** How long each phase of a pass took (ms): observe, decide, act, total. */
  onPhase?: (phase: string, ms: number) => void;
  /**
   * A pass longer than `passBudgetMs` (default 1 s): its phases and the sizes it decided on.
   * The decision keeps running on this thread; the front door (front_door.ts) keeps the Lease
   * and /healthz meanwhile, so a slow pass is worth knowing about, not a failure.
   */
  onSlowPass?: (p: SlowPass) => void;
  passBudgetMs?: number;
  /** A pass that could not run: a provider unreachable, or an unexpected error. */
  onError?: (message: string, source?: "provider" | "internal") => void;
};

/** A pass over its budget, with what it decided on. */
export type SlowPass = {
  totalMs: number;
  observeMs: number;
  decideMs: number;
  actMs: number;
  budgetMs: number;
  pods: number;
  pendingPods: number;
  nodes: number;
  nodeClaims: number;
  actions: number;
};

/** The running loop. */
export class ReconcileLoop {
  readonly #ctx: DaemonContext;
  readonly #executor: Executor;
  readonly #o: LoopOptions;
  #state: ReconcileState = initialReconcileState();
  #unsubscribe: (() => void)[] = [];
  #tick: ReturnType<typeof setInterval> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #maxTimer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  /** Proxmox hosts that could not be read, reported when they go and come back. */
  readonly hostHealth: HostHealth;
  /** Events for pods a tenant quota keeps from a VM. */
  readonly #waitEvents: PodWaitEvents;
  readonly #verdictEvents: VerdictEvents;
  /** Host power management, when a BMC port is given (daemon/host_power.ts). */
  readonly #hostPower: HostPowerManager | undefined;
  /** Hosts offline on purpose (host power), for the status document. */
  hostsPowered(): HostPowered[] {
    return this.#hostPower?.powerStates() ?? [];
  }
  /** Passes completed, for health checks. */
  passes = 0;
  lastPassAt = 0;

  constructor(ctx: DaemonContext, executor: Executor, o: LoopOptions) {
    this.#ctx = ctx;
    this.#executor = executor;
    this.#o = o;
    this.#waitEvents = new PodWaitEvents(ctx.events);
    this.#verdictEvents = new VerdictEvents(ctx.events);
    this.#hostPower = ctx.hostPower ? new HostPowerManager(ctx, ctx.hostPower) : undefined;
    this.hostHealth = new HostHealth({
      report: (d) => ctx.report(d),
      event: async (provider, why) => {
        await ctx.events?.record(providerSubject(provider), why);
      },
    });
  }

  /** Subscribes to the informers and starts the tick; the first pass runs at once. */
  start(): void {
    const i = this.#ctx.informers;
    const wake = () => this.wake();
    this.#unsubscribe = [i.pods.on(wake), i.nodes.on(wake), i.nodeClaims.on(wake)];
    this.#tick = setInterval(() => this.runNow(), this.#o.tickMs);
    this.runNow();
  }

  /** A change arrived: (re)start the idle timer inside the batch window. */
  wake(): void {
    if (this.#stopped) return;
    const { batchIdle, batchMax } = this.#ctx.config().settings;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.#closeWindow(), batchIdle);
    this.#maxTimer ??= setTimeout(() => this.#closeWindow(), batchMax);
  }

  #closeWindow(): void {
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#maxTimer);
    this.#idleTimer = this.#maxTimer = undefined;
    this.runNow();
  }

  /** Runs a pass now, or right after the one running. */
  runNow(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#tracedPass().finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.runNow();
      }
    });
  }

  /** A pass inside its `reconcile` span (a new trace each pass). */
  #tracedPass(): Promise<void> {
    const tracing = this.#ctx.tracing;
    return tracing ? tracing.reconcile(() => this.#pass()) : this.#pass();
  }

  async #pass(): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx.informers.hasSynced()) return;
    const phase = this.#o.onPhase ?? (() => {});
    const t0 = performance.now();
    try {
      const { snapshot, problems } = await buildSnapshot(
        ctx.informers,
        ctx.providers,
        ctx.clock.now(),
        ctx.config().machineTemplates,
        ctx.config().tenants?.some((t) => t.namespaceSelector) ?? false,
      );
      const t1 = performance.now();
      phase("observe", t1 - t0);
      if (this.#stopped) return;
      const config = ctx.config();
      await this.#hostPower?.readBmcs(config);
      await this.hostHealth.observe(
        snapshot.hosts,
        new Map(problems.map((p) => [p.provider, p.message])),
        // A host powered off (or booting) by host power is offline on purpose, not unavailable.
        config.providers.flatMap((p) =>
          p.hosts.filter((h) => !this.#hostPower?.offlineByPower(p.name, h.name))
            .map((h) => ({ provider: p.name, host: h.name }))
        ),
        snapshot.now,
      );
      // Pools that forecast read their demand history from the snapshot (core/forecast.ts).
      if (ctx.demand && forecastConfigured(config)) {
        await ctx.demand.observe(snapshot, config, this.#o.isLeader());
        snapshot.demandHistory = ctx.demand.histories();
      }
      const act = this.#o.isLeader() && !this.#o.paused();
      if (act) await this.#executor.releaseAbandonedDisruptions(snapshot.nodes);
      if (act) await sweepExpiredBootstrapTokens(ctx);
      if (act) await queueTemplateJobs(ctx, snapshot.nodeClaims);
      const t2 = performance.now();
      const plan = reconcile(snapshot, config, this.#state, await this.#jobFacts());
      const t3 = performance.now();
      phase("decide", t3 - t2);
      this.#state = plan.state;
      await this.#executor.apply(plan.actions, act);
      if (act) {
        await this.#waitEvents.observe(plan.provisioning, snapshot);
        await this.#verdictEvents.observe(plan.disruption.verdicts, snapshot.now);
      }
      await this.#hostPower?.pass(snapshot, config, plan.provisioning, act);
      const t4 = performance.now();
      phase("act", t4 - t3);
      phase("total", t4 - t0);
      const budgetMs = this.#o.passBudgetMs ?? 1_000;
      if (t4 - t0 > budgetMs) {
        this.#o.onSlowPass?.({
          totalMs: t4 - t0,
          observeMs: t1 - t0,
          decideMs: t3 - t2,
          actMs: t4 - t3,
          budgetMs,
          pods: snapshot.pods.length,
          pendingPods: snapshot.pods.filter((p) => !p.nodeName).length,
          nodes: snapshot.nodes.length,
          nodeClaims: snapshot.nodeClaims.length,
          actions: plan.actions.length,
        });
      }
      this.passes++;
      this.lastPassAt = ctx.clock.now();
      this.#o.onPass?.(plan, act, snapshot);
      // After onPass: a provider that could not be read keeps PVE marked unreachable.
      for (const p of problems) {
        this.#o.onError?.(`${p.provider}: ${p.message}`, "provider");
        ctx.tracing?.current()?.fail(p);
      }
      ctx.tracing?.current()?.setAttributes({ actions: plan.actions.length, acted: act });
    } catch (e) {
      this.#o.onError?.(e instanceof Error ? e.message : String(e), "internal");
    }
  }

  /**
   * Launch jobs that failed for good, by claim: their message becomes Launched=False. A queue
   * that cannot list its jobs is reported (QueueError, on the pass's span too); the pass then
   * decides without those facts, and the next pass reads them again.
   */
  async #jobFacts(): Promise<JobFacts> {
    const ctx = this.#ctx;
    const jobs = await ctx.queue.list();
    if (!jobs.ok) {
      const why = reason("QueueError", `listing jobs: ${jobs.error.message}`);
      ctx.report({ time: ctx.clock.now(), what: "JobListFailed", outcome: "failed", reason: why });
      ctx.tracing?.current()?.fail({ kind: why.code, message: why.message });
      return {};
    }
    const launchErrors: Record<string, string> = {};
    for (const j of jobs.value) {
      if (j.state === "failed" && j.data.kind === "launch") {
        launchErrors[j.data.claim] = j.lastError ?? "launch failed";
      }
    }
    return { launchErrors };
  }

  /** Stops timers and subscriptions; waits for a running pass unless `abandon` (a crash). */
  async stop(abandon = false): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#tick);
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#maxTimer);
    for (const u of this.#unsubscribe) u();
    if (!abandon) await this.#running;
  }
}
