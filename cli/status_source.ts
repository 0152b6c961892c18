/**
 * Where the `host` and `pool` commands read the state they show or wait on: the daemon's
 * GET /status (`--url`), else the cluster's NodePools, Providers and NodeClaims (`--kubeconfig`,
 * or in-cluster / ~/.kube/config). A config file alone (`--config`) has no NodeClaims: it shows
 * what is configured.
 *
 * May import: core/, adapters/, daemon/, cli/.
 */
import type { StatusReport } from "../daemon/status_report.ts";
import { poolStatuses } from "../daemon/status_report.ts";
import { hostStatuses } from "../daemon/host_status.ts";
import { emptyCounts } from "../daemon/ports/queue.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import {
  kubeClientFromDefault,
  kubeClientFromKubeconfig,
} from "../adapters/kubernetes/kubeconfig.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import { formatProblem, loadConfigFile } from "../adapters/config/load.ts";
import { clusterStatus, fetchStatus } from "./status.ts";
import { tokenHeaders } from "./http_token.ts";

/** The options every `host` and `pool` subcommand shares. */
export type SourceOptions = {
  config?: string;
  kubeconfig?: string;
  namespace?: string;
  url?: string;
  "token-file"?: string;
};

/** parseArgs option specs of SourceOptions. */
export const SOURCE_ARGS = {
  config: { type: "string" },
  kubeconfig: { type: "string" },
  namespace: { type: "string", short: "n" },
  url: { type: "string" },
  "token-file": { type: "string" },
} as const;

/** The help lines of SourceOptions. */
export const SOURCE_HELP =
  `  --config FILE      a config file instead of the cluster's custom resources (the daemon
                     hot-reloads it); NodeClaims then come from --url only
  --kubeconfig FILE  the cluster (default: in-cluster or ~/.kube/config)
  --namespace NS     proxscale's namespace (default ${DEFAULT_NAMESPACE})
  --url URL          a running daemon's HTTP port (GET /status) to read state from
  --token-file FILE  with --url: the bearer token the daemon requires beyond loopback`;

/** The Kubernetes client the options name. */
export async function kubeFrom(o: SourceOptions): Promise<KubeClient> {
  return o.kubeconfig !== undefined
    ? kubeClientFromKubeconfig(await Deno.readTextFile(o.kubeconfig))
    : kubeClientFromDefault();
}

/** The status document from the source the options name. */
export async function readStatus(
  o: SourceOptions,
): Promise<{ ok: true; value: StatusReport } | { ok: false; error: string }> {
  if (o.url !== undefined) {
    const headers = await tokenHeaders(o["token-file"]);
    if (!headers.ok) return { ok: false, error: headers.error };
    return await fetchStatus(o.url, headers.value);
  }
  if (o.config !== undefined) {
    const c = await loadConfigFile(o.config);
    if (!c.ok) return { ok: false, error: c.error.map(formatProblem).join("\n") };
    return {
      ok: true,
      value: {
        view: "cluster",
        time: Date.now(),
        leader: false,
        maintenance: { paused: false, local: false, cluster: false },
        pools: poolStatuses(c.value, []),
        hosts: hostStatuses(c.value, [], [], []),
        claims: [],
        jobs: { counts: emptyCounts(), list: [], error: "not known without the daemon" },
        decisions: [],
      },
    };
  }
  try {
    return await clusterStatus(await kubeFrom(o), o.namespace ?? DEFAULT_NAMESPACE, Date.now());
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}
