import assert from "node:assert/strict";
import type { Config, NodeClaim, Pod, Snapshot } from "../core/model.ts";
import { checkIpPool } from "../core/ipam_pool.ts";
import type { ReconcilePlan } from "../core/reconcile.ts";
import { createMetrics } from "../adapters/telemetry/metrics.ts";
import { PassMetrics } from "./pass_metrics.ts";

const plan = { actions: [], provisioning: { claims: [] } } as unknown as ReconcilePlan;

function pod(name: string, nodeName?: string): Pod {
  return {
    uid: name,
    name,
    namespace: "default",
    phase: nodeName ? "Running" : "Pending",
    ...(nodeName ? { nodeName } : { unschedulable: true, pendingSince: 1_000 }),
    createdAt: 1_000,
    containers: [],
  } as Pod;
}

function snap(now: number, pods: Pod[], claims: NodeClaim[] = []): Snapshot {
  return {
    now,
    pods,
    nodes: [{ name: "n1", labels: { "proxscale.io/nodepool": "general" } }] as never,
    nodeClaims: claims,
    hosts: [],
    vms: [],
    pdbs: [],
  };
}

const value = (text: string, series: RegExp) => Number(series.exec(text)?.[1] ?? NaN);

Deno.test("pending pods count unschedulable pods now and drop to 0 once they are bound", async () => {
  const m = createMetrics();
  try {
    const p = new PassMetrics(m, () => undefined);
    p.pass(plan, true, snap(2_000, [pod("a"), pod("b"), pod("c", "n1")]));
    assert.equal(value(await m.collect(), /^proxscale_pending_pods (\d+)/m), 2);
    p.pass(plan, true, snap(31_000, [pod("a", "n1"), pod("b", "n1"), pod("c", "n1")]));
    const text = await m.collect();
    assert.equal(value(text, /^proxscale_pending_pods (\d+)/m), 0);
    // Each waited from its pendingSince (1 s) to the pass that saw it bound (31 s): 30 s.
    assert.equal(
      value(text, /^proxscale_pod_pending_duration_seconds_count\{nodepool="general"\} (\d+)/m),
      2,
    );
    assert.equal(
      value(text, /^proxscale_pod_pending_duration_seconds_sum\{nodepool="general"\} (\d+)/m),
      60,
    );
  } finally {
    await m.shutdown();
  }
});

Deno.test("a waiting pod is timed the moment the informer sees it bound, not a pass later", async () => {
  const m = createMetrics();
  try {
    const p = new PassMetrics(m, () => undefined);
    p.pass(plan, true, snap(2_000, [pod("a")]));
    p.podEvent(pod("a", "n1"));
    const text = await m.collect();
    assert.equal(
      value(text, /^proxscale_pod_pending_duration_seconds_count\{nodepool="general"\} (\d+)/m),
      1,
    );
    // The next pass does not count it again.
    p.pass(plan, true, snap(3_000, [pod("a", "n1")]));
    assert.equal(
      value(await m.collect(), /^proxscale_pod_pending_duration_seconds_count\{[^}]*\} (\d+)/m),
      1,
    );
  } finally {
    await m.shutdown();
  }
});

Deno.test("counters dashboards read start at 0 for every pool and closed label value", async () => {
  const m = createMetrics();
  try {
    const config = {
      nodePools: [{ name: "general" }, { name: "batch" }],
      machineTemplates: [],
      providers: [],
    } as never;
    new PassMetrics(m, () => config).pass(plan, true, snap(2_000, []));
    const text = await m.collect();
    for (
      const series of [
        /^proxscale_nodeclaims_disrupted_total\{nodepool="batch"\} 0$/m,
        /^proxscale_nodeclaims_terminated_total\{nodepool="general"\} 0$/m,
        /^proxscale_evictions_total\{result="pdb_blocked"\} 0$/m,
        /^proxscale_provider_errors_total\{operation="create"\} 0$/m,
        /^proxscale_reconcile_errors_total\{reason="ProviderError"\} 0$/m,
        /^proxscale_disruption_decisions_total\{decision="emptiness"\} 0$/m,
        /^proxscale_drift_findings\{nodepool="general",reason="Drifted"\} 0$/m,
      ]
    ) assert.match(text, series);
  } finally {
    await m.shutdown();
  }
});

Deno.test("each configured host is up or down, and pools with repair paused show 1", async () => {
  const m = createMetrics();
  try {
    const config = {
      providers: [{ name: "lab", hosts: [{ name: "pve1" }, { name: "pve2" }] }],
      nodePools: [{ name: "general" }, { name: "batch" }],
      machineTemplates: [],
    } as never;
    const p = new PassMetrics(m, () => config);
    const s = snap(1_000, []);
    s.hosts = [
      { name: "pve1", provider: "lab", online: true },
      { name: "pve2", provider: "lab", online: false },
    ] as never;
    const paused = {
      ...plan,
      actions: [{ kind: "RepairPaused", nodePool: "general", reason: { code: "RepairPaused" } }],
    } as unknown as ReconcilePlan;
    p.pass(paused, true, s);
    let text = await m.collect();
    assert.equal(value(text, /^proxscale_host_up\{provider="lab",host="pve1"\} (\d+)/m), 1);
    assert.equal(value(text, /^proxscale_host_up\{provider="lab",host="pve2"\} (\d+)/m), 0);
    assert.equal(value(text, /^proxscale_nodepool_repair_paused\{nodepool="general"\} (\d+)/m), 1);
    assert.equal(value(text, /^proxscale_nodepool_repair_paused\{nodepool="batch"\} (\d+)/m), 0);
    // The provider cannot be read at all: every host of it is down; repair resumes.
    p.pass(plan, true, { ...s, unavailableProviders: ["lab"] });
    text = await m.collect();
    assert.equal(value(text, /^proxscale_host_up\{provider="lab",host="pve1"\} (\d+)/m), 0);
    assert.equal(value(text, /^proxscale_nodepool_repair_paused\{nodepool="general"\} (\d+)/m), 0);
  } finally {
    await m.shutdown();
  }
});

Deno.test("IP pool addresses are exported by provider, pool and state: held, foreign, free", async () => {
  const m = createMetrics();
  try {
    const pool = checkIpPool({ name: "nodes", cidr: "10.0.20.0/29" }); // .1-.6
    assert.ok(pool.ok);
    const config = {
      providers: [{ name: "pve", ipPools: [pool.value], hosts: [] }],
      nodePools: [],
      machineTemplates: [],
    } as unknown as Config;
    const held = {
      name: "c1",
      provider: "pve",
      nodePool: "general",
      addresses: [{ slot: "net0", pool: "nodes", address: "10.0.20.1" }],
      conditions: [],
    } as unknown as NodeClaim;
    const p = new PassMetrics(m, () => config, () => ["10.0.20.1", "10.0.20.4", "10.0.30.1"]);
    p.pass(plan, true, snap(1_000, [], [held]));
    const text = await m.collect();
    const state = (s: string) =>
      value(
        text,
        new RegExp(
          `^proxscale_ip_pool_addresses\\{provider="pve",pool="nodes",state="${s}"\\} (\\d+)`,
          "m",
        ),
      );
    assert.deepEqual([state("held"), state("foreign"), state("free")], [1, 1, 4]);
  } finally {
    await m.shutdown();
  }
});

Deno.test("a pool's cost per hour is exported by capacity type, each VM at its host class's prices", async () => {
  const m = createMetrics();
  try {
    const GiB = 1024 ** 3;
    const config = {
      providers: [{
        name: "pve",
        hosts: [],
        capacityTypes: { preemptible: { perVcpuHour: 0.005, perGiBHour: 0.001 } },
      }],
      nodePools: [{ name: "general", limits: {} }, { name: "idle", limits: {} }],
      machineTemplates: [{ name: "tpl", vmMemOverhead: 0 }],
      settings: { cost: { perVcpuHour: 0.02, perGiBHour: 0.0025 } },
    } as unknown as Config;
    const claim = (name: string, type?: string) =>
      ({
        name,
        provider: "pve",
        nodePool: "general",
        machineTemplate: "tpl",
        shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * GiB },
        labels: type ? { "proxscale.io/capacity-type": type } : {},
        conditions: [],
      }) as unknown as NodeClaim;
    const p = new PassMetrics(m, () => config);
    p.pass(
      plan,
      true,
      snap(1_000, [], [claim("a"), claim("b", "preemptible"), claim("c", "preemptible")]),
    );
    const text = await m.collect();
    const cost = (pool: string, type: string) =>
      value(
        text,
        new RegExp(
          `^proxscale_nodepool_cost_per_hour\\{nodepool="${pool}",capacity_type="${type}"\\} ([\\d.e-]+)`,
          "m",
        ),
      );
    // 4 vCPU and 8 GiB: 0.08 + 0.02 at settings.cost; 0.02 + 0.008 per preemptible VM.
    assert.ok(Math.abs(cost("general", "standard") - 0.1) < 1e-9, text);
    assert.ok(Math.abs(cost("general", "preemptible") - 0.056) < 1e-9, text);
    assert.equal(cost("idle", "standard"), 0);
  } finally {
    await m.shutdown();
  }
});
