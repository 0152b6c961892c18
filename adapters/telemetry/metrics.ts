/**
 * Prometheus metrics for operators' dashboards and alerts, named as docs/semantics.md, 'Metric
 * names' says (`proxscale_` + Karpenter's name and meaning). Instruments come from an
 * explicit MeterProvider whose only reader is a Prometheus exporter that never opens a port of
 * its own: the daemon serves `collect()` on /metrics (daemon/http.ts). The global
 * `metrics.getMeter()` is deliberately not used: with OTEL_DENO=true Deno owns the global
 * provider and those instruments would never reach /metrics (docs/toolchain.md, 'OpenTelemetry's
 * global provider').
 *
 * Units at this boundary: durations come in as milliseconds and are exported in seconds; CPU
 * comes in as millicores and is exported in cores; memory in bytes. Every label value passes
 * through the redaction guard, and PVE endpoints are reduced to templates so a vmid never
 * becomes a label value.
 */
import type { Gauge } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import type { ReasonCode } from "../../core/reason.ts";
import { defaultRedactor, type Redactor } from "./redact.ts";

/** Pool figures as core/limits.ts computes them: cpu millicores, memory bytes, nodes. */
export type PoolFigures = { cpu?: number; memory?: number; nodes?: number };

/** One row of a per-pass count (nodes by state, drift findings by reason, ...). */
export type LabelledCount<L extends string> = { [K in L]: string } & { count: number };

/** One exchange as the PVE client's `observe` hook reports it (adapters/proxmox/client.ts). */
export type ProviderCall = { endpoint: string; durationMs: number; status?: number; kind?: string };

/** Queue job states as BullMQ and the in-memory queue name them. */
export type JobState = "waiting" | "delayed" | "active" | "completed" | "failed" | "paused";

/** The metrics API: one typed method per thing the daemon observes. */
export interface Metrics {
  /** A NodeClaim was created (its VM launch started): `proxscale_nodeclaims_created_total`. */
  claimLaunched(nodepool: string, reason: ReasonCode): void;
  /** Its Node registered: `proxscale_nodeclaims_registered_total`. */
  claimRegistered(nodepool: string, reason?: ReasonCode): void;
  /** A disruption decision picked it: `proxscale_nodeclaims_disrupted_total`. */
  claimDisrupted(nodepool: string, reason: ReasonCode): void;
  /** Its VM and Node are gone: `proxscale_nodeclaims_terminated_total`. */
  claimTerminated(nodepool: string, reason: ReasonCode): void;
  /** Current nodes by pool and state (replaces the previous pass): `proxscale_nodes`. */
  setNodes(rows: readonly LabelledCount<"nodepool" | "state">[]): void;
  /** Pods waiting for capacity now: `proxscale_pending_pods`. */
  setPendingPods(count: number): void;
  /** How long a pod waited, once it is bound: `proxscale_pod_pending_duration_seconds`. */
  observePodPending(ms: number, nodepool?: string): void;
  /**
   * A pool's usage (VM footprints including memory overhead), limits and the overhead share:
   * `proxscale_nodepool_usage`, `proxscale_nodepool_limit`, `proxscale_nodepool_overhead`,
   * each `{nodepool,resource}`. Absent limits are not exported (unlimited).
   */
  setPoolUsage(
    nodepool: string,
    usage: PoolFigures,
    limits?: PoolFigures,
    overhead?: PoolFigures,
  ): void;
  /**
   * What a pool's VMs cost per hour now, by the capacity type of their hosts (each VM priced at
   * its class's rates): `proxscale_nodepool_cost_per_hour{nodepool,capacity_type}` (replaces the
   * previous pass).
   */
  setPoolCost(rows: readonly { nodepool: string; capacity_type: string; perHour: number }[]): void;
  /**
   * One provider (PVE) request: `proxscale_provider_requests_total{verb,endpoint,code}` and the
   * duration histogram.
   */
  observeProviderRequest(endpoint: string, code: string | number, ms: number): void;
  /** The PVE client's `observe` hook, mapped onto `observeProviderRequest`. */
  observePveCall(call: ProviderCall): void;
  /** A provider operation failed for good: `proxscale_provider_errors_total{operation,code}`. */
  providerError(operation: string, code: string): void;
  /** One Kubernetes API request: `proxscale_kubernetes_requests_total` + duration histogram. */
  observeKubernetesRequest(verb: string, resource: string, code: string | number, ms: number): void;
  /** One reconcile phase (`observe`, `decide`, `act`, `total`): `proxscale_reconcile_duration_seconds`. */
  observeReconcile(phase: string, ms: number): void;
  /** A loop pass failed: `proxscale_reconcile_errors_total{reason}`. */
  reconcileError(reason: ReasonCode): void;
  /** A pass took longer than its time budget: `proxscale_reconcile_slow_passes_total`. */
  slowPass(): void;
  /** Queue jobs by state (replaces the previous sample): `proxscale_queue_jobs{queue,state}`. */
  setQueueJobs(counts: Partial<Record<JobState, number>>, queue?: string): void;
  /** 1 while this replica holds the lease: `proxscale_leader`. */
  setLeader(isLeader: boolean): void;
  /** 1 once the informer caches and the PVE inventory are synced: `proxscale_state_synced`. */
  setStateSynced(synced: boolean): void;
  /** Drift and orphan findings of the last pass: `proxscale_drift_findings{nodepool,reason}`. */
  setDriftFindings(rows: readonly LabelledCount<"nodepool" | "reason">[]): void;
  /**
   * Each configured Proxmox host, 1 when its last pass answered and 0 when it is offline or
   * unreadable: `proxscale_host_up{provider,host}`.
   */
  setHostsUp(rows: readonly { provider: string; host: string; up: boolean }[]): void;
  /**
   * Each NodePool, 1 while node repair is paused there (too many NotReady nodes at once):
   * `proxscale_nodepool_repair_paused{nodepool}`.
   */
  setRepairPaused(rows: readonly { nodepool: string; paused: boolean }[]): void;
  /**
   * Each Tenant, the pending pods of its namespaces a tenant quota keeps from a VM this pass:
   * `proxscale_tenant_quota_blocked_pods{tenant}`.
   */
  setTenantQuotaBlocked(rows: readonly { tenant: string; pods: number }[]): void;
  /**
   * Each IP pool's addresses by state (held by NodeClaims, used by other VMs, free), replacing
   * the previous sample: `proxscale_ip_pool_addresses{provider,pool,state}`.
   */
  setIpPoolAddresses(
    rows: readonly LabelledCount<"provider" | "pool" | "state">[],
  ): void;
  /** One eviction request's outcome: `proxscale_evictions_total{result}`. */
  eviction(result: "evicted" | "pdb_blocked" | "not_found" | "error"): void;
  /** A disruption decision: `proxscale_disruption_decisions_total{decision,reason}`. */
  disruptionDecision(decision: string, reason: ReasonCode): void;
  /**
   * A host power request to a BMC and how it ended:
   * `proxscale_host_power_actions_total{provider,host,action,reason,outcome}` (action power_on
   * or power_off; reason the code reported with it, HostPowerOn, HostPowerOff or
   * HostPowerFailed; outcome succeeded or failed).
   */
  hostPowerAction(
    provider: string,
    host: string,
    action: string,
    reason: ReasonCode,
    outcome: string,
  ): void;
  /**
   * Starts every counter a dashboard or alert reads at 0 for the configured pools and the
   * closed label values (eviction results, provider operations, disruption methods), so a
   * `rate()` has a series from the first scrape and an alert never sees "absent" for "none yet".
   * Repeatable: adding 0 changes nothing.
   */
  declareSeries(nodepools: readonly string[]): void;
  /** The Prometheus text exposition of everything above. */
  collect(): Promise<string>;
  shutdown(): Promise<void>;
}

export type MetricsOptions = { redactor?: Redactor };

/** Content type of `collect()`'s text, for the /metrics response. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const SECONDS_PROVIDER = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const SECONDS_RECONCILE = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SECONDS_POD_WAIT = [1, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600];

/**
 * Reduces a PVE endpoint (`POST /nodes/pve1/qemu/120/clone`) to its template
 * (`POST /nodes/{node}/qemu/{vmid}/clone`) so labels stay few.
 */
export function endpointTemplate(endpoint: string): string {
  return endpoint
    .replace(/\/nodes\/[^/\s]+/g, "/nodes/{node}")
    .replace(/\/storage\/[^/\s]+/g, "/storage/{storage}")
    .replace(/\/tasks\/[^/\s]+/g, "/tasks/{upid}")
    .replace(/\/pools\/[^/\s]+/g, "/pools/{pool}")
    .replace(/\/\d+(?=\/|$|\s)/g, "/{vmid}");
}

/** Builds the instruments on a private MeterProvider with a Prometheus reader. */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const redactor = opts.redactor ?? defaultRedactor;
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const meter = provider.getMeter("proxscale");
  const serializer = new PrometheusSerializer(undefined, false, undefined, true, true);

  const labels = (l: Record<string, string | number | undefined>) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(l)) if (v !== undefined) out[k] = redactor.scrub(String(v));
    return out;
  };
  const counter = (name: string, description: string) => meter.createCounter(name, { description });
  const gauge = (name: string, description: string) => meter.createGauge(name, { description });
  const histogram = (name: string, description: string, buckets: number[]) =>
    meter.createHistogram(name, { description, advice: { explicitBucketBoundaries: buckets } });

  /** A gauge whose series are replaced as a set: series missing from a new sample drop to 0. */
  const family = (g: Gauge) => {
    let previous = new Map<string, Record<string, string>>();
    return (rows: { attrs: Record<string, string>; value: number }[]) => {
      const next = new Map<string, Record<string, string>>();
      const sums = new Map<string, number>();
      for (const r of rows) {
        const key = JSON.stringify(Object.entries(r.attrs).sort());
        next.set(key, r.attrs);
        sums.set(key, (sums.get(key) ?? 0) + r.value);
      }
      for (const [key, attrs] of previous) if (!next.has(key)) g.record(0, attrs);
      for (const [key, attrs] of next) g.record(sums.get(key)!, attrs);
      previous = next;
    };
  };

  const created = counter("proxscale_nodeclaims_created", "NodeClaims created (VM launch started)");
  const registered = counter("proxscale_nodeclaims_registered", "NodeClaims whose Node registered");
  const disrupted = counter("proxscale_nodeclaims_disrupted", "NodeClaims chosen for disruption");
  const terminated = counter("proxscale_nodeclaims_terminated", "NodeClaims whose VM was deleted");
  const nodes = family(gauge("proxscale_nodes", "Nodes by NodePool and state"));
  const pending = gauge("proxscale_pending_pods", "Pods waiting for capacity");
  const podWait = histogram(
    "proxscale_pod_pending_duration_seconds",
    "Time from a pod becoming unschedulable to it being bound",
    SECONDS_POD_WAIT,
  );
  const poolUsage = gauge(
    "proxscale_nodepool_usage",
    "NodePool usage by resource (VM footprints incl. memory overhead; cpu in cores, memory in bytes)",
  );
  const poolLimit = gauge("proxscale_nodepool_limit", "NodePool limit by resource");
  const poolOverhead = gauge(
    "proxscale_nodepool_overhead",
    "Part of NodePool usage that is per-VM overhead rather than guest resources",
  );
  const poolCost = family(
    gauge(
      "proxscale_nodepool_cost_per_hour",
      "What a NodePool's VMs cost per hour now (settings.cost, or their host class's prices)",
    ),
  );
  const providerRequests = counter("proxscale_provider_requests", "Provider (PVE) API requests");
  const providerDuration = histogram(
    "proxscale_provider_request_duration_seconds",
    "Provider (PVE) API request latency",
    SECONDS_PROVIDER,
  );
  const providerErrors = counter("proxscale_provider_errors", "Provider operations that failed");
  const kubeRequests = counter("proxscale_kubernetes_requests", "Kubernetes API requests");
  const kubeDuration = histogram(
    "proxscale_kubernetes_request_duration_seconds",
    "Kubernetes API request latency",
    SECONDS_PROVIDER,
  );
  const reconcileDuration = histogram(
    "proxscale_reconcile_duration_seconds",
    "Duration of a reconcile phase",
    SECONDS_RECONCILE,
  );
  const reconcileErrors = counter("proxscale_reconcile_errors", "Reconcile passes that failed");
  const slowPasses = counter(
    "proxscale_reconcile_slow_passes",
    "Reconcile passes that took longer than their time budget",
  );
  const queueJobs = family(gauge("proxscale_queue_jobs", "Queue jobs by state"));
  const leader = gauge("proxscale_leader", "1 while this replica holds the leader lease");
  const synced = gauge("proxscale_state_synced", "1 once caches and PVE inventory are synced");
  const drift = family(gauge("proxscale_drift_findings", "Drift and orphan findings, last pass"));
  const hostUp = family(gauge("proxscale_host_up", "1 while a Proxmox host answers, else 0"));
  const ipPoolAddresses = family(
    gauge("proxscale_ip_pool_addresses", "IP pool addresses by state: held, foreign, free"),
  );
  const repairPaused = family(
    gauge("proxscale_nodepool_repair_paused", "1 while node repair is paused in a NodePool"),
  );
  const quotaBlocked = family(
    gauge(
      "proxscale_tenant_quota_blocked_pods",
      "Pending pods a tenant quota keeps from a VM, by tenant",
    ),
  );
  const evictions = counter("proxscale_evictions", "Eviction requests by result");
  const decisions = counter("proxscale_disruption_decisions", "Disruption decisions");
  const hostPower = counter(
    "proxscale_host_power_actions",
    "Host power requests to BMCs, by host, action, reason and outcome",
  );

  const poolRows = (g: Gauge, nodepool: string, f: PoolFigures | undefined) => {
    if (!f) return;
    const put = (resource: string, v: number | undefined) => {
      if (v !== undefined) g.record(v, labels({ nodepool, resource }));
    };
    put("cpu", f.cpu === undefined ? undefined : f.cpu / 1000);
    put("memory", f.memory);
    put("nodes", f.nodes);
  };

  const observeProviderRequest = (endpoint: string, code: string | number, ms: number) => {
    // The endpoint reads `POST /nodes/{node}/qemu/{vmid}/clone`: its method is the verb.
    const verb = /^[A-Z]+(?= )/.exec(endpoint)?.[0];
    const l = labels({ verb, endpoint: endpointTemplate(endpoint), code });
    providerRequests.add(1, l);
    providerDuration.record(ms / 1000, l);
  };

  return {
    claimLaunched: (nodepool, reason) => created.add(1, labels({ nodepool, reason })),
    claimRegistered: (nodepool, reason = "Registered") =>
      registered.add(1, labels({ nodepool, reason })),
    claimDisrupted: (nodepool, reason) => disrupted.add(1, labels({ nodepool, reason })),
    claimTerminated: (nodepool, reason) => terminated.add(1, labels({ nodepool, reason })),
    setNodes: (rows) =>
      nodes(
        rows.map((r) => ({
          attrs: labels({ nodepool: r.nodepool, state: r.state }),
          value: r.count,
        })),
      ),
    setPendingPods: (count) => pending.record(count),
    observePodPending: (ms, nodepool) => podWait.record(ms / 1000, labels({ nodepool })),
    setPoolUsage(nodepool, usage, limits, overhead) {
      poolRows(poolUsage, nodepool, usage);
      poolRows(poolLimit, nodepool, limits);
      poolRows(poolOverhead, nodepool, overhead);
    },
    setPoolCost: (rows) =>
      poolCost(
        rows.map((r) => ({
          attrs: labels({ nodepool: r.nodepool, capacity_type: r.capacity_type }),
          value: r.perHour,
        })),
      ),
    observeProviderRequest,
    observePveCall: (c) =>
      observeProviderRequest(c.endpoint, c.status ?? c.kind ?? "unknown", c.durationMs),
    providerError: (operation, code) => providerErrors.add(1, labels({ operation, code })),
    observeKubernetesRequest(verb, resource, code, ms) {
      const l = labels({ verb, resource, code });
      kubeRequests.add(1, l);
      kubeDuration.record(ms / 1000, l);
    },
    observeReconcile: (phase, ms) => reconcileDuration.record(ms / 1000, labels({ phase })),
    reconcileError: (reason) => reconcileErrors.add(1, labels({ reason })),
    slowPass: () => slowPasses.add(1, labels({})),
    setQueueJobs: (counts, queue = "proxscale") =>
      queueJobs(
        Object.entries(counts).map(([state, n]) => ({
          attrs: labels({ queue, state }),
          value: n ?? 0,
        })),
      ),
    setLeader: (is) => leader.record(is ? 1 : 0),
    setStateSynced: (is) => synced.record(is ? 1 : 0),
    setDriftFindings: (rows) =>
      drift(
        rows.map((r) => ({
          attrs: labels({ nodepool: r.nodepool, reason: r.reason }),
          value: r.count,
        })),
      ),
    setHostsUp: (rows) =>
      hostUp(
        rows.map((r) => ({
          attrs: labels({ provider: r.provider, host: r.host }),
          value: r.up ? 1 : 0,
        })),
      ),
    setRepairPaused: (rows) =>
      repairPaused(
        rows.map((r) => ({ attrs: labels({ nodepool: r.nodepool }), value: r.paused ? 1 : 0 })),
      ),
    setTenantQuotaBlocked: (rows) =>
      quotaBlocked(rows.map((r) => ({ attrs: labels({ tenant: r.tenant }), value: r.pods }))),
    setIpPoolAddresses: (rows) =>
      ipPoolAddresses(
        rows.map((r) => ({
          attrs: labels({ provider: r.provider, pool: r.pool, state: r.state }),
          value: r.count,
        })),
      ),
    eviction: (result) => evictions.add(1, labels({ result })),
    disruptionDecision: (decision, reason) => decisions.add(1, labels({ decision, reason })),
    hostPowerAction: (provider, host, action, reason, outcome) =>
      hostPower.add(1, labels({ provider, host, action, reason, outcome })),
    declareSeries(nodepools) {
      for (const nodepool of nodepools) {
        for (const c of [created, registered, disrupted, terminated]) {
          c.add(0, labels({ nodepool }));
        }
      }
      for (const result of ["evicted", "pdb_blocked", "not_found", "error"]) {
        evictions.add(0, labels({ result }));
      }
      for (const operation of ["create", "delete", "inventory"]) {
        providerErrors.add(0, labels({ operation }));
      }
      for (const reason of ["ProviderError", "KubernetesError"]) {
        reconcileErrors.add(0, labels({ reason }));
      }
      slowPasses.add(0, labels({}));
      for (const decision of ["emptiness", "drift", "expiration", "consolidation"]) {
        decisions.add(0, labels({ decision }));
      }
    },
    async collect() {
      const { resourceMetrics } = await exporter.collect();
      return redactor.scrub(serializer.serialize(resourceMetrics));
    },
    shutdown: () => provider.shutdown(),
  };
}
