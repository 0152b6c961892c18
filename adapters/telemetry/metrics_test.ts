import assert from "node:assert/strict";
import { createRedactor } from "./redact.ts";
import { createMetrics, endpointTemplate, type Metrics } from "./metrics.ts";
import { parsePrometheus, sampleValue } from "./testing/prometheus_text.ts";

async function withMetrics(fn: (m: Metrics) => Promise<void>, redactor = createRedactor()) {
  const m = createMetrics({ redactor });
  try {
    await fn(m);
  } finally {
    await m.shutdown();
  }
}

Deno.test("NodeClaim counters are exported by pool and reason with _total names", async () => {
  await withMetrics(async (m) => {
    m.claimLaunched("general", "PodsPending");
    m.claimLaunched("general", "PodsPending");
    m.claimLaunched("gpu", "MinNodes");
    m.claimRegistered("general");
    m.claimDisrupted("general", "Empty");
    m.claimTerminated("general", "Empty");
    const s = parsePrometheus(await m.collect());
    const v = (name: string, labels: Record<string, string>) => sampleValue(s, name, labels);
    assert.equal(
      v("proxscale_nodeclaims_created_total", { nodepool: "general", reason: "PodsPending" }),
      2,
    );
    assert.equal(
      v("proxscale_nodeclaims_created_total", { nodepool: "gpu", reason: "MinNodes" }),
      1,
    );
    assert.equal(
      v("proxscale_nodeclaims_registered_total", { nodepool: "general", reason: "Registered" }),
      1,
    );
    assert.equal(
      v("proxscale_nodeclaims_disrupted_total", { nodepool: "general", reason: "Empty" }),
      1,
    );
    assert.equal(
      v("proxscale_nodeclaims_terminated_total", { nodepool: "general", reason: "Empty" }),
      1,
    );
    assert.ok(s.every((x) => !("otel_scope_name" in x.labels)), "no scope noise on every series");
  });
});

Deno.test("pool usage, limit and overhead are per resource, cpu in cores and memory in bytes", async () => {
  await withMetrics(async (m) => {
    const gi = 1024 ** 3;
    m.setPoolUsage(
      "general",
      { cpu: 12_500, memory: 27 * gi, nodes: 3 },
      { cpu: 64_000, memory: 256 * gi },
      { memory: 3 * gi },
    );
    const s = parsePrometheus(await m.collect());
    assert.equal(
      sampleValue(s, "proxscale_nodepool_usage", { nodepool: "general", resource: "cpu" }),
      12.5,
    );
    assert.equal(sampleValue(s, "proxscale_nodepool_usage", { resource: "memory" }), 27 * gi);
    assert.equal(sampleValue(s, "proxscale_nodepool_usage", { resource: "nodes" }), 3);
    assert.equal(sampleValue(s, "proxscale_nodepool_limit", { resource: "cpu" }), 64);
    assert.equal(
      sampleValue(s, "proxscale_nodepool_limit", { resource: "nodes" }),
      undefined,
      "unlimited is not exported",
    );
    assert.equal(sampleValue(s, "proxscale_nodepool_overhead", { resource: "memory" }), 3 * gi);
  });
});

Deno.test("provider requests count by templated endpoint and code, latency in seconds buckets", async () => {
  await withMetrics(async (m) => {
    m.observePveCall({ endpoint: "POST /nodes/pve1/qemu/9000/clone", durationMs: 40, status: 200 });
    m.observePveCall({
      endpoint: "POST /nodes/pve2/qemu/9001/clone",
      durationMs: 700,
      status: 200,
    });
    m.observePveCall({ endpoint: "GET /cluster/nextid", durationMs: 3000, kind: "timeout" });
    const s = parsePrometheus(await m.collect());
    const clone = { endpoint: "POST /nodes/{node}/qemu/{vmid}/clone", code: "200" };
    assert.equal(sampleValue(s, "proxscale_provider_requests_total", clone), 2);
    assert.equal(sampleValue(s, "proxscale_provider_request_duration_seconds_count", clone), 2);
    assert.equal(sampleValue(s, "proxscale_provider_request_duration_seconds_sum", clone), 0.74);
    assert.equal(
      sampleValue(s, "proxscale_provider_request_duration_seconds_bucket", {
        ...clone,
        le: "0.05",
      }),
      1,
    );
    assert.equal(
      sampleValue(s, "proxscale_provider_request_duration_seconds_bucket", { ...clone, le: "1" }),
      2,
    );
    assert.equal(
      sampleValue(s, "proxscale_provider_requests_total", {
        endpoint: "GET /cluster/nextid",
        code: "timeout",
      }),
      1,
    );
  });
});

Deno.test("endpoint templates drop hosts, vmids, storages and UPIDs", () => {
  assert.equal(
    endpointTemplate("DELETE /nodes/pve-3/qemu/120"),
    "DELETE /nodes/{node}/qemu/{vmid}",
  );
  assert.equal(
    endpointTemplate("GET /nodes/pve1/tasks/UPID:pve1:0001:qmclone:120:root@pam:/status"),
    "GET /nodes/{node}/tasks/{upid}/status",
  );
  assert.equal(
    endpointTemplate("GET /nodes/pve1/storage/local-lvm/content"),
    "GET /nodes/{node}/storage/{storage}/content",
  );
  assert.equal(endpointTemplate("GET /cluster/nextid"), "GET /cluster/nextid");
});

Deno.test("loop, queue, leader, sync, pods, drift, evictions and Kubernetes calls are exported", async () => {
  await withMetrics(async (m) => {
    m.observeReconcile("total", 120);
    m.reconcileError("KubernetesError");
    m.setQueueJobs({ waiting: 3, active: 1 });
    m.setLeader(true);
    m.setStateSynced(true);
    m.setPendingPods(7);
    m.observePodPending(42_000, "general");
    m.setDriftFindings([{ nodepool: "general", reason: "Drifted", count: 2 }]);
    m.eviction("pdb_blocked");
    m.disruptionDecision("delete", "Empty");
    m.providerError("launch", "VmidRangeExhausted");
    m.observeKubernetesRequest("patch", "nodes", 200, 15);
    m.setNodes([{ nodepool: "general", state: "Ready", count: 4 }]);
    const s = parsePrometheus(await m.collect());
    assert.equal(
      sampleValue(s, "proxscale_reconcile_duration_seconds_sum", { phase: "total" }),
      0.12,
    );
    assert.equal(
      sampleValue(s, "proxscale_reconcile_errors_total", { reason: "KubernetesError" }),
      1,
    );
    assert.equal(
      sampleValue(s, "proxscale_queue_jobs", { queue: "proxscale", state: "waiting" }),
      3,
    );
    assert.equal(sampleValue(s, "proxscale_queue_jobs", { state: "active" }), 1);
    assert.equal(sampleValue(s, "proxscale_leader"), 1);
    assert.equal(sampleValue(s, "proxscale_state_synced"), 1);
    assert.equal(sampleValue(s, "proxscale_pending_pods"), 7);
    assert.equal(
      sampleValue(s, "proxscale_pod_pending_duration_seconds_bucket", {
        nodepool: "general",
        le: "45",
      }),
      1,
    );
    assert.equal(
      sampleValue(s, "proxscale_pod_pending_duration_seconds_bucket", {
        nodepool: "general",
        le: "30",
      }),
      0,
    );
    assert.equal(
      sampleValue(s, "proxscale_drift_findings", { nodepool: "general", reason: "Drifted" }),
      2,
    );
    assert.equal(sampleValue(s, "proxscale_evictions_total", { result: "pdb_blocked" }), 1);
    assert.equal(
      sampleValue(s, "proxscale_disruption_decisions_total", {
        decision: "delete",
        reason: "Empty",
      }),
      1,
    );
    assert.equal(
      sampleValue(s, "proxscale_provider_errors_total", {
        operation: "launch",
        code: "VmidRangeExhausted",
      }),
      1,
    );
    assert.equal(
      sampleValue(s, "proxscale_kubernetes_requests_total", {
        verb: "patch",
        resource: "nodes",
        code: "200",
      }),
      1,
    );
    assert.equal(sampleValue(s, "proxscale_nodes", { nodepool: "general", state: "Ready" }), 4);
  });
});

Deno.test("a per-pass gauge family drops series missing from the next pass to zero", async () => {
  await withMetrics(async (m) => {
    m.setQueueJobs({ waiting: 3, failed: 2 });
    m.setQueueJobs({ waiting: 1 });
    m.setDriftFindings([{ nodepool: "a", reason: "OrphanVM", count: 1 }]);
    m.setDriftFindings([]);
    m.setLeader(true);
    m.setLeader(false);
    const s = parsePrometheus(await m.collect());
    assert.equal(sampleValue(s, "proxscale_queue_jobs", { state: "waiting" }), 1);
    assert.equal(sampleValue(s, "proxscale_queue_jobs", { state: "failed" }), 0);
    assert.equal(sampleValue(s, "proxscale_drift_findings", { reason: "OrphanVM" }), 0);
    assert.equal(sampleValue(s, "proxscale_leader"), 0);
  });
});

Deno.test("a registered secret passed as a label value never reaches the exposition", async () => {
  const redactor = createRedactor();
  const secret = "pve-token-0f3c9a-secret";
  redactor.registerSecret(secret);
  await withMetrics(async (m) => {
    m.claimLaunched(`pool-${secret}`, "PodsPending");
    m.observeProviderRequest(`GET /access?token=${secret}`, 401, 5);
    m.setNodes([{ nodepool: secret, state: "Ready", count: 1 }]);
    const text = await m.collect();
    assert.ok(!text.includes(secret), text);
    assert.equal(
      sampleValue(parsePrometheus(text), "proxscale_nodeclaims_created_total", {
        nodepool: "pool-<redacted>",
      }),
      1,
    );
  }, redactor);
});
