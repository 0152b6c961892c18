/**
 * Secret leak: the real daemon runs the demo scenario (burst, a PVE token outage, scale-in)
 * against the fakes with a known PVE token secret, and with its job queue in a Redis that
 * requires a known password. Every output is captured and searched for either secret (and the
 * encodings they travel in: URL-encoded, base64):
 *   - the structured log and the audit stream (JSON lines), the Kubernetes adapters' log
 *   - every decision report and error message the daemon produced
 *   - /metrics, /status, /healthz and /readyz of the daemon's HTTP server
 *   - span attributes, events and status of an in-memory tracer
 *   - every object in the fake API server (Events, NodeClaim statuses, Nodes, Leases ...) and
 *     the paths and queries of every request it received
 *   - the fake PVE's state (VM configs, descriptions, tags, tasks and their logs) and the
 *     parameters of every request it received
 *   - every key in Redis (job data, errors, events)
 * The redactor is NOT given the secrets here: the adapters must keep them out on their own.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { GiB } from "../core/quantity.ts";
import { openBullmqQueue } from "../adapters/queue/bullmq.ts";
import { uniquePrefix, withRedis } from "../adapters/queue/testing/redis.ts";
import { createTelemetry } from "../adapters/telemetry/telemetry.ts";
import { memorySink } from "../adapters/telemetry/logger.ts";
import { createRedactor } from "../adapters/telemetry/redact.ts";
import { createHealthState } from "../adapters/telemetry/health.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startHttpServer } from "../daemon/http.ts";
import { observers } from "../daemon/observe.ts";
import { MaintenanceMode, pausedReporter } from "../daemon/maintenance.ts";
import { daemonStatusSource, DecisionLog, statusRoutes } from "../daemon/status_report.ts";
import { auditVms } from "../harness/demo.ts";
import { startDemoCluster } from "../harness/cluster.ts";

const PVE_SECRET = "3f9c1a52-pve-token-secret-LEAKCHECK-7d41e0b8";
const REDIS_PASSWORD = "redis-pass-LEAKCHECK-94b2c7";
const PW_ENV = "PROXSCALE_LEAKTEST_REDIS_PASSWORD";

/** The secret and the forms it could be written in. */
function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), btoa(secret), secret.slice(0, 24)];
}

function dump(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (x instanceof Map) return Object.fromEntries(x);
    if (x instanceof Set) return [...x];
    if (typeof x === "bigint") return String(x);
    if (x instanceof Uint8Array) return new TextDecoder().decode(x);
    return x;
  });
}

/** Every place where either secret appears, with some context. */
function findLeaks(outputs: Record<string, string>): string[] {
  const leaks: string[] = [];
  const secrets: [string, string][] = [
    ["PVE token secret", PVE_SECRET],
    ["Redis password", REDIS_PASSWORD],
  ];
  for (const [where, text] of Object.entries(outputs)) {
    for (const [name, secret] of secrets) {
      for (const f of forms(secret)) {
        const i = text.indexOf(f);
        if (i >= 0) {
          leaks.push(`${name} in ${where}: ...${text.slice(Math.max(0, i - 80), i + 20)}`);
        }
      }
    }
  }
  return leaks;
}

async function until(cond: () => boolean | Promise<boolean>, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function redisDump(url: string, prefix: string): Promise<string[]> {
  const r = new Redis(url, { password: REDIS_PASSWORD, lazyConnect: true });
  await r.connect();
  try {
    const out: string[] = [];
    for (const key of await r.keys(`${prefix}*`)) {
      const type = await r.type(key);
      let value: unknown;
      if (type === "string") value = await r.get(key);
      else if (type === "hash") value = await r.hgetall(key);
      else if (type === "list") value = await r.lrange(key, 0, -1);
      else if (type === "set") value = await r.smembers(key);
      else if (type === "zset") value = await r.zrange(key, "0", "-1");
      else if (type === "stream") value = await r.xrange(key, "-", "+");
      out.push(`${key} ${dump(value)}`);
    }
    return out;
  } finally {
    r.disconnect();
  }
}

Deno.test("no output of the daemon carries the PVE token secret or the Redis password", async () => {
  Deno.env.set(PW_ENV, REDIS_PASSWORD);
  try {
    await withRedis(async (url) => {
      const prefix = uniquePrefix("leak");
      const opened = await openBullmqQueue<JobData>({
        url,
        prefix,
        password: { env: PW_ENV },
        retry: { attempts: 4, baseDelayMs: 200, maxDelayMs: 1_000 },
      });
      assert.ok(opened.ok, !opened.ok ? opened.error.message : "");
      const queue = opened.value;
      const exporter = new InMemorySpanExporter();
      const provider = new TracerProvider({
        spanProcessors: [new SimpleSpanProcessor({ exporter })],
      });
      const logs = memorySink();
      const audit = memorySink();
      const telemetry = createTelemetry({
        redactor: createRedactor(), // deliberately empty: nothing is scrubbed for us
        tracer: provider.getTracer("leak-test"),
        logSink: logs,
        auditSink: audit,
        level: "debug",
      });
      const health = createHealthState({ now: Date.now, maxTickAgeMs: 60_000 });
      const reports: DecisionReport[] = [];
      const errors: string[] = [];
      const cluster = await startDemoCluster({ seed: 21, pve: { tokenSecret: PVE_SECRET } });
      const maintenance = new MaintenanceMode();
      const decisions = new DecisionLog(500);
      let isLeader = () => false;
      const obs = observers({
        logger: telemetry.logger,
        metrics: telemetry.metrics,
        health,
        queue,
        isLeader: () => isLeader(),
      });
      let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
      const outputs: Record<string, string> = {};
      // Anything written to the console by any module (stdout/stderr of the process).
      const consoleLines: string[] = [];
      const saved = { ...console };
      for (const m of ["log", "info", "warn", "error", "debug"] as const) {
        console[m] = (...args: unknown[]) => {
          consoleLines.push(args.map((a) => typeof a === "string" ? a : dump(a)).join(" "));
          saved[m](...args);
        };
      }
      try {
        const handle = await cluster.spawn({
          queue,
          log: telemetry.logger.asLog,
          onError: (m) => {
            errors.push(m);
            obs.onError(m);
          },
          report: pausedReporter((d) => {
            reports.push(d);
            decisions.push(d);
            obs.report(d);
            // Each decision as a span, the way the executor's action spans carry reasons.
            void telemetry.tracing.action(d.what, {
              ...(d.nodeclaim ? { nodeclaim: d.nodeclaim } : {}),
              ...(d.vmid !== undefined ? { vmid: d.vmid } : {}),
              ...(d.host ? { host: d.host } : {}),
              reason: d.reason,
            }, (span) => span.recordDecision(d.reason));
          }, () => maintenance.paused()),
        });
        isLeader = handle.daemon.isLeader;
        http = await startHttpServer({
          hostname: "127.0.0.1",
          port: 0,
          metrics: telemetry.metrics,
          health,
          redactor: createRedactor(),
          routes: {
            ...statusRoutes(daemonStatusSource(handle.daemon, { decisions, maintenance })),
            ...maintenance.routes(),
          },
        });

        // Burst.
        cluster.world.deploy({ name: "web", replicas: 8, cpu: 500, memory: 1 * GiB });
        cluster.world.deploy({ name: "api", replicas: 4, cpu: 1000, memory: 1 * GiB });
        const bound = () =>
          [...cluster.world.pods.values()].filter((p) => p.boundAt !== undefined).length;
        assert.ok(await until(() => bound() >= 12, 30_000), "burst served");

        // A token outage: every PVE call answers 401 for a while (error paths log and report).
        cluster.pve.auth.revokeToken(cluster.pve.tokenId);
        cluster.world.deploy({ name: "extra", replicas: 6, cpu: 1000, memory: 2 * GiB });
        await until(() =>
          errors.length > 0 || reports.some((d) =>
            /401|auth/i.test(
              d.reason.message,
            )
          ), 8_000);
        cluster.pve.auth.addToken({ id: cluster.pve.tokenId, secret: PVE_SECRET });

        // Scale-in.
        cluster.world.scale("web", 1);
        cluster.world.scale("api", 0);
        cluster.world.scale("extra", 0);
        await until(
          () => cluster.world.liveVms().length <= 1 && cluster.world.pendingPods() === 0,
          30_000,
        );
        assert.equal(auditVms(cluster).leaked, 0);

        const base = `http://127.0.0.1:${http.port}`;
        for (const p of ["/metrics", "/status", "/healthz", "/readyz"]) {
          outputs[`http ${p}`] = await (await fetch(base + p)).text();
        }
      } finally {
        Object.assign(console, saved);
        outputs["console"] = consoleLines.join("\n");
        await http?.shutdown();
        await cluster.close().catch(() => {});
        // Fake state survives close(): read it after the daemon is gone.
        outputs["log"] = logs.lines.join("\n");
        outputs["audit"] = audit.lines.join("\n");
        outputs["reports"] = dump(reports);
        outputs["errors"] = errors.join("\n");
        outputs["spans"] = dump(
          exporter.getFinishedSpans().map((s) => ({
            name: s.name,
            attributes: s.attributes,
            events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
            status: s.status,
          })),
        );
        for (const def of cluster.kube.store.resources()) {
          const ref = def.group ? `${def.plural}.${def.group}` : def.plural;
          if (ref === "secrets") continue; // the administrator's Secrets may hold anything
          const l = cluster.kube.store.list(ref);
          if (l.ok) outputs[`kube ${ref}`] = dump(l.value.items);
        }
        outputs["kube requests"] = dump(cluster.kube.requests);
        outputs["pve state"] = dump({
          vms: cluster.pve.model.st.vms,
          tasks: cluster.pve.model.st.tasks,
          pools: cluster.pve.model.st.pools,
          volumes: cluster.pve.model.st.volumes,
        });
        outputs["pve requests"] = dump(cluster.pve.requests);
        outputs["redis"] = (await redisDump(url, prefix)).join("\n");
        await queue.close();
        await telemetry.shutdown();
        await provider.shutdown();
      }

      // The scenario exercised what it should, so the search below means something.
      assert.ok(reports.some((d) => d.what === "VmCreated"), "VMs created");
      assert.ok(reports.some((d) => d.what === "VmDeleted"), "VMs deleted");
      assert.ok(outputs["audit"]!.includes("VmCreate"), "audit written");
      assert.ok(outputs["spans"]!.includes("proxscale.reason"), "spans carry reasons");
      assert.match(outputs["http /metrics"]!, /proxscale_/);
      assert.match(outputs["kube nodeclaims.proxscale.io"]!, /"conditions"/, "claim statuses");
      assert.ok(
        errors.length > 0 || /401|Authentication failed/.test(outputs["reports"]!),
        "the token outage reached the error paths",
      );
      assert.ok(outputs["pve state"]!.includes("proxscale"), "VMs tagged and described");
      assert.ok(outputs["redis"]!.length > 0, "jobs in Redis");
      assert.ok(outputs["log"]!.length > 1000, "logs written");

      // The search itself finds a planted secret in any of its forms.
      for (const planted of [...forms(PVE_SECRET), ...forms(REDIS_PASSWORD)]) {
        assert.equal(findLeaks({ planted: `x ${planted} y` }).length >= 1, true, planted);
      }
      const leaks = findLeaks(outputs);
      assert.deepEqual(leaks, [], `searched: ${Object.keys(outputs).join(", ")}`);
    }, { password: REDIS_PASSWORD });
  } finally {
    Deno.env.delete(PW_ENV);
  }
});
