/**
 * `proxscale run`: the long-running daemon. Configuration from a YAML file (`--config`) or
 * from the proxscale CRDs in the cluster (`--crds`); Kubernetes from `--kubeconfig`, else the
 * in-cluster service account or $KUBECONFIG. Jobs go to the in-memory queue, or to Redis
 * (BullMQ) when the file sets `queue.redis`. Only the Lease holder acts; `--pause` starts in
 * maintenance mode (decide and report, do not act). /metrics, /healthz and /readyz are served on
 * `--http-port` (default 8080). Stops cleanly on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import type { Command, Io } from "./command.ts";
import type { Config, SecretSource } from "../core/model.ts";
import { formatProblem, loadConfigFile, parseYaml } from "../adapters/config/load.ts";
import { configFile } from "../adapters/config/schema.ts";
import { formatCrdProblem } from "../adapters/config/crd_source.ts";
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import { connectPveClient } from "../adapters/proxmox/client.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import { ProviderConnections } from "../daemon/provider_connections.ts";
import { err, ok } from "../core/result.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { JobQueue } from "../adapters/queue/port.ts";
import { createLogger } from "../adapters/telemetry/logger.ts";
import { createMetrics } from "../adapters/telemetry/metrics.ts";
import { createHealthState } from "../adapters/telemetry/health.ts";
import { startHttpServer } from "../daemon/http.ts";
import { startDaemon } from "../daemon/daemon.ts";
import { createTracing } from "../adapters/telemetry/tracing.ts";
import { tracePveClient } from "../adapters/telemetry/traced_clients.ts";
import type { JobData } from "../daemon/context.ts";
import { observers } from "../daemon/observe.ts";
import { readSecret, type SecretDeps } from "../adapters/proxmox/secret.ts";
import { kubeSecretReader } from "../adapters/kubernetes/secret_reader.ts";
import { registerSecret } from "../adapters/telemetry/redact.ts";
import { EventRecorder } from "../adapters/kubernetes/events.ts";
import { attachMaintenance, MaintenanceMode, pausedReporter } from "../daemon/maintenance.ts";
import { daemonStatusSource, DecisionLog, statusRoutes } from "../daemon/status_report.ts";
import { ConfigReloader, watchConfigCrds, watchConfigFile } from "../daemon/config_reload.ts";

type RedisSettings = { url: string; password?: SecretSource | undefined };

async function loadFileConfig(
  path: string,
  io: Io,
): Promise<{ config: Config; redis?: RedisSettings } | undefined> {
  const r = await loadConfigFile(path);
  if (!r.ok) {
    for (const p of r.error) io.err(formatProblem(p));
    return undefined;
  }
  // The queue section is daemon-only: read it from the same validated file.
  const raw = parseYaml(await Deno.readTextFile(path), path, configFile);
  const redis = raw.ok ? raw.value.parsed.queue?.redis : undefined;
  return { config: r.value, ...(redis ? { redis } : {}) };
}

/** The run command. */
export const runCommand: Command = {
  name: "run",
  summary: "run the autoscaler daemon (observe, decide, act)",
  usage:
    "proxscale run (--config FILE | --crds) [--kubeconfig FILE] [--pause] [--http-port N] [--namespace NS]",
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        config: { type: "string" },
        crds: { type: "boolean" },
        kubeconfig: { type: "string" },
        pause: { type: "boolean" },
        "http-port": { type: "string" },
        namespace: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      io.out(`usage: ${this.usage}\n\n${this.summary}.`);
      return 0;
    }
    if (!values.config === !values.crds) {
      io.err(`usage: ${this.usage}\n(exactly one of --config and --crds)`);
      return 2;
    }
    const kube = values.kubeconfig
      ? KubeClient.fromKubeconfig(await Deno.readTextFile(values.kubeconfig))
      : KubeClient.fromDefault();
    const namespace = values.namespace ?? Deno.env.get("POD_NAMESPACE") ?? "kube-system";
    let config: Config;
    let redis: RedisSettings | undefined;
    if (values.config) {
      const loaded = await loadFileConfig(values.config, io);
      if (!loaded) return 2;
      config = loaded.config;
      redis = loaded.redis;
    } else {
      const loaded = await loadConfigFromCluster(kube, namespace);
      if (!loaded.ok) {
        for (const p of loaded.error) io.err(formatCrdProblem(p));
        return 2;
      }
      config = loaded.value;
    }
    const logger = createLogger();
    const metrics = createMetrics();
    const health = createHealthState({ now: Date.now, maxTickAgeMs: 60_000 });
    // `secret:` references are read through the API server (RBAC: get secrets, own namespace).
    const secretDeps: SecretDeps = { readKubeSecret: kubeSecretReader(kube, namespace) };
    // The redaction guard of every log line, metric, span and error learns the secrets first;
    // one that cannot be read stops the start with a message naming where it was looked for.
    const sources = [
      ...config.providers.map((p) => ({ what: `provider ${p.name}`, src: p.tokenSecret })),
      ...(redis?.password ? [{ what: "redis password", src: redis.password }] : []),
    ];
    for (const { what, src } of sources) {
      const secret = await readSecret(src, secretDeps);
      if (!secret.ok) {
        io.err(`${what}: ${secret.error.message}`);
        return 1;
      }
      registerSecret(secret.value);
    }
    // Spans go to Deno's OTLP exporter with OTEL_DENO=true, else nowhere (no-op tracer).
    const tracing = createTracing();
    // PVE connections; a reload changing a Provider's endpoint, token or TLS rebuilds them.
    const connections = new ProviderConnections(async (p) => {
      // A rotated token joins the redaction guard before its client can log anything.
      const secret = await readSecret(p.tokenSecret, secretDeps);
      if (secret.ok) registerSecret(secret.value);
      const c = await connectPveClient(p, {
        ...secretDeps,
        observe: (e) => metrics.observePveCall(e),
      });
      if (!c.ok) return err(c.error.message);
      return ok({
        provider: new ProxmoxProvider({ client: tracePveClient(c.value, tracing), provider: p }),
        close: () => c.value.close(),
      });
    });
    const connected = await connections.start(config.providers);
    if (!connected.ok) {
      io.err(connected.error);
      return 1;
    }
    const providers = connections.providers;
    let queue: JobQueue<JobData>;
    if (redis) {
      // Loaded only when Redis is configured: bullmq and ioredis cost ~30 MB resident (issue 6).
      const { openBullmqQueue } = await import("../adapters/queue/bullmq.ts");
      const q = await openBullmqQueue<JobData>({
        url: redis.url,
        password: redis.password,
        secretDeps,
      });
      if (!q.ok) {
        io.err(q.error.message);
        return 1;
      }
      queue = q.value;
    } else queue = new MemoryJobQueue<JobData>();
    const identity = Deno.env.get("POD_NAME") ?? `proxscale-${crypto.randomUUID().slice(0, 8)}`;
    let isLeader = () => false;
    const obs = observers({ logger, metrics, health, queue, isLeader: () => isLeader() });
    // Maintenance mode: --pause, the ConfigMap annotation (proxscale pause), or POST /pause.
    const maintenance = new MaintenanceMode({ paused: values.pause ?? false, kube, namespace });
    await maintenance.refresh();
    const decisions = new DecisionLog(200);
    const events = new EventRecorder(kube);
    const daemon = await startDaemon({
      config,
      kube,
      providers,
      queue,
      tracing,
      leaderElection: { namespace, name: "proxscale", identity },
      paused: maintenance.paused(),
      ...obs,
      report: pausedReporter(
        (d) => {
          decisions.push(d);
          obs.report(d);
        },
        () => maintenance.paused(),
        events,
      ),
      log: logger.asLog,
    });
    isLeader = daemon.isLeader;
    attachMaintenance(daemon, maintenance);
    await maintenance.start(5_000);
    // Hot reload: file edits or CRD changes apply without restart; invalid ones are rejected.
    const podName = Deno.env.get("POD_NAME");
    const reloader = new ConfigReloader(config, values.config ?? "crds", {
      apply: (c) => daemon.setConfig(c),
      reconnect: (p) => connections.update(p),
      log: logger,
      events,
      ...(podName ? { subject: { apiVersion: "v1", kind: "Pod", name: podName, namespace } } : {}),
    });
    const fileWatch = values.config ? watchConfigFile(values.config, reloader) : undefined;
    const crdWatch = values.crds ? watchConfigCrds(kube, reloader, { namespace }) : undefined;
    const port = Number(values["http-port"] ?? 8080);
    const http = await startHttpServer({
      port,
      metrics,
      health,
      routes: {
        ...statusRoutes(
          daemonStatusSource(daemon, { decisions, maintenance, reload: () => reloader.state() }),
        ),
        // In a pod the port is reachable by Prometheus and others: only the ConfigMap pauses.
        ...maintenance.routes({ writable: !Deno.env.get("KUBERNETES_SERVICE_HOST") }),
      },
    });
    logger.info("proxscale running", {
      identity,
      paused: daemon.paused(),
      queue: redis ? "redis" : "memory",
      http_port: http.port,
    });
    const stopped = Promise.withResolvers<void>();
    const stop = () => stopped.resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    await stopped.promise;
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    logger.info("proxscale stopping", { identity });
    await fileWatch?.stop();
    await crdWatch?.stop();
    await maintenance.stop();
    await daemon.stop();
    await http.shutdown();
    await queue.close();
    await connections.close();
    await metrics.shutdown();
    return 0;
  },
};
