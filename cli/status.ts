/**
 * `proxscale status`: what the autoscaler is doing. From a running daemon (GET /status on its
 * HTTP port, daemon/status_report.ts): pools with usage against limits (VM memory overhead
 * included), NodeClaims with their conditions, the job queue, the last decisions with their
 * reasons, maintenance mode and configuration reloads. With `--kubeconfig` and no daemon
 * reachable it falls back to what the cluster holds (NodePools and NodeClaims). `--json`
 * prints the document as is.
 */
import { readHistory } from "../adapters/kubernetes/config_history.ts";
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import type { Command, Io } from "./command.ts";
import { renderTable } from "./table.ts";
import { humanBytes, humanCpu } from "../core/quantity.ts";
import { formatJobStatus } from "../adapters/queue/status.ts";
import type { JobInfo } from "../daemon/ports/queue.ts";
import { KubeClient } from "../adapters/kubernetes/client.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import { nodeClaimFromKube } from "../adapters/kubernetes/translate.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import { formatCrdProblem } from "../adapters/config/crd_source.ts";
import { formatDuration } from "../core/duration.ts";
import type { NodeClaim } from "../core/model.ts";
import { ipPoolStatuses } from "../core/ipam.ts";
import {
  type ClaimStatus,
  DecisionLog,
  poolStatuses,
  type StatusReport,
} from "../daemon/status_report.ts";
import { emptyCounts } from "../daemon/ports/queue.ts";
import { MAINTENANCE_CONFIGMAP, pausedAnnotation } from "../daemon/maintenance.ts";
import { tokenHeaders } from "./http_token.ts";
import { hostStatuses } from "../daemon/host_status.ts";

const USAGE =
  "proxscale status [--url http://HOST:PORT] [--token-file FILE] [--kubeconfig FILE] [--namespace NS] [--json] [--decisions N]";

const HELP = `usage: ${USAGE}

Shows pools (usage vs limits, VM memory overhead included), NodeClaims with their conditions,
the job queue and the last decisions with their reasons.

  --url URL          the daemon's HTTP port (default http://127.0.0.1:8080; GET /status)
  --token-file FILE  the bearer token the daemon requires when it listens beyond loopback
                     (its --http-token-file)
  --kubeconfig FILE  read NodePools and NodeClaims from the cluster when the daemon is not
                     reachable (no jobs or decisions then)
  --namespace NS     proxscale's namespace for the cluster fallback (default ${DEFAULT_NAMESPACE})
  --json             print the status document as JSON
  --decisions N      how many recent decisions to print (default 15)`;

/** Fetches the daemon's status document; a message when it cannot. */
export async function fetchStatus(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ok: true; value: StatusReport } | { ok: false; error: string }> {
  try {
    const res = await fetch(new URL("/status", url), {
      headers,
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    if (!res.ok) return { ok: false, error: `${url}/status answered ${res.status}: ${text}` };
    return { ok: true, value: JSON.parse(text) as StatusReport };
  } catch (e) {
    return { ok: false, error: `${url}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** A status document from the cluster alone (pools and claims). */
export async function clusterStatus(
  kube: KubeClient,
  namespace: string,
  now: number,
): Promise<{ ok: true; value: StatusReport } | { ok: false; error: string }> {
  const config = await loadConfigFromCluster(kube, namespace);
  if (!config.ok) {
    return {
      ok: false,
      error: `configuration in the cluster: ${config.error.map(formatCrdProblem).join("; ")}`,
    };
  }
  const list = await kube.requestJson("GET", "/apis/proxscale.io/v1alpha1/nodeclaims");
  if (!list.ok) return { ok: false, error: `listing NodeClaims: ${list.error.message}` };
  const claims: NodeClaim[] = [];
  for (const item of (list.value.body as { items?: unknown[] }).items ?? []) {
    const c = nodeClaimFromKube(item);
    if (c.ok) claims.push(c.value);
  }
  claims.sort((a, b) => a.name.localeCompare(b.name));
  // The persistent maintenance switch is in the cluster too.
  const cm = await kube.requestJson(
    "GET",
    `/api/v1/namespaces/${namespace}/configmaps/${MAINTENANCE_CONFIGMAP}`,
  );
  const paused = cm.ok && pausedAnnotation(cm.value.body);
  // The live configuration generation, from the history the daemon keeps in the cluster.
  const history = await readHistory(kube, namespace);
  const live = history.ok ? history.value.at(-1) : undefined;
  return {
    ok: true,
    value: {
      view: "cluster",
      time: now,
      leader: false,
      maintenance: { paused, local: false, cluster: paused },
      ...(live
        ? {
          config: {
            source: "crds",
            loadedAt: Date.parse(live.appliedAt),
            generation: live.generation,
            live: { generation: live.generation, digest: live.digest },
          },
        }
        : {}),
      pools: poolStatuses(config.value, claims),
      hosts: hostStatuses(config.value, claims, [], []),
      ...(ipPoolStatuses(config.value, claims).length > 0
        ? { ipPools: ipPoolStatuses(config.value, claims) }
        : {}),
      claims: claims.map((c) => ({
        name: c.name,
        nodePool: c.nodePool,
        shape: c.shape.name,
        ...(c.host !== undefined ? { host: c.host } : {}),
        ...(c.vmid !== undefined ? { vmid: c.vmid } : {}),
        ...(c.nodeName !== undefined ? { node: c.nodeName } : {}),
        ...(c.deleting ? { deleting: true } : {}),
        createdAt: c.createdAt,
        conditions: c.conditions.map(({ type, status, reason, message }) => ({
          type,
          status,
          reason,
          message,
        })),
      })),
      jobs: { counts: emptyCounts(), list: [], error: "not known without the daemon" },
      decisions: new DecisionLog().list(),
    },
  };
}

const limitText = (used: string, limit: string | undefined) =>
  limit === undefined ? `${used} / -` : `${used} / ${limit}`;

function claimConditions(c: ClaimStatus): string {
  const bad = c.conditions.filter((k) => k.status !== "True");
  const good = c.conditions.filter((k) => k.status === "True").map((k) => k.type);
  const parts = [good.join(",")];
  for (const k of bad) parts.push(`${k.type}=${k.status} (${k.reason}: ${k.message})`);
  return parts.filter((p) => p).join(" ") || "-";
}

const clock = (t: number) => new Date(t).toISOString().slice(11, 19);

/** The status document as terminal text. */
export function formatStatus(s: StatusReport, decisions = 15): string {
  const out: string[] = [];
  const m = s.maintenance;
  const mode = m.paused
    ? `PAUSED (maintenance mode${m.cluster ? ", annotation" : ""}${
      m.local ? ", local switch" : ""
    }${
      m.since ? ` since ${new Date(m.since).toISOString()}` : ""
    }): decisions are reported, not carried out`
    : "active";
  out.push(
    s.view === "cluster"
      ? `daemon: not reachable; from the cluster: ${mode}`
      : `daemon: ${s.leader ? "leader" : "not the leader"}, ${mode}`,
  );
  if (m.error) out.push(`  maintenance switch: ${m.error}`);
  if (s.loop) {
    const ago = s.loop.lastPassAt ? formatDuration(Math.max(0, s.time - s.loop.lastPassAt)) : "-";
    out.push(`loop: ${s.loop.passes} passes, last ${ago} ago`);
  }
  if (s.config) {
    out.push(
      `config: ${s.config.source}, generation ${s.config.generation}, loaded ${
        new Date(s.config.loadedAt).toISOString()
      }`,
    );
    if (s.config.live) {
      out.push(
        `  live configuration generation ${s.config.live.generation} ` +
          `(digest ${s.config.live.digest}; proxscale config history)`,
      );
    }
    if (s.config.rejected) {
      out.push(`  last change REJECTED at ${new Date(s.config.rejected.at).toISOString()}:`);
      for (const p of s.config.rejected.problems) out.push(`    ${p}`);
    }
  }
  out.push("", "pools (memory is host memory: guest + VM overhead):");
  out.push(renderTable(
    ["NAME", "TEMPLATE", "NODES", "CPU", "MEMORY", "OVERHEAD/VM"],
    s.pools.map((p) => [
      p.name,
      p.machineTemplate,
      limitText(String(p.usage.nodes), p.limits.nodes?.toString()),
      limitText(
        humanCpu(p.usage.cpu),
        p.limits.cpu !== undefined ? humanCpu(p.limits.cpu) : undefined,
      ),
      limitText(
        humanBytes(p.usage.memory),
        p.limits.memory !== undefined ? humanBytes(p.limits.memory) : undefined,
      ),
      humanBytes(p.vmMemOverhead),
    ]),
  ));
  if (s.ipPools?.length) {
    out.push("", "ip pools (held by NodeClaims, used by other VMs as PVE last showed, free):");
    out.push(renderTable(
      ["PROVIDER", "POOL", "SIZE", "HELD", "FOREIGN", "FREE"],
      s.ipPools.map((p) => [
        p.provider,
        p.pool,
        String(p.size),
        String(p.held),
        String(p.foreign),
        String(p.free),
      ]),
    ));
  }
  out.push("", `nodeclaims (${s.claims.length}):`);
  if (s.claims.length > 0) {
    out.push(renderTable(
      ["NAME", "POOL", "SHAPE", "HOST", "VMID", "NODE", "CONDITIONS"],
      s.claims.map((c) => [
        c.name + (c.deleting ? " (deleting)" : ""),
        c.nodePool,
        c.shape,
        c.host ?? "-",
        c.vmid?.toString() ?? "-",
        c.node ?? "-",
        claimConditions(c),
      ]),
    ));
  }
  out.push("");
  if (s.jobs.error) out.push(`jobs: ${s.jobs.error}`);
  else {
    const jobs = s.jobs.list.map((j) => ({ ...j, data: undefined }) as JobInfo);
    out.push(formatJobStatus(s.jobs.counts, jobs, s.time, 20));
  }
  const last = s.decisions.slice(-decisions);
  out.push("", `last decisions (${last.length} of ${s.decisions.length} kept):`);
  for (const d of last) {
    const who = d.nodeclaim ?? d.node ?? (d.vmid !== undefined ? `vm ${d.vmid}` : "");
    out.push(
      `  ${clock(d.time)}  ${d.what}${
        d.dryRun ? " (not carried out)" : ""
      }  ${who}  ${d.reason.code}: ${d.reason.message}`,
    );
  }
  return out.join("\n");
}

async function runStatus(args: string[], io: Io): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        url: { type: "string" },
        "token-file": { type: "string" },
        kubeconfig: { type: "string" },
        namespace: { type: "string", short: "n" },
        json: { type: "boolean" },
        decisions: { type: "string" },
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
  const n = values.decisions === undefined ? 15 : Number(values.decisions);
  if (!Number.isInteger(n) || n < 0) {
    io.err(`--decisions needs a whole number, got "${values.decisions}"`);
    return 2;
  }
  const url = values.url ?? "http://127.0.0.1:8080";
  const headers = await tokenHeaders(values["token-file"]);
  if (!headers.ok) {
    io.err(`proxscale status: ${headers.error}`);
    return 2;
  }
  let status = await fetchStatus(url, headers.value);
  if (!status.ok && values.kubeconfig !== undefined) {
    io.err(`daemon not reachable (${status.error}); showing what the cluster holds`);
    const kube = kubeClientFromKubeconfig(await Deno.readTextFile(values.kubeconfig));
    status = await clusterStatus(kube, values.namespace ?? DEFAULT_NAMESPACE, Date.now());
  }
  if (!status.ok) {
    io.err(`proxscale status: ${status.error}`);
    return 1;
  }
  io.out(values.json ? JSON.stringify(status.value, null, 2) : formatStatus(status.value, n));
  return 0;
}

/** The `status` command. */
export const statusCommand: Command = {
  name: "status",
  summary: COMMAND_SUMMARIES.status,
  usage: USAGE,
  run: runStatus,
};
