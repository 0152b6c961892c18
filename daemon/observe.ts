/**
 * Telemetry wiring of the daemon: each decision report becomes a structured log line, an audit
 * record for every step that changes a VM or the cluster (create, start, stop, delete, taint,
 * drain, evict, node deletion; failed attempts too), and bumps the matching metric (evictions by
 * result, provider errors by operation, registrations and terminations by pool); each pass
 * ticks the liveness state and feeds the pass metrics (daemon/pass_metrics.ts); each phase's
 * duration goes to the reconcile histogram. Kept apart from the loop so the loop stays testable
 * with a plain `report` function.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { Config, Snapshot } from "../core/model.ts";
import type { ReconcilePlan } from "../core/reconcile.ts";
import type { AuditAction, AuditRecord, Logger } from "../adapters/telemetry/logger.ts";
import type { Metrics } from "../adapters/telemetry/metrics.ts";
import type { HealthState } from "../adapters/telemetry/health.ts";
import type { JobQueue } from "./ports/queue.ts";
import type { DecisionReport, JobData } from "./context.ts";
import { PassMetrics } from "./pass_metrics.ts";
import type { SlowPass } from "./loop.ts";
import { isActionFailure } from "./executor.ts";

/**
 * Steps of a pass that failed without stopping it (the pass decides on what it could read):
 * each counts as a reconcile error under the failure's own code, as an action's failure does.
 */
const PASS_STEP_FAILURES: ReadonlySet<string> = new Set([
  "JobListFailed",
  "UntaintSkipped",
  "UntaintFailed",
  "BootstrapSweepFailed",
]);

/** Where a daemon's reports and passes go. */
export type Observers = {
  report: (d: DecisionReport) => void;
  onPass: (plan: ReconcilePlan, acted: boolean, snapshot?: Snapshot) => void;
  /** A pod the informer saw change (times a wait the moment the pod is bound). */
  podEvent: (pod: Snapshot["pods"][number]) => void;
  onPhase: (phase: string, ms: number) => void;
  onSlowPass: (p: SlowPass) => void;
  onError: (message: string, source?: "provider" | "internal") => void;
};

type Audited = { action: AuditAction; outcome?: AuditRecord["outcome"] };

/** The audit records a report stands for (none for a plain decision). */
export function auditActions(d: DecisionReport): Audited[] {
  const done = d.outcome ?? "succeeded";
  switch (d.what) {
    case "VmCreated":
      // The provider clones (or creates) the VM and starts it before it reports.
      return [{ action: "VmCreate", outcome: done }, { action: "VmStart", outcome: done }];
    case "LaunchFailed":
      return [{ action: "VmCreate", outcome: "failed" }];
    case "VmDeleted":
      // The provider stops a running VM before it destroys it.
      return [{ action: "VmStop", outcome: done }, { action: "VmDelete", outcome: done }];
    case "VmDeleteFailed":
      return [{ action: "VmDelete", outcome: "failed" }];
    case "NodeTainted":
      return [{ action: "Taint", outcome: done }];
    case "NodeUntainted":
    case "Untaint":
      return [{ action: "Untaint", outcome: done }];
    case "Evicted":
    case "EvictGone":
      return [{ action: "Evict", outcome: "succeeded" }];
    case "EvictBlocked":
    case "EvictFailed":
      return [{ action: "Evict", outcome: "failed" }];
    case "PodDeleted":
    case "PodDeleteFailed":
      return [{ action: "PodDelete", outcome: done }];
    case "NodeDeleted":
    case "NodeDeleteFailed":
      return [{ action: "NodeDelete", outcome: done }];
  }
  if (/^(Disrupt|Finalize):draining$/.test(d.what)) {
    return [{ action: "Drain", outcome: "requested" }];
  }
  if (/^(Disrupt|Finalize):drained$/.test(d.what)) {
    return [{ action: "Drain", outcome: "succeeded" }];
  }
  if (/^(Disrupt|Finalize):gave-up$/.test(d.what)) return [{ action: "Drain", outcome: "failed" }];
  return [];
}

const EVICTION_RESULT = {
  Evicted: "evicted",
  EvictGone: "not_found",
  EvictBlocked: "pdb_blocked",
  EvictFailed: "error",
} as const;

/** Builds the observers over a logger, metrics and health state. */
export function observers(o: {
  logger: Logger;
  metrics: Metrics;
  health: HealthState;
  queue: JobQueue<JobData>;
  isLeader: () => boolean;
  /** The configuration in force, for per-pool figures (pools with no node show 0). */
  config?: () => Config | undefined;
  /** Static addresses a Provider's VMs use, as last read (IP pool usage). */
  vmAddresses?: (provider: string) => readonly string[];
}): Observers {
  const { logger, metrics, health } = o;
  const pass = new PassMetrics(metrics, o.config ?? (() => undefined), o.vmAddresses);
  return {
    report(d) {
      const fields = {
        reason: d.reason,
        ...(d.nodepool ? { nodepool: d.nodepool } : {}),
        ...(d.nodeclaim ? { nodeclaim: d.nodeclaim } : {}),
        ...(d.node ? { node: d.node } : {}),
        ...(d.pod ? { pod: d.pod } : {}),
        ...(d.vmid !== undefined ? { vmid: d.vmid } : {}),
        ...(d.host ? { host: d.host } : {}),
        ...(d.outcome ? { outcome: d.outcome } : {}),
        ...(d.dryRun ? { dry_run: true } : {}),
      };
      if (d.outcome === "failed") logger.warn(d.what, fields);
      else logger.info(d.what, fields);
      if (d.dryRun) return;
      for (const a of auditActions(d)) {
        logger.audit({
          action: a.action,
          reason: d.reason,
          nodepool: d.nodepool ?? "",
          outcome: a.outcome ?? "succeeded",
          ...(d.nodeclaim ? { nodeclaim: d.nodeclaim } : {}),
          ...(d.vmid !== undefined ? { vmid: d.vmid } : {}),
          ...(d.host ? { host: d.host } : {}),
          ...(d.node ? { node: d.node } : {}),
          ...(d.pod ? { pod: d.pod } : {}),
        });
      }
      const pool = d.nodepool ?? "";
      switch (d.what) {
        case "RegisterNode":
          metrics.claimRegistered(pool, d.reason.code);
          break;
        case "NodeClaimDeleted":
          metrics.claimTerminated(pool, d.reason.code);
          break;
        case "LaunchFailed":
          metrics.providerError("create", d.reason.code);
          break;
        case "VmDeleteFailed":
          metrics.providerError("delete", d.reason.code);
          break;
        case "TemplateBuildFailed":
          metrics.providerError("template-build", d.reason.code);
          break;
        case "PowerOn":
        case "PowerOff":
          metrics.hostPowerAction(
            d.provider ?? "",
            d.host ?? "",
            d.what === "PowerOn" ? "power_on" : "power_off",
            d.reason.code,
            d.outcome ?? "succeeded",
          );
          break;
        case "Evicted":
        case "EvictGone":
        case "EvictBlocked":
        case "EvictFailed":
          metrics.eviction(EVICTION_RESULT[d.what]);
          break;
      }
      // A failed action or pass step counts under its own code (QueueError, KubernetesError...).
      if (isActionFailure(d.what) || PASS_STEP_FAILURES.has(d.what)) {
        metrics.reconcileError(d.reason.code);
      }
    },
    podEvent: (p) => pass.podEvent(p),
    onPass(plan, acted, snapshot) {
      health.tick();
      health.setCachesSynced(true);
      health.setPveReachable(true);
      metrics.setLeader(o.isLeader());
      metrics.setStateSynced(true);
      pass.pass(plan, acted, snapshot);
      void o.queue.counts().then((c) => {
        if (c.ok) metrics.setQueueJobs(c.value);
      });
    },
    onPhase(phase, ms) {
      metrics.observeReconcile(phase, ms);
    },
    onSlowPass(p) {
      metrics.slowPass();
      logger.warn("reconcile pass over its time budget", {
        reason: "SlowPass",
        total_ms: Math.round(p.totalMs),
        budget_ms: p.budgetMs,
        observe_ms: Math.round(p.observeMs),
        decide_ms: Math.round(p.decideMs),
        act_ms: Math.round(p.actMs),
        pods: p.pods,
        pending_pods: p.pendingPods,
        nodes: p.nodes,
        nodeclaims: p.nodeClaims,
        actions: p.actions,
      });
    },
    onError(message, source = "provider") {
      metrics.setLeader(o.isLeader());
      if (source === "provider") {
        health.setPveReachable(false, message);
        metrics.providerError("inventory", "ProviderError");
        metrics.reconcileError("ProviderError");
        logger.warn("reconcile pass failed", { reason: "ProviderError", error: message });
      } else {
        metrics.reconcileError("KubernetesError");
        logger.error("reconcile pass failed", { reason: "KubernetesError", error: message });
      }
    },
  };
}
