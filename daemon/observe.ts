/**
 * Telemetry wiring of the daemon: each decision report becomes a structured log line (and an
 * audit record for VM creates/deletes), and bumps the matching metric; each pass ticks the
 * liveness state, marks caches and PVE reachable, and samples the leader flag, pending pods,
 * queue jobs and drift findings. Kept apart from the loop so the loop stays testable with a
 * plain `report` function.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { ReconcilePlan } from "../core/reconcile.ts";
import type { Logger } from "../adapters/telemetry/logger.ts";
import type { Metrics } from "../adapters/telemetry/metrics.ts";
import type { HealthState } from "../adapters/telemetry/health.ts";
import type { JobQueue } from "../adapters/queue/port.ts";
import type { DecisionReport, JobData } from "./context.ts";

/** Where a daemon's reports and passes go. */
export type Observers = {
  report: (d: DecisionReport) => void;
  onPass: (plan: ReconcilePlan, acted: boolean) => void;
  onError: (message: string) => void;
};

/** Builds the observers over a logger, metrics and health state. */
export function observers(o: {
  logger: Logger;
  metrics: Metrics;
  health: HealthState;
  queue: JobQueue<JobData>;
  isLeader: () => boolean;
}): Observers {
  const { logger, metrics, health } = o;
  return {
    report(d) {
      const fields = {
        reason: d.reason,
        ...(d.nodeclaim ? { nodeclaim: d.nodeclaim } : {}),
        ...(d.node ? { node: d.node } : {}),
        ...(d.vmid !== undefined ? { vmid: d.vmid } : {}),
        ...(d.host ? { host: d.host } : {}),
        ...(d.dryRun ? { dry_run: true } : {}),
      };
      logger.info(d.what, fields);
      if (d.dryRun) return;
      switch (d.what) {
        case "VmCreated":
          logger.audit({
            action: "VmCreate",
            reason: d.reason,
            nodepool: "",
            outcome: "succeeded",
            ...(d.nodeclaim ? { nodeclaim: d.nodeclaim } : {}),
            ...(d.vmid !== undefined ? { vmid: d.vmid } : {}),
            ...(d.host ? { host: d.host } : {}),
          });
          break;
        case "VmDeleted":
          logger.audit({
            action: "VmDelete",
            reason: d.reason,
            nodepool: "",
            outcome: "succeeded",
            ...(d.nodeclaim ? { nodeclaim: d.nodeclaim } : {}),
            ...(d.vmid !== undefined ? { vmid: d.vmid } : {}),
            ...(d.host ? { host: d.host } : {}),
          });
          break;
        case "RegisterNode":
          metrics.claimRegistered("", d.reason.code);
          break;
        case "NodeClaimDeleted":
          metrics.claimTerminated("", d.reason.code);
          break;
      }
    },
    onPass(plan, acted) {
      health.tick();
      health.setCachesSynced(true);
      health.setPveReachable(true);
      metrics.setLeader(o.isLeader());
      metrics.setStateSynced(true);
      metrics.setPendingPods(plan.provisioning.claims.reduce((a, c) => a + c.pods.length, 0));
      if (!acted) return;
      for (const a of plan.actions) {
        if (a.kind === "LaunchClaim" && a.isNew) {
          metrics.claimLaunched(a.claim.nodePool, a.reason.code);
        }
        if (a.kind === "Disrupt") {
          for (const c of a.command.candidates) metrics.claimDisrupted(c.nodePool, a.reason.code);
        }
      }
      const findings = new Map<string, number>();
      for (const a of plan.actions) {
        if (a.kind === "GarbageCollectVM" || a.kind === "RemoveNode" || a.kind === "MarkDrifted") {
          findings.set(a.reason.code, (findings.get(a.reason.code) ?? 0) + 1);
        }
      }
      metrics.setDriftFindings(
        [...findings].map(([reason, count]) => ({ nodepool: "", reason, count })),
      );
      void o.queue.counts().then((c) => {
        if (c.ok) metrics.setQueueJobs(c.value);
      });
    },
    onError(message) {
      health.setPveReachable(false, message);
      metrics.reconcileError("ProviderError");
      logger.warn("reconcile pass failed", { reason: "ProviderError", error: message });
    },
  };
}
