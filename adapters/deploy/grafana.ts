/**
 * deploy/grafana-dashboard.json, generated so that the metric names it queries are one list
 * (`DASHBOARD_METRICS`) that a telemetry test can hold against what /metrics really exposes.
 * Names follow docs/semantics.md, 'Metric names' (prefix proxscale_).
 */

/** Every metric the dashboard reads, with the labels it groups by. */
export const DASHBOARD_METRICS = {
  nodeclaimsCreated: "proxscale_nodeclaims_created_total", // {nodepool,reason}
  nodeclaimsRegistered: "proxscale_nodeclaims_registered_total", // {nodepool}
  nodeclaimsDisrupted: "proxscale_nodeclaims_disrupted_total", // {nodepool,reason}
  nodeclaimsTerminated: "proxscale_nodeclaims_terminated_total", // {nodepool,reason}
  nodes: "proxscale_nodes", // {nodepool,state}
  pendingPods: "proxscale_pending_pods",
  podPending: "proxscale_pod_pending_duration_seconds", // histogram
  poolUsage: "proxscale_nodepool_usage", // {nodepool,resource}
  poolLimit: "proxscale_nodepool_limit", // {nodepool,resource}
  providerRequests: "proxscale_provider_requests_total", // {endpoint,code}
  providerDuration: "proxscale_provider_request_duration_seconds", // histogram {endpoint,code}
  providerErrors: "proxscale_provider_errors_total", // {operation,code}
  kubernetesRequests: "proxscale_kubernetes_requests_total", // {verb,resource,code}
  kubernetesDuration: "proxscale_kubernetes_request_duration_seconds", // histogram
  reconcileDuration: "proxscale_reconcile_duration_seconds", // histogram {phase}
  reconcileErrors: "proxscale_reconcile_errors_total", // {reason}
  queueJobs: "proxscale_queue_jobs", // {state}
  leader: "proxscale_leader", // 1 on the lease holder
  stateSynced: "proxscale_state_synced",
  driftFindings: "proxscale_drift_findings", // gauge {nodepool,reason}, last pass
  evictions: "proxscale_evictions_total", // {result}
  disruptionDecisions: "proxscale_disruption_decisions_total", // {decision,reason}
} as const;

const M = DASHBOARD_METRICS;
const DS = { type: "prometheus", uid: "${datasource}" };

type Target = { expr: string; legend: string };
type Panel = { title: string; unit: string; targets: Target[]; kind?: "timeseries" | "stat" };

const q = (expr: string, legend: string): Target => ({ expr, legend });
const quantile = (phi: number, metric: string, by = "") =>
  `histogram_quantile(${phi}, sum by (${["le", by].filter(Boolean).join(", ")}) ` +
  `(rate(${metric}_bucket[$__rate_interval])))`;
const p95 = (metric: string, by: string) => quantile(0.95, metric, by);

/** The panels, row by row (two per row). */
export const PANELS: Panel[] = [
  { title: "Leader", unit: "none", kind: "stat", targets: [q(`max(${M.leader})`, "leader")] },
  {
    title: "State synced",
    unit: "none",
    kind: "stat",
    targets: [q(`min(${M.stateSynced})`, "synced")],
  },
  { title: "Pending pods", unit: "none", targets: [q(`sum(${M.pendingPods})`, "pending")] },
  {
    title: "Pod pending time (p50, p95)",
    unit: "s",
    targets: [
      q(quantile(0.5, M.podPending), "p50"),
      q(quantile(0.95, M.podPending), "p95"),
    ],
  },
  {
    title: "NodeClaims launched / registered",
    unit: "ops",
    targets: [
      q(
        `sum by (nodepool, reason) (rate(${M.nodeclaimsCreated}[$__rate_interval]))`,
        "launched {{nodepool}} {{reason}}",
      ),
      q(
        `sum by (nodepool) (rate(${M.nodeclaimsRegistered}[$__rate_interval]))`,
        "registered {{nodepool}}",
      ),
    ],
  },
  {
    title: "NodeClaims disrupted / terminated by reason",
    unit: "ops",
    targets: [
      q(
        `sum by (nodepool, reason) (rate(${M.nodeclaimsDisrupted}[$__rate_interval]))`,
        "disrupted {{nodepool}} {{reason}}",
      ),
      q(
        `sum by (nodepool, reason) (rate(${M.nodeclaimsTerminated}[$__rate_interval]))`,
        "terminated {{nodepool}} {{reason}}",
      ),
    ],
  },
  {
    title: "Nodes by pool and state",
    unit: "none",
    targets: [q(`sum by (nodepool, state) (${M.nodes})`, "{{nodepool}} {{state}}")],
  },
  {
    title: "Pool usage vs limit (incl. VM overhead)",
    unit: "percentunit",
    targets: [
      q(
        `sum by (nodepool, resource) (${M.poolUsage}) / sum by (nodepool, resource) (${M.poolLimit})`,
        "{{nodepool}} {{resource}}",
      ),
    ],
  },
  {
    title: "Proxmox requests by endpoint and code",
    unit: "reqps",
    targets: [
      q(
        `sum by (endpoint, code) (rate(${M.providerRequests}[$__rate_interval]))`,
        "{{endpoint}} {{code}}",
      ),
      q(
        `sum by (operation, code) (rate(${M.providerErrors}[$__rate_interval]))`,
        "error {{operation}} {{code}}",
      ),
    ],
  },
  {
    title: "Proxmox request latency p95",
    unit: "s",
    targets: [q(p95(M.providerDuration, "endpoint"), "{{endpoint}}")],
  },
  {
    title: "Kubernetes API requests by code / latency p95",
    unit: "reqps",
    targets: [
      q(`sum by (code) (rate(${M.kubernetesRequests}[$__rate_interval]))`, "{{code}}"),
      q(p95(M.kubernetesDuration, "resource"), "p95 {{resource}} (s)"),
    ],
  },
  {
    title: "Reconcile duration p95",
    unit: "s",
    targets: [q(p95(M.reconcileDuration, "phase"), "{{phase}}")],
  },
  {
    title: "Reconcile errors",
    unit: "ops",
    targets: [
      q(`sum by (reason) (rate(${M.reconcileErrors}[$__rate_interval]))`, "{{reason}}"),
    ],
  },
  {
    title: "Queue jobs by state",
    unit: "none",
    targets: [q(`sum by (state) (${M.queueJobs})`, "{{state}}")],
  },
  {
    title: "Drift and orphan findings (last pass)",
    unit: "none",
    targets: [q(`sum by (nodepool, reason) (${M.driftFindings})`, "{{nodepool}} {{reason}}")],
  },
  {
    title: "Evictions by result",
    unit: "ops",
    targets: [q(`sum by (result) (rate(${M.evictions}[$__rate_interval]))`, "{{result}}")],
  },
  {
    title: "Disruption decisions",
    unit: "ops",
    targets: [
      q(
        `sum by (decision, reason) (rate(${M.disruptionDecisions}[$__rate_interval]))`,
        "{{decision}} {{reason}}",
      ),
    ],
  },
];

/** The dashboard as Grafana's JSON model (schemaVersion 39), with a datasource variable. */
export function dashboard(): Record<string, unknown> {
  return {
    title: "proxscale",
    uid: "proxscale",
    description: "proxscale: Proxmox VE node autoscaler (metrics named after Karpenter's)",
    tags: ["proxscale", "kubernetes", "proxmox"],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: {
      list: [{
        name: "datasource",
        label: "Prometheus",
        type: "datasource",
        query: "prometheus",
        current: {},
        hide: 0,
      }],
    },
    panels: PANELS.map((panel, i) => ({
      id: i + 1,
      type: panel.kind ?? "timeseries",
      title: panel.title,
      datasource: DS,
      gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      options: {},
      targets: panel.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: DS,
        expr: t.expr,
        legendFormat: t.legend,
      })),
    })),
  };
}

/** The committed file's text. */
export function dashboardJson(): string {
  return JSON.stringify(dashboard(), null, 2) + "\n";
}
