/**
 * `proxscale run`: the long-running daemon. Its options are defined once, in
 * adapters/deploy/run_options.ts, which the generated Deployment, Helm chart and systemd unit
 * are rendered from. Configuration from a YAML file (`--config`) or from the proxscale CRDs in
 * the cluster (`--crds`); Kubernetes from `--kubeconfig`, else the in-cluster service account or
 * $KUBECONFIG. Jobs go to the in-memory queue, or to Redis (BullMQ) with `--redis-url` or
 * `queue.redis` (file or settings ConfigMap). Only the holder of the Lease acts; `--pause` starts
 * in maintenance mode. /metrics, /healthz and /readyz are served on `--http-port`.
 *
 * A start that cannot work (port taken, credentials or CRDs missing, PVE unreachable, bootstrap
 * CA unreadable) logs one line with the cause and the fix and exits 1 before taking the Lease.
 * Stops cleanly on SIGINT/SIGTERM, releasing the Lease.
 */
import type { Command, Io } from "./command.ts";
import type { Config } from "../core/model.ts";
import { formatProblem, loadConfigFile } from "../adapters/config/load.ts";
import {
  parseRunArgs,
  runOptionsHelp,
  type RunSettings,
  runUsage,
} from "../adapters/deploy/run_options.ts";
import {
  bootstrapCaReadable,
  clusterCredentials,
  crdsInstalled,
  httpPortCause,
  httpPortFix,
  httpPortFree,
  leaseNamespaceExists,
  pveReachable,
  startupLine,
  type StartupProblem,
} from "../daemon/startup_checks.ts";
import { resolveRedis } from "./run_queue.ts";
import { kubeRequestObserver } from "../adapters/telemetry/request_metrics.ts";
import { formatCrdProblem } from "../adapters/config/crd_source.ts";
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import { connectPveClient } from "../adapters/proxmox/client.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import { ProviderConnections } from "../daemon/provider_connections.ts";
import { err, ok } from "../core/result.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { JobQueue } from "../daemon/ports/queue.ts";
import { createLogger } from "../adapters/telemetry/logger.ts";
import { createMetrics } from "../adapters/telemetry/metrics.ts";
import { createHealthState } from "../adapters/telemetry/health.ts";
import { isLoopbackHost, startHttpServer } from "../daemon/http.ts";
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

type Loaded = { config: Config } | { exit: number };

async function loadConfig(s: RunSettings, kube: KubeClient, io: Io): Promise<Loaded> {
  if (s.source.kind === "file") {
    const r = await loadConfigFile(s.source.path);
    if (!r.ok) {
      for (const p of r.error) io.err(formatProblem(p));
      return { exit: 2 };
    }
    return { config: r.value };
  }
  const loaded = await loadConfigFromCluster(kube, s.namespace);
  if (!loaded.ok) {
    for (const p of loaded.error) io.err(formatCrdProblem(p));
    return { exit: 2 };
  }
  return { config: loaded.value };
}

/** The run command. */
export const runCommand: Command = {
  name: "run",
  summary: "run the autoscaler daemon (observe, decide, act)",
  usage: runUsage(),
  async run(args, io) {
    const parsed = parseRunArgs(args, (n) => Deno.env.get(n));
    if (!parsed.ok) {
      io.err(`proxscale run: ${parsed.error}\nusage: ${this.usage}\n\n${runOptionsHelp()}`);
      return 2;
    }
    if (parsed.value === "help") {
      io.out(`usage: ${this.usage}\n\n${this.summary}.\n\n${runOptionsHelp()}`);
      return 0;
    }
    const s = parsed.value;
    const logger = createLogger();
    const metrics = createMetrics();
    // A start that cannot work stops here with one line naming the cause and the fix, before
    // the Lease is taken, instead of running half-alive.
    const fail = (p: StartupProblem) => {
      io.err(`proxscale run: ${startupLine(p)}`);
      return 1;
    };
    const portFree = httpPortFree(s.httpPort, s.httpAddress);
    if (!portFree.ok) return fail(portFree.error);
    const routeToken = await readRouteToken(s.httpTokenFile);
    if (!routeToken.ok) return fail(routeToken.error);
    const creds = await clusterCredentials(s.kubeconfig);
    if (!creds.ok) return fail(creds.error);
    const kube = new KubeClient(creds.value);
    kube.onRequest = kubeRequestObserver(metrics);
    const crds = await crdsInstalled(kube);
    if (!crds.ok) return fail(crds.error);
    if (s.lease) {
      const lease = await leaseNamespaceExists(kube, s.lease);
      if (!lease.ok) return fail(lease.error);
    }
    const loaded = await loadConfig(s, kube, io);
    if ("exit" in loaded) return loaded.exit;
    const config = loaded.config;
    const namespace = s.namespace;
    const health = createHealthState({ now: Date.now, maxTickAgeMs: 60_000 });
    const queueSettings = await resolveRedis(s, kube);
    if (!queueSettings.ok) {
      io.err(queueSettings.error);
      return 2;
    }
    const redis = queueSettings.value;
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
        return fail({
          check: "secrets",
          cause: `${what}: ${secret.error.message}`,
          fix: "make the secret readable where the configuration says it is",
        });
      }
      registerSecret(secret.value);
    }
    // Node bootstrap pins the cluster CA: the template's caCertHashFrom, else the connection's.
    const clusterCa = creds.value.caCerts[0];
    const ca = await bootstrapCaReadable(config, clusterCa);
    if (!ca.ok) return fail(ca.error);
    const pve = await pveReachable(config, secretDeps);
    if (!pve.ok) return fail(pve.error);
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
      return fail({ check: "pve", cause: connected.error, fix: "fix the Provider's settings" });
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
        await connections.close();
        return fail({
          check: "queue",
          cause: `Redis ${q.error.message}`,
          fix: "check --redis-url / queue.redis and the Redis password",
        });
      }
      queue = q.value;
    } else queue = new MemoryJobQueue<JobData>();
    const identity = Deno.env.get("POD_NAME") ?? `proxscale-${crypto.randomUUID().slice(0, 8)}`;
    let isLeader = () => false;
    let liveConfig = () => config;
    const obs = observers({
      logger,
      metrics,
      health,
      queue,
      isLeader: () => isLeader(),
      config: () => liveConfig(),
    });
    // Maintenance mode: --pause, the ConfigMap annotation (proxscale pause), or POST /pause.
    const maintenance = new MaintenanceMode({ paused: s.pause, kube, namespace });
    // The HTTP port opens before the Lease is taken: if it cannot, nothing is held to release.
    const routes: Record<string, (req: Request) => Response | Promise<Response>> = {};
    let http;
    try {
      http = await startHttpServer({
        hostname: s.httpAddress,
        port: s.httpPort,
        metrics,
        health,
        routes,
        ...(routeToken.value !== undefined ? { routeToken: routeToken.value } : {}),
      });
    } catch (e) {
      await queue.close();
      await connections.close();
      return fail({ check: "http port", cause: httpPortCause(s.httpPort, e), fix: httpPortFix });
    }
    await maintenance.refresh();
    const decisions = new DecisionLog(200);
    const events = new EventRecorder(kube);
    // Listening before the Lease can be taken: a SIGTERM during startup still ends with the
    // Lease released (the default action would kill the process holding it).
    const stopped = Promise.withResolvers<void>();
    const stop = () => stopped.resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    const unlisten = () => {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
    };
    const daemon = await startDaemon({
      config,
      kube,
      providers,
      queue,
      tracing,
      leaderElection: s.lease
        ? { namespace: s.lease.namespace, name: s.lease.name, identity }
        : false,
      bootstrap: { namespace, ...(clusterCa ? { caPem: clusterCa } : {}) },
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
    liveConfig = () => daemon.ctx.config();
    daemon.informers.pods.on((e) => {
      if (e.type !== "delete") obs.podEvent(e.value);
    });
    // Anything that fails from here on must not leave the Lease held by a half-started process.
    let fileWatch: ReturnType<typeof watchConfigFile> | undefined;
    let crdWatch: ReturnType<typeof watchConfigCrds> | undefined;
    try {
      attachMaintenance(daemon, maintenance);
      await maintenance.start(5_000);
      // Hot reload: file edits or CRD changes apply without restart; invalid ones are rejected.
      const podName = Deno.env.get("POD_NAME");
      const configPath = s.source.kind === "file" ? s.source.path : undefined;
      const reloader = new ConfigReloader(config, configPath ?? "crds", {
        apply: (c) => daemon.setConfig(c),
        reconnect: (p) => connections.update(p),
        log: logger,
        events,
        ...(podName
          ? { subject: { apiVersion: "v1", kind: "Pod", name: podName, namespace } }
          : {}),
      });
      fileWatch = configPath ? watchConfigFile(configPath, reloader) : undefined;
      crdWatch = configPath ? undefined : watchConfigCrds(kube, reloader, { namespace });
      Object.assign(routes, {
        ...statusRoutes(
          daemonStatusSource(daemon, { decisions, maintenance, reload: () => reloader.state() }),
        ),
        // In a pod the port is reachable by Prometheus and others: only the ConfigMap pauses.
        ...maintenance.routes({ writable: !Deno.env.get("KUBERNETES_SERVICE_HOST") }),
      });
      logger.info("proxscale running", {
        identity,
        paused: daemon.paused(),
        queue: redis ? "redis" : "memory",
        lease: s.lease ? `${s.lease.namespace}/${s.lease.name}` : "none",
        http_port: http.port,
        http_address: s.httpAddress,
        status_routes: isLoopbackHost(s.httpAddress)
          ? (routeToken.value ? "loopback, token required" : "loopback")
          : (routeToken.value ? "token required" : "closed (no --http-token-file)"),
      });
    } catch (e) {
      io.err(
        `proxscale run: cannot start: ${e instanceof Error ? e.message : String(e)}; ` +
          "fix: unexpected; the Lease was released, rerun with PROXSCALE_DEBUG=1 and report it",
      );
      if (Deno.env.get("PROXSCALE_DEBUG") && e instanceof Error) io.err(e.stack ?? "");
      await fileWatch?.stop();
      await crdWatch?.stop();
      await maintenance.stop();
      await daemon.stop();
      await http.shutdown();
      await queue.close();
      await connections.close();
      unlisten();
      return 1;
    }
    await stopped.promise;
    unlisten();
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

/**
 * The bearer token of the status and switch routes, from `--http-token-file` (trimmed; the
 * file may be a mounted Secret). None without the option; an unreadable or empty file stops
 * the start.
 */
async function readRouteToken(
  file: string | undefined,
): Promise<{ ok: true; value: string | undefined } | { ok: false; error: StartupProblem }> {
  if (file === undefined) return { ok: true, value: undefined };
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    return {
      ok: false,
      error: {
        check: "http token",
        cause: `--http-token-file ${file} cannot be read (${
          e instanceof Error ? e.name : "Error"
        })`,
        fix: "give a readable file holding the bearer token",
      },
    };
  }
  const token = text.trim();
  if (token === "" || /\s/.test(token)) {
    return {
      ok: false,
      error: {
        check: "http token",
        cause: `--http-token-file ${file} ${token === "" ? "is empty" : "holds whitespace"}`,
        fix: "put one token (no spaces) in the file",
      },
    };
  }
  return { ok: true, value: token };
}
