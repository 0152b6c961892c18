/**
 * `proxscale run`: the long-running daemon. Its options are defined once, in
 * adapters/deploy/run_options.ts, which the generated Deployment, Helm chart and systemd unit
 * are rendered from. Configuration from a YAML file (`--config`) or from the proxscale CRDs in
 * the cluster (`--crds`), read once here; Kubernetes from `--kubeconfig`, else the in-cluster
 * service account or $KUBECONFIG. daemon/composition.ts builds and starts the daemon from it
 * (queue, Lease, HTTP port, hot reload); this command parses, loads, calls it and reports.
 *
 * A start that cannot work (port taken, credentials or CRDs missing, PVE unreachable, bootstrap
 * CA unreadable) prints one line with the cause and the fix and exits 1 before taking the
 * Lease; an invalid configuration exits 2. It stops gracefully, releasing the Lease, when
 * main.ts aborts `stop` (SIGINT/SIGTERM), and exits 0.
 */
import { type Command, stopped } from "./command.ts";
import { COMMAND_SUMMARIES } from "./summaries.ts";
import type { Config } from "../core/model.ts";
import { err, ok, type Result } from "../core/result.ts";
import { formatProblem, loadConfigFile } from "../adapters/config/load.ts";
import {
  parseRunArgs,
  runOptionsHelp,
  type RunSettings,
  runUsage,
} from "../adapters/deploy/run_options.ts";
import { formatCrdProblem } from "../adapters/config/crd_source.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import { startupLine } from "../daemon/startup_checks.ts";
import { preflight, type StartFailure, startProxscale } from "../daemon/composition.ts";

/** The configuration from the file or the cluster, read once; problems as printable lines. */
async function loadConfig(s: RunSettings, kube: KubeClient): Promise<Result<Config, string[]>> {
  if (s.source.kind === "file") {
    const r = await loadConfigFile(s.source.path);
    return r.ok ? r : err(r.error.map(formatProblem));
  }
  const r = await loadConfigFromCluster(kube, s.namespace);
  return r.ok ? ok(r.value) : err(r.error.map(formatCrdProblem));
}

/**
 * Whether this code runs from `deno bundle`'s single file, where daemon/front_door_worker.ts
 * has no file of its own: the front door is then started from the bundle's entry (main.ts
 * serves it when run as a worker of that name). From source and in the compiled binary
 * (`deno task compile` includes the worker module) the module keeps its own URL.
 */
function bundled(): boolean {
  return !import.meta.url.endsWith("/cli/run.ts");
}

/** PROXSCALE_PASS_BUDGET_MS as a positive number of ms; anything else keeps the default. */
function passBudget(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The run command. */
export const runCommand: Command = {
  name: "run",
  summary: COMMAND_SUMMARIES.run,
  usage: runUsage(),
  async run(args, io, stop) {
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
    // A start that cannot work stops here with one line naming the cause and the fix, before
    // the Lease is taken, instead of running half-alive.
    const fail = (p: StartFailure) => {
      io.err(`proxscale run: ${startupLine(p)}`);
      if (p.stack && Deno.env.get("PROXSCALE_DEBUG")) io.err(p.stack);
      return 1;
    };
    const cluster = await preflight(s);
    if (!cluster.ok) return fail(cluster.error);
    const config = await loadConfig(s, cluster.value.kube);
    if (!config.ok) {
      for (const line of config.error) io.err(line);
      return 2;
    }
    const started = await startProxscale({
      settings: s,
      config: config.value,
      cluster: cluster.value,
      env: {
        podName: Deno.env.get("POD_NAME"),
        inPod: Deno.env.get("KUBERNETES_SERVICE_HOST") !== undefined,
        passBudgetMs: passBudget(Deno.env.get("PROXSCALE_PASS_BUDGET_MS")),
      },
      ...(bundled() ? { frontDoorWorker: new URL(Deno.mainModule) } : {}),
    });
    if (!started.ok) return fail(started.error);
    await stopped(stop);
    await started.value.stop();
    return 0;
  },
};
