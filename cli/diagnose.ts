/**
 * `proxscale diagnose`: checks, before (or while) running proxscale, everything it depends on:
 * each Provider's PVE API and token rights, hosts, templates, storages and VMID headroom
 * (cli/diagnose_pve.ts), and the Kubernetes API, CRDs and RBAC of the identity in use
 * (cli/diagnose_kube.ts). One line per check with ok/FAIL and the fix; exit 1 if any failed.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import type { Command, Io } from "./command.ts";
import type { Config } from "../core/model.ts";
import { formatProblem, loadConfigFile } from "../adapters/config/load.ts";
import { formatCrdProblem } from "../adapters/config/crd_source.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import { KubeClient } from "../adapters/kubernetes/client.ts";
import {
  bootstrapCaReadable,
  clusterCredentials,
  httpPortFree,
  type StartupProblem,
} from "../daemon/startup_checks.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import { connectPveClient } from "../adapters/proxmox/client.ts";
import type { SecretDeps } from "../adapters/proxmox/secret.ts";
import { kubeSecretReader } from "../adapters/kubernetes/secret_reader.ts";
import { type Check, pveChecks } from "./diagnose_pve.ts";
import { kubeChecks } from "./diagnose_kube.ts";
import { redfishChecks } from "./diagnose_redfish.ts";
import { hostPowerChecks } from "./diagnose_host_power.ts";

const USAGE = "proxscale diagnose (--config FILE | --crds) [--kubeconfig FILE] [--namespace NS] " +
  "[--http-port PORT] [--json]";

const HELP = `usage: ${USAGE}

Checks what proxscale needs and prints one line per check (ok or FAIL, with the fix):
  - each Provider: PVE API reachable with the token; privileges the token lacks for what
    proxscale does (VM.Allocate, VM.Clone, VM.Config.*, VM.PowerMgmt, Datastore.AllocateSpace,
    and for nocloudIso bootstrap Datastore.AllocateTemplate/Allocate on the iso storage,
    Sys.Audit, ...); configured hosts online; templates and storages present on each host;
    free VMIDs in vmidRange
  - each Redfish (bare-metal) Provider, per machine: the BMC password readable, the BMC reachable
    over trusted TLS, the credentials log in and find the System, the account holds
    ConfigureComponents (power, boot and virtual media), a CD virtual media slot; the seed
    server's certificate and key readable
  - each Proxmox host with a bmc (host power): the BMC credentials readable, BMC reachable over
    trusted TLS, the System found, the resets host power sends (On, GracefulShutdown) offered,
    ConfigureComponents held
  - Kubernetes (with --kubeconfig, in-cluster, or $KUBECONFIG): the cluster CA and credentials
    readable, API reachable, each RBAC rule proxscale uses (SelfSubjectAccessReview, nothing is
    written), CRDs installed
  - node bootstrap: the cluster CA each MachineTemplate pins (bootstrap.caCertHashFrom, else the
    cluster connection's CA, else the service account's) can be read
  - with --http-port: the daemon's HTTP port is free
These are the checks \`proxscale run\` makes before it starts, so diagnose fails where it would.
Exits 1 when any check fails.

  --config FILE      the YAML configuration
  --crds             read the configuration from the cluster's custom resources instead
  --kubeconfig FILE  cluster to check (default: in-cluster when run in a pod, else skipped)
  --namespace NS     proxscale's namespace (default ${DEFAULT_NAMESPACE})
  --http-port PORT   check that this port is free for the daemon's HTTP endpoints
  --json             print the checks as JSON`;

/** A start-up check's failure as a diagnose line. */
function asCheck(name: string, r: { ok: true } | { ok: false; error: StartupProblem }): Check {
  return r.ok
    ? { name, ok: true, detail: "ok" }
    : { name, ok: false, detail: r.error.cause, fix: r.error.fix };
}

/** Runs every check; `kube` undefined skips the Kubernetes ones. */
export async function diagnose(
  config: Config,
  kube: KubeClient | undefined,
  namespace: string,
  deps: SecretDeps = {},
): Promise<Check[]> {
  const checks: Check[] = [];
  checks.push(
    asCheck(
      "bootstrap ca",
      await bootstrapCaReadable(config, kube?.kc.caCerts[0], kube !== undefined),
    ),
  );
  const secretDeps: SecretDeps = {
    ...deps,
    // The same reader as proxscale run, so a 403 or a missing key reads the same here.
    ...(kube && !deps.readKubeSecret ? { readKubeSecret: kubeSecretReader(kube, namespace) } : {}),
  };
  for (const p of config.providers) {
    if (p.kind === "redfish") {
      checks.push(...await redfishChecks(p, secretDeps));
      continue;
    }
    const client = await connectPveClient(p, {
      ...secretDeps,
      timeoutMs: 10_000,
      retry: { attempts: 2, baseMs: 200, maxMs: 500 },
    });
    if (!client.ok) {
      checks.push({
        name: `pve ${p.name}: token secret`,
        ok: false,
        detail: client.error.message,
        fix: "set tokenSecret to a readable file, environment variable or Secret",
      });
      continue;
    }
    try {
      const templates = config.machineTemplates.filter((t) => t.provider === p.name);
      checks.push(...await pveChecks(p, templates, client.value));
    } finally {
      client.value.close();
    }
    checks.push(...await hostPowerChecks(p, secretDeps));
  }
  if (kube) checks.push(...await kubeChecks(kube, namespace));
  else {
    checks.push({
      name: "kubernetes",
      ok: true,
      detail: "skipped: no --kubeconfig and not running in a pod",
    });
  }
  return checks;
}

/** The checks as terminal lines. */
export function formatChecks(checks: Check[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}`);
    if (!c.ok && c.fix) lines.push(`      fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(
    "",
    failed === 0
      ? `all ${checks.length} checks passed`
      : `${failed} of ${checks.length} checks failed`,
  );
  return lines.join("\n");
}

async function runDiagnose(args: string[], io: Io): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: "string", short: "c" },
        crds: { type: "boolean" },
        kubeconfig: { type: "string" },
        namespace: { type: "string", short: "n" },
        json: { type: "boolean" },
        "http-port": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    io.err(`${(e as Error).message}\nusage: ${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (!values.config === !values.crds) {
    io.err(`give exactly one of --config FILE or --crds\nusage: ${USAGE}`);
    return 2;
  }
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  const early: Check[] = [];
  if (values["http-port"] !== undefined) {
    const port = Number(values["http-port"]);
    if (!/^\d+$/.test(values["http-port"]) || port > 65535) {
      io.err(`--http-port must be a port number\nusage: ${USAGE}`);
      return 2;
    }
    early.push(asCheck("http port", httpPortFree(port)));
  }
  // The same cluster connection as proxscale run: --kubeconfig, the pod, or $KUBECONFIG.
  let kube: KubeClient | undefined;
  const inCluster = Deno.env.get("KUBERNETES_SERVICE_HOST") || Deno.env.get("KUBECONFIG");
  if (values.kubeconfig !== undefined || inCluster) {
    const creds = await clusterCredentials(values.kubeconfig);
    early.push(asCheck("kubernetes credentials", creds));
    if (creds.ok) kube = new KubeClient(creds.value);
  }
  if (early.some((c) => !c.ok) && !kube && values.crds) {
    io.out(values.json ? JSON.stringify(early, null, 2) : formatChecks(early));
    return 1;
  }
  let config: Config;
  if (values.config) {
    const r = await loadConfigFile(values.config);
    if (!r.ok) {
      io.err(r.error.map(formatProblem).join("\n"));
      return 1;
    }
    config = r.value;
  } else {
    if (!kube) {
      io.err("--crds needs --kubeconfig FILE or running in a pod");
      return 2;
    }
    const r = await loadConfigFromCluster(kube, namespace);
    if (!r.ok) {
      io.err(r.error.map(formatCrdProblem).join("\n"));
      return 1;
    }
    config = r.value;
  }
  const checks = [...early, ...await diagnose(config, kube, namespace)];
  io.out(values.json ? JSON.stringify(checks, null, 2) : formatChecks(checks));
  return checks.every((c) => c.ok) ? 0 : 1;
}

/** The `diagnose` command. */
export const diagnoseCommand: Command = {
  name: "diagnose",
  summary: COMMAND_SUMMARIES.diagnose,
  usage: USAGE,
  run: runDiagnose,
};
