/**
 * The metrics operators read are true: every metric the Grafana dashboard's panels, the alerting
 * rules and docs/operations.md name is emitted by a running `proxscale run` process, where the
 * event happens. The test starts the fake cluster, runs the real daemon process against it,
 * drives a scale-up (with one failed clone, one failed inventory read and one orphan VM), the
 * deletion of a busy NodeClaim (its pods are evicted) and a scale-down to zero, scrapes the
 * daemon's /metrics over its HTTP socket all along, and asserts each named metric is present
 * and moved: counters and histograms above 0, gauges non-zero at some point, pending pods above
 * 0 while pods wait and 0 at the end.
 */
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import {
  type RunProcess,
  startPlainCluster,
  startRunProcess,
  until,
} from "./testing/run_process.ts";
import { auditVms } from "../harness/demo.ts";
import { MiB } from "../core/quantity.ts";
import { defaultChartValues, renderChartObjects } from "../adapters/deploy/helm_render.ts";

const root = new URL("../", import.meta.url);
const read = (p: string) => Deno.readTextFile(new URL(p, root));
const METRIC = /\bproxscale_[a-z_]+/g;
const familyOf = (name: string) => name.replace(/_(bucket|sum|count)$/, "");

/** Metric names in the dashboard's panels (PromQL of every target). */
async function dashboardNames(): Promise<Set<string>> {
  const d = JSON.parse(await read("deploy/grafana-dashboard.json")) as {
    panels: { targets?: { expr: string }[] }[];
  };
  const names = new Set<string>();
  for (const p of d.panels) {
    for (const t of p.targets ?? []) for (const m of t.expr.matchAll(METRIC)) names.add(m[0]);
  }
  return names;
}

type Rule = { alert: string; expr: string };

/** The alerting rules as committed in deploy/ and as the chart renders them when enabled. */
async function alertRules(): Promise<{ plain: Rule[]; chart: Rule[] }> {
  const rulesOf = (objs: { kind?: string; spec?: { groups: { rules: Rule[] }[] } }[]) =>
    objs.filter((o) => o?.kind === "PrometheusRule").flatMap((o) =>
      o.spec!.groups.flatMap((g) => g.rules)
    );
  const plain = rulesOf(
    parseAllDocuments(await read("deploy/prometheus-rules.yaml")).map((d) => d.toJS()),
  );
  const values = defaultChartValues();
  const off = rulesOf(renderChartObjects(values, "proxscale-system") as never[]);
  assert.equal(off.length, 0, "the chart renders no PrometheusRule unless enabled");
  const chart = rulesOf(
    renderChartObjects(
      { ...values, prometheusRule: { enabled: true } },
      "proxscale-system",
    ) as never[],
  );
  return { plain, chart };
}

/**
 * Metrics that are on /metrics in this scenario but stay 0 in it, and why: no NodePool here
 * ever has more than its allowed fraction of nodes NotReady (daemon/pass_metrics_test.ts shows
 * the repair-paused gauge at 1 for such a pool).
 */
const ZERO_IN_SCENARIO = new Set(["proxscale_nodepool_repair_paused"]);

/**
 * Metrics with a series per Tenant: this scenario has no Tenant, so they are absent here;
 * tests/tenancy_e2e_test.ts reads them from a daemon with tenants.
 */
const PER_TENANT = new Set(["proxscale_tenant_quota_blocked_pods"]);

/** Metric names in docs/operations.md's metrics table. */
async function docNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const line of (await read("docs/operations.md")).split("\n")) {
    const m = /^\| `(proxscale_[a-z_]+)`/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** One scrape: family -> sum over its series (histograms: `_count`; counters: `_total`). */
function scrapeValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+?)(_bucket|_sum|_count)?(?:\{.*\})? ([-+0-9.eENaInf]+)$/.exec(line);
    if (!m || m[2] === "_bucket" || m[2] === "_sum") continue;
    const name = m[1]!;
    out.set(name, (out.get(name) ?? 0) + Number(m[3]));
  }
  return out;
}

Deno.test("every metric the dashboard, the alert rules and the docs name is emitted by a running daemon", async () => {
  const dashboard = await dashboardNames();
  const rules = await alertRules();
  assert.deepEqual(rules.chart, rules.plain, "the chart carries the same rules as deploy/");
  const ruleNames = new Set(
    rules.plain.flatMap((r) => [...r.expr.matchAll(METRIC)].map((m) => m[0])),
  );
  for (
    const alert of [
      "ProxscaleLaunchesFailing",
      "ProxscaleNoLeader",
      "ProxscalePveUnreachable",
      "ProxscalePodsPendingTooLong",
      "ProxscaleLeakedVmSuspected",
    ]
  ) assert.ok(rules.plain.some((r) => r.alert === alert), `alert ${alert}`);
  const docs = await docNames();
  assert.ok(dashboard.size >= 15 && docs.size >= 15, "names were extracted");
  const named = new Set([...dashboard, ...ruleNames, ...docs].map(familyOf));

  const cluster = await startPlainCluster(14);
  const dir = await Deno.makeTempDir({ prefix: "proxscale-metrics-" });
  const seen = new Map<string, number[]>();
  let daemon: RunProcess | undefined;
  try {
    const hosts = cluster.pve.model.nodes().map((n) => String(n.node)).sort();
    // A VM tagged as proxscale's whose NodeClaim does not exist: an orphan to find and remove.
    cluster.pve.model.addVm({
      vmid: 1999,
      node: hosts[0]!,
      name: "ghost",
      config: { tags: "proxscale", memory: String(1024) },
      description: "proxscale.io/nodeclaim=ghost-1",
      running: false,
    });
    // One failed clone (a launch fails, then its retry succeeds) and one failed inventory read.
    cluster.pve.faults.set({
      errors: [
        {
          endpoint: "POST /nodes/{node}/qemu/{vmid}/clone",
          times: 1,
          status: 403,
          message: "injected clone failure",
        },
        { endpoint: "GET /cluster/resources", times: 8, status: 500, message: "injected outage" },
      ],
    });
    daemon = await startRunProcess(cluster, dir);
    const port = daemon.port;
    let last = new Map<string, number>();
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      last = scrapeValues(await res.text());
      for (const [k, v] of last) seen.set(k, [...(seen.get(k) ?? []), v]);
    };
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        await scrape();
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const t0 = Date.now();

    // Scale-up: 10 pods wait, VMs are cloned, nodes register, pods run.
    cluster.world.deploy({ name: "web", replicas: 10, cpu: 700, memory: 512 * MiB });
    const bound = () => [...cluster.world.pods.values()].filter((p) => p.boundAt).length;
    await until(() => bound() >= 10 && cluster.world.pendingPods() === 0, 60_000, "scale-up");
    const upMs = Date.now() - t0;
    // An operator deletes a busy NodeClaim: its pods are evicted before its VM goes.
    const claims = cluster.kube.store.list("nodeclaims.proxscale.io");
    assert.ok(claims.ok);
    const busy = claims.value.items.find((c) =>
      [...cluster.world.pods.values()].some((p) =>
        p.boundAt && p.node === (c as { status?: { nodeName?: string } }).status?.nodeName
      )
    ) as { metadata: { name: string } } | undefined;
    assert.ok(busy, "a NodeClaim with pods");
    cluster.kube.store.delete("nodeclaims.proxscale.io", undefined, busy.metadata.name);
    await until(
      () => (seen.get("proxscale_evictions_total") ?? []).some((v) => v > 0),
      40_000,
      "evictions",
    );
    await until(() => cluster.world.pendingPods() === 0, 60_000, "pods back after the drain");
    // Scale-down to zero: empty nodes are consolidated away, every VM goes.
    cluster.world.scale("web", 0);
    await until(() => cluster.world.liveVms().length === 0, 90_000, "scale-down to 0 VMs");
    await new Promise((r) => setTimeout(r, 1_500));
    scraping = false;
    await scraper;
    await scrape();
    const audit = auditVms(cluster);
    console.log(
      `metrics scenario: scale-up ${upMs} ms, VMs created ${cluster.world.vms.size}, ` +
        `leaked ${audit.leaked}, duplicates ${audit.duplicates}, families ${last.size}`,
    );
    assert.equal(audit.leaked, 0);
    assert.equal(audit.duplicates, 0);

    const pending = seen.get("proxscale_pending_pods") ?? [];
    assert.ok(pending.some((v) => v > 0), "pending pods above 0 while pods wait");
    assert.equal(last.get("proxscale_pending_pods"), 0, "pending pods back to 0");
    const missing: string[] = [];
    const still: string[] = [];
    for (const name of [...named].sort()) {
      const values = seen.get(name) ?? seen.get(`${name}_total`) ?? seen.get(`${name}_count`);
      if (!values) {
        if (!PER_TENANT.has(name)) missing.push(name);
      } else if (!values.some((v) => v !== 0) && !ZERO_IN_SCENARIO.has(name)) still.push(name);
    }
    assert.deepEqual(missing, [], `never on /metrics: ${missing.join(", ")}`);
    assert.deepEqual(still, [], `never moved from 0: ${still.join(", ")}`);
  } finally {
    await daemon?.stop();
    await cluster.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the alert rules only read metrics the dashboard's registry declares", async () => {
  const { plain } = await alertRules();
  const known = new Set(
    Object.values(
      (await import("../adapters/deploy/grafana.ts")).DASHBOARD_METRICS,
    ).map(familyOf),
  );
  for (const r of plain) {
    for (const m of r.expr.matchAll(METRIC)) {
      assert.ok(known.has(familyOf(m[0])), `${r.alert} reads ${m[0]}`);
    }
  }
  assert.ok(parse(await read("deploy/prometheus-rules.yaml").then((t) => t.split("---")[0]!)));
});
