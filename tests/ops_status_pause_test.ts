/**
 * Operations CLI against the real daemon and the fakes: `proxscale pause` (the ConfigMap
 * annotation, read by the daemon every pass) stops all action while decisions keep being
 * reported with the reason code Paused; `proxscale status` (GET /status on the daemon's HTTP
 * port) shows the pause, pools with usage incl. VM overhead, NodeClaims with conditions, jobs and
 * the last decisions; `proxscale resume` lets the daemon act; the standalone switch (POST /pause
 * through `proxscale pause --url`) works too.
 */
import assert from "node:assert/strict";
import { captureIo } from "../cli/command.ts";
import { pauseCommand, resumeCommand } from "../cli/pause.ts";
import { statusCommand } from "../cli/status.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { createMetrics } from "../adapters/telemetry/metrics.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startHttpServer } from "../daemon/http.ts";
import {
  attachMaintenance,
  MAINTENANCE_CONFIGMAP,
  MaintenanceMode,
  pausedReporter,
} from "../daemon/maintenance.ts";
import {
  daemonStatusSource,
  DecisionLog,
  type StatusReport,
  statusRoutes,
} from "../daemon/status_report.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { EventRecorder } from "../adapters/kubernetes/events.ts";
import { startDemoCluster } from "../harness/cluster.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { createNodeClaim, setNodeClaimStatus } from "../adapters/kubernetes/nodeclaim_writer.ts";
import { migrateText } from "../cli/migrate.ts";

const NS = "proxscale-system";
import { GiB, MiB } from "../core/quantity.ts";

async function until(cond: () => boolean | Promise<boolean>, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function cli(cmd: typeof statusCommand, args: string[]) {
  const io = captureIo();
  const code = await cmd.run(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

Deno.test("pause stops all action, decisions say Paused, status shows it, resume acts", async () => {
  const cluster = await startDemoCluster({ seed: 5 });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 500 },
  });
  const dir = await Deno.makeTempDir({ prefix: "proxscale-ops-" });
  const kubeconfig = `${dir}/kubeconfig`;
  await Deno.writeTextFile(kubeconfig, cluster.kube.kubeconfig());
  const admin = kubeClientFromKubeconfig(cluster.kube.kubeconfig());
  const maintenance = new MaintenanceMode({ kube: admin, namespace: "default" });
  const decisions = new DecisionLog(200);
  const all: DecisionReport[] = [];
  const handle = await cluster.spawn({
    queue,
    report: pausedReporter(
      (d) => {
        all.push(d);
        decisions.push(d);
      },
      () => maintenance.paused(),
      new EventRecorder(admin),
    ),
  });
  attachMaintenance(handle.daemon, maintenance);
  await maintenance.start(200);
  const http = await startHttpServer({
    hostname: "127.0.0.1",
    port: 0,
    metrics: createMetrics(),
    health: {
      liveness: () => ({ name: "loop", ok: true, detail: "" }),
      readiness: () => [],
    },
    routes: {
      ...statusRoutes(daemonStatusSource(handle.daemon, { decisions, maintenance })),
      ...maintenance.routes(),
    },
  });
  const url = `http://127.0.0.1:${http.port}`;
  const status = async () => {
    const r = await cli(statusCommand, ["--url", url, "--json"]);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as StatusReport;
  };
  try {
    // Pause through the cluster switch, then ask for pods.
    const p = await cli(pauseCommand, ["--kubeconfig", kubeconfig, "--namespace", "default"]);
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, /paused/);
    const cm = cluster.kube.store.get("configmaps", "default", MAINTENANCE_CONFIGMAP);
    assert.ok(cm.ok && cm.value.metadata.annotations?.["proxscale.io/paused"] === "true");
    assert.ok(await until(() => handle.daemon.paused(), 3_000), "the daemon read the annotation");

    cluster.world.deploy({ name: "web", replicas: 6, cpu: 500, memory: 1 * GiB });
    const held = await until(() => all.some((d) => d.reason.code === "Paused"), 10_000);
    assert.ok(held, "decisions while paused are reported");
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(cluster.world.liveVms().length, 0, "no VM while paused");
    const claims = cluster.kube.store.list("nodeclaims.proxscale.io");
    assert.ok(claims.ok && claims.value.items.length === 0, "no NodeClaim while paused");
    const launch = all.find((d) => d.what === "LaunchClaim")!;
    assert.equal(launch.reason.code, "Paused");
    assert.match(
      launch.reason.message,
      /maintenance mode: LaunchClaim not carried out \(PodsPending/,
    );
    type Ev = { reason: string; involvedObject: { kind: string } };
    const evented = await until(() => {
      const ev = cluster.kube.store.list("events");
      return ev.ok &&
        (ev.value.items as unknown as Ev[]).some((e) =>
          e.reason === "Paused" && e.involvedObject.kind === "NodeClaim"
        );
    }, 3_000);
    assert.ok(evented, "a Paused Event on the NodeClaim it would launch");

    const s1 = await status();
    assert.equal(s1.maintenance.paused, true);
    assert.equal(s1.maintenance.cluster, true);
    assert.ok(s1.decisions.some((d) => d.reason.code === "Paused"));
    const text = await cli(statusCommand, ["--url", url]);
    assert.match(text.out, /PAUSED \(maintenance mode, annotation/);
    assert.match(text.out, /LaunchClaim \(not carried out\).*Paused: maintenance mode/);

    // Resume: the daemon acts on the same pods.
    const r = await cli(resumeCommand, ["--kubeconfig", kubeconfig, "--namespace", "default"]);
    assert.equal(r.code, 0, r.err);
    const served = await until(() => cluster.world.pendingPods() === 0, 20_000);
    assert.ok(served, "pods scheduled after resume");
    assert.ok(all.some((d) => d.what === "VmCreated"));

    // Status after resume: pool usage with VM overhead, claims with conditions, jobs.
    await until(async () => (await status()).claims.every((c) => c.node !== undefined), 5_000);
    const s2 = await status();
    assert.equal(s2.maintenance.paused, false);
    assert.equal(s2.leader, true);
    const pool = s2.pools.find((x) => x.name === "general")!;
    assert.equal(pool.vmMemOverhead, 256 * MiB);
    assert.equal(pool.usage.nodes, s2.claims.length);
    assert.ok(pool.usage.nodes >= 1);
    const shapes = cluster.config.machineTemplates[0]!.shapes;
    const guest = s2.claims.reduce((a, c) => a + shapes.find((x) => x.name === c.shape)!.memory, 0);
    assert.equal(pool.usage.memory, guest + pool.usage.nodes * 256 * MiB, "overhead counted");
    assert.equal(pool.limits.nodes, 20);
    assert.ok(s2.claims.every((c) => c.conditions.some((k) => k.type === "Launched")));
    assert.ok(s2.jobs.counts.completed >= 1, JSON.stringify(s2.jobs.counts));
    assert.ok(s2.jobs.list.some((j) => j.kind === "launch"));
    assert.ok(s2.loop!.passes > 0);
    const t2 = (await cli(statusCommand, ["--url", url])).out;
    assert.match(t2, /general\s+worker\s+\d+ \/ 20/);
    assert.match(t2, /jobs: waiting \d+, active \d+/);
    assert.match(t2, /VmCreated.*PodsPending|LaunchClaim.*PodsPending/);

    // The standalone switch over HTTP.
    const hp = await cli(pauseCommand, ["--url", url]);
    assert.equal(hp.code, 0, hp.err);
    assert.equal(handle.daemon.paused(), true);
    assert.equal((await status()).maintenance.local, true);
    const hr = await cli(resumeCommand, ["--url", url]);
    assert.equal(hr.code, 0, hr.err);
    assert.equal(handle.daemon.paused(), false);
  } finally {
    await http.shutdown();
    await maintenance.stop();
    await cluster.close();
    await queue.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("status: an unreachable daemon is an error (exit 1), not an empty report", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const r = await cli(statusCommand, ["--url", `http://127.0.0.1:${port}`]);
  assert.equal(r.code, 1);
  assert.match(r.err, /proxscale status: http:\/\/127\.0\.0\.1:\d+/);
});

Deno.test("status --kubeconfig: without the daemon, pools and NodeClaims come from the cluster", async () => {
  const kube = await startFakeKube({ seed: 4 });
  const dir = await Deno.makeTempDir({ prefix: "proxscale-status-" });
  try {
    for (const k of KINDS) {
      assert.ok(
        kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k)).ok,
      );
    }
    assert.ok(kube.store.create("namespaces", { metadata: { name: NS } } as never, {}).ok);
    const admin = kubeClientFromKubeconfig(kube.kubeconfig());
    const example = await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url));
    const m = migrateText(example, "config.example.yaml");
    assert.ok(m.ok);
    let served = false;
    for (let i = 0; i < 100 && !served; i++) {
      served = (await admin.requestJson("GET", "/apis/proxscale.io/v1alpha1/nodeclaims")).ok;
      if (!served) await new Promise((r) => setTimeout(r, 20));
    }
    for (const o of m.value.manifests) {
      const path = o.kind === "ConfigMap"
        ? `/api/v1/namespaces/${NS}/configmaps`
        : `/apis/proxscale.io/v1alpha1/${o.kind.toLowerCase()}s`;
      assert.ok((await admin.requestJson("POST", path, { body: o })).ok, o.kind);
    }
    const claim = {
      name: "general-abcde",
      nodePool: "general",
      machineTemplate: "worker",
      provider: "homelab",
      shape: { name: "4c-8Gi", cpu: 4000, memory: 8 * GiB },
      createdAt: Date.now(),
      labels: {},
      taints: [],
      startupTaints: [],
      conditions: [],
    };
    assert.ok((await createNodeClaim(admin, claim)).ok);
    assert.ok(
      (await setNodeClaimStatus(admin, claim.name, {
        vmid: 9100,
        host: "pve2",
        conditions: [{
          type: "Launched",
          status: "False",
          reason: "LaunchFailed",
          message: "PVE clone failed: 403 Permission check failed (/vms/9000, VM.Clone)",
          lastTransitionTime: Date.now(),
        }],
      })).ok,
    );
    await Deno.writeTextFile(`${dir}/kubeconfig`, kube.kubeconfig());
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closed = `http://127.0.0.1:${(l.addr as Deno.NetAddr).port}`;
    l.close();
    const r = await cli(statusCommand, [
      "--url",
      closed,
      "--kubeconfig",
      `${dir}/kubeconfig`,
      "--namespace",
      NS,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /daemon not reachable .*showing what the cluster holds/);
    // 8 vCPU limit 64; 8Gi guest + 512Mi overhead of the example's template.
    assert.match(r.out, /^daemon: not reachable; from the cluster: active/);
    assert.match(r.out, /general\s+worker\s+1 \/ 32\s+4 vCPU \/ 64 vCPU\s+8\.5Gi \/ 256Gi\s+512Mi/);
    assert.match(
      r.out,
      /general-abcde\s+general\s+4c-8Gi\s+pve2\s+9100\s+-\s+Launched=False \(LaunchFailed: PVE clone failed: 403/,
    );
    assert.match(r.out, /jobs: not known without the daemon/);
  } finally {
    await kube.close();
    await Deno.remove(dir, { recursive: true });
  }
});
