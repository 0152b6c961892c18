/**
 * The composition root of `proxscale run`: from the parsed options and the configuration (loaded
 * once, by the caller) it builds what a running daemon is made of — the Kubernetes client and
 * its metrics, the redaction guard's secrets, the PVE connections and providers, the job queue
 * (in memory, or Redis when the options or the configuration name one), the HTTP server,
 * maintenance mode, hot reload, the Lease and startDaemon — and returns a handle whose `stop()`
 * ends it gracefully, releasing the Lease.
 *
 * Two steps, because the configuration may live in the cluster: `preflight` checks what must
 * hold before anything is loaded (HTTP port, route token, credentials, CRDs, the Lease's
 * namespace) and builds the client the configuration is read with; `startProxscale` does the
 * rest. A start that cannot work answers with one problem naming the cause and the fix, before
 * the Lease is taken; a failure after it stops everything started and releases the Lease.
 * The process (signals, exit codes, the environment) is not this module's business: main.ts
 * owns it and cli/run.ts passes in what it read from the environment.
 *
 * May import: core/, adapters/, daemon/.
 */
import { RedfishHostPower } from "../adapters/host_power/redfish_host_power.ts";
import type { Config, RedisSettings } from "../core/model.ts";
import { err, ok, type Result } from "../core/result.ts";
import type { RunSettings } from "../adapters/deploy/run_options.ts";
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { kubeSecretReader } from "../adapters/kubernetes/secret_reader.ts";
import { EventRecorder } from "../adapters/kubernetes/events.ts";
import { connectPveClient } from "../adapters/proxmox/client.ts";
import { ProxmoxProvider } from "../adapters/proxmox/provider.ts";
import { connectRedfishProvider, SeedServers } from "../adapters/redfish/connect.ts";
import { readSecret, type SecretDeps } from "../adapters/proxmox/secret.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import type { JobQueue } from "./ports/queue.ts";
import { kubeRequestObserver } from "../adapters/telemetry/request_metrics.ts";
import { createLogger, type Logger } from "../adapters/telemetry/logger.ts";
import { createMetrics, type Metrics } from "../adapters/telemetry/metrics.ts";
import { createTracing } from "../adapters/telemetry/tracing.ts";
import { tracePveClient } from "../adapters/telemetry/traced_clients.ts";
import { registerSecret } from "../adapters/telemetry/redact.ts";
import {
  bootstrapCaReadable,
  clusterCredentials,
  crdsInstalled,
  httpPortCause,
  httpPortFix,
  httpPortFree,
  leaseNamespaceExists,
  pveReachable,
  readRouteToken,
  type StartupProblem,
} from "./startup_checks.ts";
import { ProviderConnections } from "./provider_connections.ts";
import type { JobData } from "./context.ts";
import { observers } from "./observe.ts";
import { httpHandler, isLoopbackHost } from "./http.ts";
import { startFrontDoor } from "./front_door.ts";
import { type Daemon, startDaemon } from "./daemon.ts";
import { attachMaintenance, MaintenanceMode, pausedReporter } from "./maintenance.ts";
import { daemonStatusSource, DecisionLog, statusRoutes } from "./status_report.ts";
import { ConfigReloader, watchConfigCrds, watchConfigFile } from "./config_reload.ts";
import { historyRecorder } from "./config_history_recorder.ts";

/** What the start reads from the process environment (cli/run.ts reads it, tests set it). */
export type RunEnvironment = {
  /** The pod's name (POD_NAME): the Lease identity and the subject of reload Events. */
  podName?: string | undefined;
  /** Running in a pod (KUBERNETES_SERVICE_HOST): only the ConfigMap pauses, not POST /pause. */
  inPod: boolean;
  /**
   * A pass longer than this (ms) is logged and counted as slow (PROXSCALE_PASS_BUDGET_MS;
   * default 1000): a tuning and test knob, not a limit, since the pass runs on regardless.
   */
  passBudgetMs?: number | undefined;
};

/** What `preflight` checked and built: the cluster client the configuration is loaded with. */
export type Preflight = {
  kube: KubeClient;
  /** The cluster's CA (PEM), pinned by node bootstrap unless the template names its own. */
  clusterCa?: string | undefined;
  /** The bearer token of the status and switch routes (`--http-token-file`). */
  routeToken?: string | undefined;
  /** The process's metrics; the client's requests are already counted in them. */
  metrics: Metrics;
};

/** A start that failed after the Lease could have been taken also carries the stack, if any. */
export type StartFailure = StartupProblem & { stack?: string };

/** A running proxscale: the daemon, where it serves, and its graceful stop. */
export type RunningProxscale = {
  daemon: Daemon;
  /** The Lease identity. */
  identity: string;
  /** The port /metrics, /healthz, /readyz and the status routes are served on. */
  httpPort: number;
  /** Stops reload, maintenance, the daemon (releasing the Lease), HTTP, queue and PVE clients. */
  stop(): Promise<void>;
};

/**
 * The checks that need no configuration, in the order an operator fixes them: HTTP port, route
 * token, cluster credentials, CRDs, the Lease's namespace.
 */
export async function preflight(s: RunSettings): Promise<Result<Preflight, StartupProblem>> {
  const portFree = httpPortFree(s.httpPort, s.httpAddress);
  if (!portFree.ok) return portFree;
  const routeToken = await readRouteToken(s.httpTokenFile);
  if (!routeToken.ok) return routeToken;
  const creds = await clusterCredentials(s.kubeconfig);
  if (!creds.ok) return creds;
  const metrics = createMetrics();
  const kube = new KubeClient(creds.value);
  kube.onRequest = kubeRequestObserver(metrics);
  const crds = await crdsInstalled(kube);
  if (!crds.ok) return crds;
  if (s.lease) {
    const lease = await leaseNamespaceExists(kube, s.lease);
    if (!lease.ok) return lease;
  }
  return ok({ kube, clusterCa: creds.value.caCerts[0], routeToken: routeToken.value, metrics });
}

/**
 * The queue's Redis: the flags over the configuration's `queue.redis` (file or settings
 * ConfigMap); undefined means the in-memory queue. `--redis-password-file` replaces only the
 * password.
 */
export function queueRedis(s: RunSettings, config: Config): RedisSettings | undefined {
  const configured = config.queue?.redis;
  if (!s.redis) return configured;
  return {
    url: s.redis.url,
    password: s.redis.passwordFile ? { file: s.redis.passwordFile } : configured?.password,
  };
}

/** What `startProxscale` builds from. */
export type StartInput = {
  settings: RunSettings;
  /** The configuration, loaded once; hot reload replaces it later. */
  config: Config;
  cluster: Preflight;
  env: RunEnvironment;
  /** Default: JSON lines on stdout. */
  logger?: Logger;
  /**
   * The front door worker's module (main.ts in the binary and the bundle, which have one
   * module graph); default daemon/front_door_worker.ts.
   */
  frontDoorWorker?: URL;
};

/** Builds and starts a daemon from a loaded configuration; see the file's comment. */
export async function startProxscale(
  input: StartInput,
): Promise<Result<RunningProxscale, StartFailure>> {
  const { settings: s, config, cluster, env } = input;
  const { kube, metrics, clusterCa, routeToken } = cluster;
  const logger = input.logger ?? createLogger();
  const namespace = s.namespace;
  const redis = queueRedis(s, config);
  // `secret:` references are read through the API server (RBAC: get secrets, own namespace).
  const secretDeps: SecretDeps = { readKubeSecret: kubeSecretReader(kube, namespace) };
  // The redaction guard of every log line, metric, span and error learns the secrets first;
  // one that cannot be read stops the start with a message naming where it was looked for.
  const sources = [
    ...config.providers.flatMap((p) =>
      p.kind === "redfish"
        ? (p.redfish?.machines ?? []).map((m) => ({
          what: `provider ${p.name} machine ${m.name}`,
          src: m.password,
        }))
        : [{ what: `provider ${p.name}`, src: p.tokenSecret }]
    ),
    ...(redis?.password ? [{ what: "redis password", src: redis.password }] : []),
  ];
  for (const { what, src } of sources) {
    const secret = await readSecret(src, secretDeps);
    if (!secret.ok) {
      return err({
        check: "secrets",
        cause: `${what}: ${secret.error.message}`,
        fix: "make the secret readable where the configuration says it is",
      });
    }
    registerSecret(secret.value);
  }
  // Node bootstrap pins the cluster CA: the template's caCertHashFrom, else the connection's.
  const ca = await bootstrapCaReadable(config, clusterCa);
  if (!ca.ok) return ca;
  const pve = await pveReachable(config, secretDeps);
  if (!pve.ok) return pve;
  // Spans go to Deno's OTLP exporter with OTEL_DENO=true, else nowhere (no-op tracer).
  const tracing = createTracing();
  // PVE connections; a reload changing a Provider's endpoint, token or TLS rebuilds them.
  // Seed servers outlive a reload that rebuilds their Provider's connection (same address).
  const seedServers = new SeedServers();
  const connections = new ProviderConnections(async (p) => {
    if (p.kind === "redfish") {
      // Bare metal: BMC clients and the seed HTTPS server (adapters/redfish/connect.ts).
      const rf = await connectRedfishProvider(p, {
        ...secretDeps,
        onSecret: registerSecret,
        seedServers,
      });
      if (!rf.ok) return err(rf.error);
      return ok({ provider: rf.value.provider, close: () => void rf.value.close() });
    }
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
    return err({ check: "pve", cause: connected.error, fix: "fix the Provider's settings" });
  }
  let queue: JobQueue<JobData>;
  if (redis) {
    // Loaded only when Redis is configured: bullmq and ioredis cost ~30 MB resident.
    const { openBullmqQueue } = await import("../adapters/queue/bullmq.ts");
    const q = await openBullmqQueue<JobData>({
      url: redis.url,
      password: redis.password,
      secretDeps,
    });
    if (!q.ok) {
      await connections.close();
      return err({
        check: "queue",
        cause: `Redis ${q.error.message}`,
        fix: "check --redis-url / queue.redis and the Redis password",
      });
    }
    queue = q.value;
  } else queue = new MemoryJobQueue<JobData>();
  const identity = env.podName ?? `proxscale-${crypto.randomUUID().slice(0, 8)}`;
  // The HTTP port and the Lease live on the front door's own thread (daemon/front_door.ts), so
  // a long decision delays neither the probes nor the renewals. The port opens before the
  // Lease is taken: if it cannot, nothing is held to release.
  const routes: Record<string, (req: Request) => Response | Promise<Response>> = {};
  let serve: (req: Request) => Promise<Response> = () =>
    Promise.resolve(new Response("starting\n", { status: 503 }));
  const door = await startFrontDoor({
    http: { hostname: s.httpAddress, port: s.httpPort },
    handler: (req) => serve(req),
    ...(s.lease
      ? {
        lease: { kc: kube.kc, namespace: s.lease.namespace, name: s.lease.name, identity },
      }
      : {}),
    ...(input.frontDoorWorker ? { workerUrl: input.frontDoorWorker } : {}),
    log: logger.asLog,
  });
  if (!door.ok) {
    await queue.close();
    await connections.close();
    if (door.error.name === "WorkerError") {
      return err({
        check: "front door",
        cause: door.error.message,
        fix: "unexpected; rerun with PROXSCALE_DEBUG=1 and report it",
      });
    }
    const e = Object.assign(new Error(door.error.message), { name: door.error.name });
    return err({ check: "http port", cause: httpPortCause(s.httpPort, e), fix: httpPortFix });
  }
  const http = door.value;
  const health = http.health;
  serve = httpHandler({
    hostname: s.httpAddress,
    metrics,
    health,
    routes,
    ...(routeToken !== undefined ? { routeToken } : {}),
  });
  let isLeader = () => false;
  let liveConfig = () => config;
  const obs = observers({
    logger,
    metrics,
    health,
    queue,
    isLeader: () => isLeader(),
    config: () => liveConfig(),
    vmAddresses: (p) => connections.providers.get(p)?.knownVmAddresses?.() ?? [],
  });
  // Maintenance mode: --pause, the ConfigMap annotation (proxscale pause), or POST /pause.
  const maintenance = new MaintenanceMode({ paused: s.pause, kube, namespace });
  await maintenance.refresh();
  const decisions = new DecisionLog(200);
  // Host power: BMC clients are made on first use, for the hosts that have a `bmc`.
  const hostPower = new RedfishHostPower({ ...secretDeps, onSecret: registerSecret });
  const events = new EventRecorder(kube);
  const daemon = await startDaemon({
    config,
    kube,
    providers: connections.providers,
    queue,
    tracing,
    elector: http.elector,
    ...(env.passBudgetMs !== undefined ? { passBudgetMs: env.passBudgetMs } : {}),
    bootstrap: { namespace, ...(clusterCa ? { caPem: clusterCa } : {}) },
    hostPower,
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
  let fileWatch: ReturnType<typeof watchConfigFile> | undefined;
  let crdWatch: ReturnType<typeof watchConfigCrds> | undefined;
  let historyTimer: ReturnType<typeof setInterval> | undefined;
  const halt = async () => {
    clearInterval(historyTimer);
    await fileWatch?.stop();
    await crdWatch?.stop();
    await maintenance.stop();
    await daemon.stop();
    await http.close();
    await queue.close();
    await connections.close();
    await hostPower.close();
  };
  // Anything that fails from here on must not leave the Lease held by a half-started process.
  try {
    attachMaintenance(daemon, maintenance);
    await maintenance.start(5_000);
    // Hot reload: file edits or CRD changes apply without restart; invalid ones are rejected.
    const configPath = s.source.kind === "file" ? s.source.path : undefined;
    const reloader = new ConfigReloader(config, configPath ?? "crds", {
      apply: (c) => daemon.setConfig(c),
      reconnect: (p) => connections.update(p),
      log: logger,
      events,
      ...(env.podName
        ? { subject: { apiVersion: "v1", kind: "Pod", name: env.podName, namespace } }
        : {}),
    });
    fileWatch = configPath ? watchConfigFile(configPath, reloader) : undefined;
    // Every valid configuration applied from the CRDs becomes a generation of the history.
    const history = configPath
      ? undefined
      : historyRecorder(kube, namespace, reloader, logger, () => isLeader());
    crdWatch = configPath
      ? undefined
      : watchConfigCrds(kube, reloader, { namespace }, (objects) => history?.(objects));
    // A replica that becomes leader later records the configuration it runs: the history is
    // checked every 30 s too (one read; a write only for a new digest).
    historyTimer = history
      ? setInterval(() => {
        if (crdWatch?.current().ok) void history(crdWatch.objects());
      }, 30_000)
      : undefined;
    Object.assign(routes, {
      ...statusRoutes(
        daemonStatusSource(daemon, { decisions, maintenance, reload: () => reloader.state() }),
      ),
      // In a pod the port is reachable by Prometheus and others: only the ConfigMap pauses.
      ...maintenance.routes({ writable: !env.inPod }),
    });
    logger.info("proxscale running", {
      identity,
      paused: daemon.paused(),
      queue: redis ? "redis" : "memory",
      lease: s.lease ? `${s.lease.namespace}/${s.lease.name}` : "none",
      http_port: http.port,
      http_address: s.httpAddress,
      status_routes: isLoopbackHost(s.httpAddress)
        ? (routeToken ? "loopback, token required" : "loopback")
        : (routeToken ? "token required" : "closed (no --http-token-file)"),
    });
  } catch (e) {
    await halt();
    return err({
      check: "start",
      cause: e instanceof Error ? e.message : String(e),
      fix: "unexpected; the Lease was released, rerun with PROXSCALE_DEBUG=1 and report it",
      ...(e instanceof Error && e.stack ? { stack: e.stack } : {}),
    });
  }
  return ok({
    daemon,
    identity,
    httpPort: http.port,
    stop: async () => {
      logger.info("proxscale stopping", { identity });
      await halt();
      await metrics.shutdown();
    },
  });
}
