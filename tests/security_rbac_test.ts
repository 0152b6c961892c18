/**
 * RBAC enforcement end to end: the fake API server holds the ServiceAccount, ClusterRole, Roles
 * and bindings of deploy/proxscale.yaml and authorizes the daemon's ServiceAccount token from
 * them alone, and the real daemon still serves a burst of pods, scales in, and leaks nothing.
 * The negative control removes one verb the daemon needs (creating NodeClaims) from the stored
 * ClusterRole and shows the run fails visibly: 403s at the API server, a failed launch
 * reported, no VM, pods left pending.
 */
import assert from "node:assert/strict";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import type { Denial } from "../fakes/fake_kube/server.ts";
import { auditVms } from "../harness/demo.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { GiB } from "../core/quantity.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { MaintenanceMode } from "../daemon/maintenance.ts";
import { ConfigReloader, watchConfigCrds } from "../daemon/config_reload.ts";
import { kubeChecks } from "../cli/diagnose_kube.ts";
import { applyShippedRbac } from "./testing/shipped_rbac.ts";

/** Namespace of the daemon's Lease in the demo cluster (its "own" namespace). */
const NS = "default";
const SA = `system:serviceaccount:${NS}:proxscale`;

async function until(cond: () => boolean | Promise<boolean>, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function describe(r: Denial): string {
  if (!r.resourceRequest) return `${r.verb} ${r.path}`;
  const res = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  return `${r.verb} ${r.group || "core"}/${res}${r.namespace ? ` in ${r.namespace}` : ""}`;
}

/**
 * A cluster whose API server stores the shipped RBAC (minus `drop`); the daemon calls with its
 * ServiceAccount's token. The admin token is only used by the test itself.
 */
async function rbacCluster(drop?: { resource: string; verb: string }) {
  const cluster = await startDemoCluster({ seed: 7 });
  const saToken = await applyShippedRbac(cluster.kube, NS, drop);
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const reports: DecisionReport[] = [];
  const errors: string[] = [];
  const handle = await cluster.spawn({
    queue,
    kubeToken: saToken,
    report: (d) => reports.push(d),
    onError: (m) => errors.push(m),
  });
  return {
    cluster,
    handle,
    saToken,
    denied: () => cluster.kube.denials.filter((d) => d.user === SA).map(describe),
    reports,
    errors,
    saCalls: () => cluster.kube.requests.filter((r) => r.user === SA).length,
    close: async () => {
      await cluster.close();
      await queue.close();
    },
  };
}

const lines = (rs: DecisionReport[]) =>
  rs.map((d) => `${d.what} ${d.nodeclaim ?? d.node ?? ""} ${d.reason.code}: ${d.reason.message}`)
    .join("\n");

Deno.test("RBAC enforced: the daemon as its ServiceAccount scales out and in, 0 leaked", async () => {
  const t = await rbacCluster();
  const { cluster } = t;
  try {
    cluster.world.deploy({ name: "web", replicas: 10, cpu: 500, memory: 1 * GiB });
    cluster.world.deploy({ name: "api", replicas: 4, cpu: 1000, memory: 1 * GiB });
    const bound = () =>
      [...cluster.world.pods.values()].filter((p) => p.boundAt !== undefined).length;
    assert.ok(await until(() => bound() >= 14, 25_000), `pods scheduled\n${lines(t.reports)}`);
    const created = cluster.world.liveVms().length;
    assert.ok(created >= 2, `VMs created: ${created}`);

    cluster.world.scale("web", 1);
    cluster.world.scale("api", 0);
    const scaledIn = await until(
      () => cluster.world.liveVms().length === 1 && cluster.world.pendingPods() === 0,
      30_000,
    );
    assert.ok(scaledIn, `scale-in to one VM\n${lines(t.reports)}`);
    const audit = auditVms(cluster);
    assert.equal(audit.leaked, 0);
    assert.equal(audit.duplicates, 0);
    assert.ok(t.reports.some((d) => d.what === "VmDeleted"), lines(t.reports));

    // The operations pieces run as the same ServiceAccount: the maintenance switch, the CRD
    // reload watcher, and diagnose's permission checks.
    const sa = kubeClientFromKubeconfig(
      cluster.kube.kubeconfig().replace(cluster.kube.token, t.saToken),
    );
    const maintenance = new MaintenanceMode({ kube: sa, namespace: NS });
    await maintenance.refresh();
    assert.equal(maintenance.state().error, undefined);
    const reloader = new ConfigReloader(cluster.config, "crds", { apply: () => {} });
    const watcher = watchConfigCrds(sa, reloader, { namespace: NS, debounceMs: 10 });
    try {
      assert.ok(await until(() => reloader.state().rejected !== undefined, 5_000), "watched");
    } finally {
      await watcher.stop();
    }
    const checks = await kubeChecks(sa, NS);
    assert.deepEqual(checks.filter((c) => !c.ok), [], "diagnose finds every permission");
    // Every call the daemon made went through the authorizer and none was refused.
    assert.ok(t.saCalls() > 50, `the daemon's calls were checked (${t.saCalls()})`);
    assert.deepEqual(t.denied(), [], "the rules miss calls the daemon makes");
    assert.ok(!t.reports.some((d) => d.what.endsWith("Failed")), lines(t.reports));
  } finally {
    await t.close();
  }
});

Deno.test("RBAC negative control: without 'create nodeclaims' the launch fails visibly", async () => {
  const t = await rbacCluster({ resource: "nodeclaims", verb: "create" });
  const { cluster } = t;
  try {
    cluster.world.deploy({ name: "web", replicas: 4, cpu: 500, memory: 1 * GiB });
    const failed = await until(
      () => t.reports.some((d) => d.what === "LaunchClaimFailed"),
      15_000,
    );
    assert.ok(failed, `a failed launch is reported\n${lines(t.reports)}`);
    const f = t.reports.find((d) => d.what === "LaunchClaimFailed")!;
    assert.match(f.reason.message, /forbidden|403/i);
    assert.ok(
      t.denied().some((d) => d.startsWith("create proxscale.io/nodeclaims")),
      t.denied().join(),
    );
    assert.equal(cluster.world.liveVms().length, 0, "no VM without a NodeClaim");
    assert.equal(cluster.world.pendingPods(), 4);
  } finally {
    await t.close();
  }
});
