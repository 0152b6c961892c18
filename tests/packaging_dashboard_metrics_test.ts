/**
 * deploy/grafana-dashboard.json against what /metrics really serves: every metric a panel
 * queries is exported by adapters/telemetry/metrics.ts, with every label the panel groups by.
 * A renamed metric or label then breaks this test instead of leaving an empty panel.
 */
import assert from "node:assert/strict";
import { createMetrics } from "../adapters/telemetry/metrics.ts";
import { dashboard, DASHBOARD_METRICS } from "../adapters/deploy/grafana.ts";

/** Every series family in Prometheus text: base name -> label names seen. */
function series(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    // Label values may hold braces and commas (`endpoint="POST /nodes/{node}/..."`).
    const m = /^([a-z_]+?)(_bucket|_sum|_count)?(?:\{(.*)\})? [-+0-9.eENaInf]+$/.exec(line);
    if (!m) continue;
    const labels = out.get(m[1]!) ?? new Set<string>();
    for (const kv of (m[3] ?? "").matchAll(/([a-zA-Z_]+)="(?:[^"\\]|\\.)*"/g)) labels.add(kv[1]!);
    out.set(m[1]!, labels);
  }
  return out;
}

Deno.test("every metric and label the Grafana dashboard queries is exported on /metrics", async () => {
  const m = createMetrics();
  try {
    m.claimLaunched("general", "PodsPending");
    m.claimRegistered("general");
    m.claimDisrupted("general", "Empty");
    m.claimTerminated("general", "Empty");
    m.setNodes([{ nodepool: "general", state: "Ready", count: 2 }]);
    m.setPendingPods(3);
    m.observePodPending(12_000, "general");
    m.setPoolUsage("general", { cpu: 4000, memory: 2 ** 33, nodes: 1 }, {
      cpu: 64000,
      memory: 2 ** 38,
      nodes: 10,
    });
    m.observeProviderRequest("POST /nodes/pve1/qemu/9000/clone", 200, 120);
    m.providerError("clone", "locked");
    m.observeKubernetesRequest("patch", "nodes", 200, 8);
    m.observeReconcile("total", 40);
    m.reconcileError("ProviderError");
    m.setQueueJobs({ waiting: 1, active: 2 });
    m.setLeader(true);
    m.setStateSynced(true);
    m.setDriftFindings([{ nodepool: "general", reason: "OrphanVM", count: 1 }]);
    m.eviction("evicted");
    m.disruptionDecision("delete", "Empty");
    const exported = series(await m.collect());
    const base = (name: string) => name.replace(/_(total|bucket)$/, "");
    const find = (name: string) => exported.get(name) ?? exported.get(base(name));
    for (const name of Object.values(DASHBOARD_METRICS)) {
      assert.ok(
        find(name),
        `${name} is not on /metrics (have: ${[...exported.keys()].join(", ")})`,
      );
    }
    const d = dashboard() as { panels: { title: string; targets: { expr: string }[] }[] };
    for (const p of d.panels) {
      for (const t of p.targets) {
        const by = [...t.expr.matchAll(/by \(([^)]*)\)/g)].flatMap((x) => x[1]!.split(/,\s*/));
        const names = t.expr.match(/proxscale_[a-z_]+/g) ?? [];
        for (const label of by.filter((l) => l !== "le")) {
          assert.ok(
            names.some((n) => find(n)?.has(label)),
            `panel "${p.title}" groups by ${label}, which ${names.join(", ")} does not carry`,
          );
        }
      }
    }
  } finally {
    await m.shutdown();
  }
});
