/**
 * The one definition of how `proxscale run` is started: the options it accepts, their parser,
 * its usage text, and the command lines the generated artifacts start it with (the Deployment's
 * container args, the Helm chart's template, `proxscale manifests`, the systemd unit's
 * ExecStart). cli/run.ts parses with `parseRunArgs`; adapters/deploy/ renders with
 * `podRunArgs` and `hostRunArgs`; so what the artifacts pass is what `run` accepts.
 *
 * Leader election, the Lease, the HTTP port and the queue mean the same in a pod and on a host:
 * the Lease `proxscale-leader` lives in the daemon's namespace (`--namespace`, else
 * $POD_NAMESPACE, else proxscale-system), where the RBAC Role grants it.
 *
 * May import: core/, adapters/.
 */
import { parseArgs } from "node:util";
import { DEFAULT_NAMESPACE } from "../config/crd_manifests.ts";
import { err, ok, type Result } from "../../core/result.ts";

/** Name of the leader Lease, in the daemon's namespace unless `--lease-namespace` says. */
export const LEASE_NAME = "proxscale-leader";
/** Port of /metrics, /healthz, /readyz and the status routes. */
export const DEFAULT_HTTP_PORT = 8080;
/**
 * Address the HTTP server binds unless `--http-address` says: loopback, so a daemon started by
 * hand or by systemd exposes nothing to the network. The Deployment passes 0.0.0.0 (the kubelet
 * probes and Prometheus scrapes the pod IP).
 */
export const DEFAULT_HTTP_ADDRESS = "127.0.0.1";
/** The address a pod binds (any address: probes and scrapes come to the pod IP). */
export const POD_HTTP_ADDRESS = "0.0.0.0";

type Spec = { type: "string" | "boolean"; arg?: string; help: string };

/** Every option of `proxscale run`, in the order the usage lists them. */
export const RUN_OPTIONS: Record<string, Spec> = {
  config: { type: "string", arg: "FILE", help: "configuration from a YAML file (hot-reloaded)" },
  crds: { type: "boolean", help: "configuration from the proxscale CRDs in the cluster" },
  kubeconfig: {
    type: "string",
    arg: "FILE",
    help: "cluster access (default: in-cluster service account, else $KUBECONFIG)",
  },
  namespace: {
    type: "string",
    arg: "NS",
    help: `namespace of the Lease, settings ConfigMap, Secrets and Events ` +
      `(default $POD_NAMESPACE, else ${DEFAULT_NAMESPACE})`,
  },
  "leader-elect": {
    type: "boolean",
    help: "hold a Lease before acting, so only one replica acts (the default)",
  },
  "no-leader-elect": { type: "boolean", help: "act at once without a Lease (one replica only)" },
  "lease-name": { type: "string", arg: "NAME", help: `the Lease's name (default ${LEASE_NAME})` },
  "lease-namespace": {
    type: "string",
    arg: "NS",
    help: "the Lease's namespace (default: --namespace)",
  },
  "http-port": {
    type: "string",
    arg: "PORT",
    help: `port of /metrics, /healthz and /readyz; 0 picks one (default ${DEFAULT_HTTP_PORT})`,
  },
  "http-address": {
    type: "string",
    arg: "ADDR",
    help: `IP address the HTTP server binds (default ${DEFAULT_HTTP_ADDRESS}); off loopback, ` +
      "/status, /pause and /resume need the bearer token of --http-token-file",
  },
  "http-token-file": {
    type: "string",
    arg: "FILE",
    help: "file (e.g. a mounted Secret) holding the bearer token /status, /pause and /resume " +
      "require when --http-address is not loopback",
  },
  "redis-url": {
    type: "string",
    arg: "URL",
    help: "queue jobs in Redis (BullMQ) at redis:// or rediss://; overrides queue.redis.url",
  },
  "redis-password-file": {
    type: "string",
    arg: "FILE",
    help: "file holding the Redis password (with --redis-url)",
  },
  pause: { type: "boolean", help: "start in maintenance mode: decide and report, do not act" },
  help: { type: "boolean", help: "show this help" },
};

/** What `proxscale run` was asked to do. */
export type RunSettings = {
  source: { kind: "file"; path: string } | { kind: "crds" };
  kubeconfig?: string;
  namespace: string;
  /** The Lease to hold before acting; absent with --no-leader-elect. */
  lease?: { name: string; namespace: string };
  httpPort: number;
  /** The HTTP server's bind address (an IP literal). */
  httpAddress: string;
  /** Where the bearer token of the status and switch routes is read from. */
  httpTokenFile?: string;
  redis?: { url: string; passwordFile?: string };
  pause: boolean;
};

/** One line: `proxscale run (--config FILE | --crds) [--kubeconfig FILE] ...`. */
export function runUsage(): string {
  const rest = Object.entries(RUN_OPTIONS)
    .filter(([k]) => k !== "config" && k !== "crds" && k !== "help")
    .map(([k, s]) => `[--${k}${s.arg ? ` ${s.arg}` : ""}]`);
  return ["proxscale run (--config FILE | --crds)", ...rest].join(" ");
}

/** The option list with their meaning, for `--help` and usage errors. */
export function runOptionsHelp(): string {
  return Object.entries(RUN_OPTIONS).map(([k, s]) => {
    const left = `--${k}${s.arg ? ` ${s.arg}` : ""}`;
    return `  ${left.padEnd(28)}${s.help}`;
  }).join("\n");
}

const validList = () => Object.keys(RUN_OPTIONS).map((k) => `--${k}`).join(", ");
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Parses `proxscale run`'s arguments. `env` supplies POD_NAMESPACE. An unknown option or a
 * bad value is an error naming it (the caller prints it with the usage and exits 2); `help`
 * comes back as its own answer.
 */
export function parseRunArgs(
  args: readonly string[],
  env: (name: string) => string | undefined = () => undefined,
): Result<RunSettings | "help", string> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const options = Object.fromEntries(
      Object.entries(RUN_OPTIONS).map(([k, s]) => [k, { type: s.type }]),
    ) as Record<string, { type: "string" | "boolean" }>;
    ({ values, positionals } = parseArgs({
      args: [...args],
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    }));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const opt = /'(-[^']*)'/.exec(message)?.[1];
    const code = (e as { code?: string }).code;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && opt) {
      return err(`unknown option "${opt}"; valid options: ${validList()}`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && opt) {
      const name = opt.replace(/^-+/, "").split(/[ =]/)[0]!;
      return err(
        RUN_OPTIONS[name]?.type === "boolean"
          ? `option "--${name}" takes no value`
          : `option "--${name}" needs a value`,
      );
    }
    return err(message);
  }
  if (values.help) return ok("help");
  if (positionals.length > 0) {
    return err(`unexpected argument "${positionals[0]}"; valid options: ${validList()}`);
  }
  const str = (k: string) => typeof values[k] === "string" ? values[k] as string : undefined;
  if (!str("config") === !values.crds) return err("exactly one of --config and --crds");
  if (values["leader-elect"] && values["no-leader-elect"]) {
    return err("--leader-elect and --no-leader-elect contradict each other");
  }
  const namespace = str("namespace") ?? env("POD_NAMESPACE") ?? DEFAULT_NAMESPACE;
  if (!DNS_LABEL.test(namespace)) return err(`--namespace "${namespace}" is not a DNS label`);
  const leaseNamespace = str("lease-namespace") ?? namespace;
  if (!DNS_LABEL.test(leaseNamespace)) {
    return err(`--lease-namespace "${leaseNamespace}" is not a DNS label`);
  }
  const leaseName = str("lease-name") ?? LEASE_NAME;
  if (!DNS_NAME.test(leaseName)) return err(`--lease-name "${leaseName}" is not a DNS name`);
  const portText = str("http-port") ?? String(DEFAULT_HTTP_PORT);
  const httpPort = Number(portText);
  if (!/^\d+$/.test(portText) || httpPort > 65535) {
    return err(`--http-port "${portText}" must be a port number from 0 to 65535`);
  }
  const httpAddress = str("http-address") ?? DEFAULT_HTTP_ADDRESS;
  if (!isIpLiteral(httpAddress)) {
    return err(`--http-address "${httpAddress}" must be an IPv4 or IPv6 address`);
  }
  const httpTokenFile = str("http-token-file");
  if (httpTokenFile === "") return err(`--http-token-file needs a file name`);
  const redisUrl = str("redis-url");
  if (redisUrl !== undefined && !/^rediss?:\/\/./.test(redisUrl)) {
    return err(`--redis-url must be a redis:// or rediss:// URL`);
  }
  const passwordFile = str("redis-password-file");
  if (passwordFile !== undefined && redisUrl === undefined) {
    return err("--redis-password-file needs --redis-url");
  }
  const path = str("config");
  return ok({
    source: path !== undefined ? { kind: "file", path } : { kind: "crds" },
    ...(str("kubeconfig") !== undefined ? { kubeconfig: str("kubeconfig")! } : {}),
    namespace,
    ...(values["no-leader-elect"] ? {} : { lease: { name: leaseName, namespace: leaseNamespace } }),
    httpPort,
    httpAddress,
    ...(httpTokenFile !== undefined ? { httpTokenFile } : {}),
    ...(redisUrl !== undefined
      ? { redis: { url: redisUrl, ...(passwordFile ? { passwordFile } : {}) } }
      : {}),
    pause: values.pause === true,
  });
}

/**
 * The container args of the Deployment (and the chart, where `port` is a template expression):
 * configuration from the CRDs, the Lease and everything else in the pod's namespace.
 */
export function podRunArgs(port: number | string): string[] {
  return [
    "run",
    "--crds",
    "--namespace=$(POD_NAMESPACE)",
    "--leader-elect",
    `--lease-name=${LEASE_NAME}`,
    `--http-port=${port}`,
    `--http-address=${POD_HTTP_ADDRESS}`,
  ];
}

/** Is `s` an IPv4 dotted quad or an IPv6 literal (no host names: a bind needs an address)? */
export function isIpLiteral(s: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255 && String(Number(o)) === o);
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return false;
  try {
    return new URL(`http://[${s}]/`).hostname !== "";
  } catch {
    return false;
  }
}

/** Where the systemd unit keeps the configuration file. */
export const HOST_CONFIG_FILE = "/etc/proxscale/config.yaml";

/**
 * The systemd unit's arguments: configuration from a file, the Lease in the same namespace an
 * in-cluster install uses, so a host install and a Deployment never both lead.
 */
export function hostRunArgs(): string[] {
  return [
    "run",
    `--config=${HOST_CONFIG_FILE}`,
    `--namespace=${DEFAULT_NAMESPACE}`,
    "--leader-elect",
    `--lease-name=${LEASE_NAME}`,
    `--http-port=${DEFAULT_HTTP_PORT}`,
  ];
}
