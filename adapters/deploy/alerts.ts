/**
 * Prometheus alerting rules for what an operator must be woken for, as a PrometheusRule (the
 * prometheus-operator kind): launches failing, no replica leading, the PVE API unreachable,
 * pods pending past a threshold, a leaked VM suspected. deploy/prometheus-rules.yaml is the
 * plain object; the Helm chart carries it behind `prometheusRule.enabled`. Each expression
 * reads only metrics the daemon emits (a test scrapes a running daemon to hold them to it).
 *
 * May import: core/, adapters/.
 */
import { DASHBOARD_METRICS as M } from "./grafana.ts";
import { type KubeObject, LABELS, NAME } from "./manifests.ts";

/** One alerting rule as Prometheus reads it. */
export type AlertRule = {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "critical" | "warning" };
  annotations: { summary: string; description: string };
};

/** Minutes a pod may wait for capacity before someone is paged. */
export const PENDING_ALERT_MINUTES = 15;

/** The rules, most urgent first. */
export const ALERT_RULES: AlertRule[] = [
  {
    alert: "ProxscaleNoLeader",
    expr: `(max(${M.leader}) or vector(0)) < 1`,
    for: "5m",
    labels: { severity: "critical" },
    annotations: {
      summary: "No proxscale replica holds the leader Lease",
      description: "Nothing scales the cluster. Check the proxscale pods and " +
        "kubectl -n proxscale-system get lease proxscale-leader.",
    },
  },
  {
    alert: "ProxscalePveUnreachable",
    expr: `sum(rate(${M.providerErrors}{operation="inventory"}[5m])) > 0`,
    for: "5m",
    labels: { severity: "critical" },
    annotations: {
      summary: "proxscale cannot read the Proxmox VE inventory",
      description: "Reconcile passes fail listing VMs: the PVE API is unreachable or refuses " +
        "the token. proxscale diagnose names the cause.",
    },
  },
  {
    alert: "ProxscaleLaunchesFailing",
    expr: `sum(increase(${M.providerErrors}{operation="create"}[15m])) > 3`,
    for: "5m",
    labels: { severity: "warning" },
    annotations: {
      summary: "VM launches keep failing",
      description: "More than 3 launches failed in 15 minutes; the NodeClaims' Warning " +
        "Events (reason LaunchFailed) carry the PVE error.",
    },
  },
  {
    alert: "ProxscalePodsPendingTooLong",
    expr: `sum(${M.pendingPods}) > 0`,
    for: `${PENDING_ALERT_MINUTES}m`,
    labels: { severity: "warning" },
    annotations: {
      summary: `Pods have waited for capacity for ${PENDING_ALERT_MINUTES} minutes`,
      description: "proxscale has not found room for pending pods: pool limits, host " +
        "capacity or failing launches. proxscale status lists the decisions.",
    },
  },
  {
    alert: "ProxscaleLeakedVmSuspected",
    expr: `sum(${M.driftFindings}{reason="OrphanVM"}) > 0`,
    for: "30m",
    labels: { severity: "warning" },
    annotations: {
      summary: "A proxscale-tagged VM has had no NodeClaim for 30 minutes",
      description: "Orphan VMs are deleted after their grace period; one that stays is a " +
        "leak (deletion failing, or a tag on a VM proxscale does not own).",
    },
  },
  {
    alert: "ProxscaleUnadoptableVmKept",
    expr: `sum(${M.driftFindings}{reason="OrphanVMKept"}) > 0`,
    for: "15m",
    labels: { severity: "warning" },
    annotations: {
      summary: "A VM with a Node has no NodeClaim and cannot be adopted",
      description: "After lost NodeClaims (disaster recovery) a VM whose Node is NotReady or " +
        "whose pool is gone is kept until an operator decides: delete it, fix the cause, or set " +
        "settings.deleteUnadoptableVms (the OrphanVMKept Event names it).",
    },
  },
];

/** The PrometheusRule object in `namespace`. */
export function prometheusRule(namespace: string): KubeObject {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: NAME, namespace, labels: { ...LABELS } },
    spec: { groups: [{ name: "proxscale", rules: ALERT_RULES }] },
  };
}
