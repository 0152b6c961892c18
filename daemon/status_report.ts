/**
 * What a running daemon publishes for `proxscale status` (GET /status on its HTTP port, JSON):
 * pools with usage against limits (VM memory overhead included, the same footprint function
 * the decisions use), NodeClaims with their conditions, the job queue, the last decisions with
 * their reasons, maintenance mode, leadership and the configuration's reload state. Plain data
 * so the CLI renders it and tests assert on it; no secret is part of any field (the HTTP
 * server scrubs the body anyway).
 *
 * May import: core/, adapters/, daemon/.
 */
import type { Config, NodeClaim } from "../core/model.ts";
import { poolUsage } from "../core/limits.ts";
import { type IpPoolStatus, ipPoolStatuses } from "../core/ipam.ts";
import type { Reason } from "../core/reason.ts";
import { emptyCounts, type JobCounts, type JobInfo, type JobQueue } from "./ports/queue.ts";
import type { DecisionReport } from "./context.ts";
import type { MaintenanceState } from "./maintenance.ts";
import type { HostDown, HostInMaintenance } from "./host_health.ts";
import { type HostStatus, hostStatuses } from "./host_status.ts";

/** One pool's usage vs its limits. cpu in millicores, memory in bytes (host memory). */
export type PoolStatus = {
  name: string;
  machineTemplate: string;
  /** Per-VM memory the host pays beyond the guest's (bytes), counted in `usage.memory`. */
  vmMemOverhead: number;
  usage: { cpu: number; memory: number; nodes: number };
  limits: { cpu?: number; memory?: number; nodes?: number };
  minNodes: number;
  /** The pool is paused (spec.paused): no new node, no disruption. */
  paused?: boolean;
};

/** A NodeClaim as status shows it. */
export type ClaimStatus = {
  name: string;
  nodePool: string;
  shape: string;
  host?: string;
  vmid?: number;
  node?: string;
  deleting?: boolean;
  createdAt: number;
  conditions: { type: string; status: string; reason: string; message: string }[];
};

/** A queue job without its payload. */
export type JobLine = Omit<JobInfo, "data"> & { kind?: string };

/** Whether the last configuration change applied. */
export type ReloadState = {
  source: string;
  /** When the configuration in use was loaded (epoch ms). */
  loadedAt: number;
  /** Loaded configurations since start (the first included). */
  generation: number;
  /** The live generation of the configuration history in the cluster (CRD source only). */
  live?: { generation: number; digest: string };
  /** The validation errors of the last rejected change, while it is the latest one. */
  rejected?: { at: number; problems: string[] };
};

/** The document GET /status answers. Times are epoch ms. */
export type StatusReport = {
  /** "cluster" when built from the cluster alone (`proxscale status` without the daemon). */
  view?: "daemon" | "cluster";
  time: number;
  leader: boolean;
  maintenance: MaintenanceState;
  loop?: { passes: number; lastPassAt: number };
  /** Proxmox hosts that could not be read on the last pass, with why and since when. */
  hostsDown?: HostDown[];
  /** Every configured Proxmox host: maintenance, reachability, NodeClaims on it. */
  hosts?: HostStatus[];
  config?: ReloadState;
  pools: PoolStatus[];
  /** Static address pools: addresses held by claims, used by other VMs, free (when any pool). */
  ipPools?: IpPoolStatus[];
  claims: ClaimStatus[];
  jobs: { counts: JobCounts; list: JobLine[]; error?: string };
  decisions: DecisionReport[];
};

/** The last `limit` decisions, newest last; the daemon's `report` feeds it. */
export class DecisionLog {
  readonly #limit: number;
  #items: DecisionReport[] = [];

  constructor(limit = 50) {
    this.#limit = limit;
  }

  push(d: DecisionReport): void {
    this.#items.push(d);
    if (this.#items.length > this.#limit) this.#items.splice(0, this.#items.length - this.#limit);
  }

  list(): DecisionReport[] {
    return [...this.#items];
  }
}

/** Where the report's parts come from (a running daemon, or a test's stand-ins). */
export type StatusSource = {
  config: () => Config;
  claims: () => NodeClaim[];
  queue: Pick<JobQueue<unknown>, "counts" | "list">;
  decisions: DecisionLog;
  isLeader: () => boolean;
  maintenance: () => MaintenanceState;
  loop?: () => { passes: number; lastPassAt: number };
  hostsDown?: () => HostDown[];
  /** Hosts the provider reported in maintenance on the last pass (PVE HA maintenance). */
  hostsInMaintenance?: () => HostInMaintenance[];
  /** Hosts offline on purpose through host power. */
  hostsPowered?: () => {
    provider: string;
    host: string;
    power: "off" | "booting" | "shutting down";
  }[];
  reload?: () => ReloadState | undefined;
  now?: () => number;
  /** Static addresses a Provider's VMs use, as last read (IP pool usage). */
  vmAddresses?: (provider: string) => readonly string[];
};

/** Pools with their usage, from the configuration and the NodeClaims seen. */
export function poolStatuses(config: Config, claims: readonly NodeClaim[]): PoolStatus[] {
  const templates = new Map(config.machineTemplates.map((t) => [t.name, t]));
  return config.nodePools.map((p) => ({
    name: p.name,
    machineTemplate: p.machineTemplate,
    vmMemOverhead: templates.get(p.machineTemplate)?.vmMemOverhead ?? 0,
    usage: poolUsage(p, claims, templates),
    limits: { ...p.limits },
    minNodes: p.minNodes,
    ...(p.paused ? { paused: true } : {}),
  }));
}

function claimStatus(c: NodeClaim): ClaimStatus {
  return {
    name: c.name,
    nodePool: c.nodePool,
    shape: c.shape.name,
    ...(c.host !== undefined ? { host: c.host } : {}),
    ...(c.vmid !== undefined ? { vmid: c.vmid } : {}),
    ...(c.nodeName !== undefined ? { node: c.nodeName } : {}),
    ...(c.deleting ? { deleting: true } : {}),
    createdAt: c.createdAt,
    conditions: c.conditions.map((k) => ({
      type: k.type,
      status: k.status,
      reason: k.reason,
      message: k.message,
    })),
  };
}

/** Builds the report now. Queue failures are part of it, not an error. */
export async function buildStatus(src: StatusSource): Promise<StatusReport> {
  const now = (src.now ?? Date.now)();
  const claims = [...src.claims()].sort((a, b) => a.name.localeCompare(b.name));
  const [counts, list] = await Promise.all([src.queue.counts(), src.queue.list()]);
  const jobs: StatusReport["jobs"] = {
    counts: counts.ok ? counts.value : emptyCounts(),
    list: list.ok
      ? list.value.map(({ data, ...rest }) => ({
        ...rest,
        ...(typeof (data as { kind?: unknown })?.kind === "string"
          ? { kind: (data as { kind: string }).kind }
          : {}),
      }))
      : [],
    ...(!counts.ok
      ? { error: counts.error.message }
      : !list.ok
      ? { error: list.error.message }
      : {}),
  };
  const reload = src.reload?.();
  const ipPools = ipPoolStatuses(src.config(), claims, src.vmAddresses);
  return {
    view: "daemon",
    time: now,
    leader: src.isLeader(),
    maintenance: src.maintenance(),
    ...(src.loop ? { loop: src.loop() } : {}),
    ...(src.hostsDown ? { hostsDown: src.hostsDown() } : {}),
    hosts: hostStatuses(
      src.config(),
      claims,
      src.hostsInMaintenance?.() ?? [],
      src.hostsDown?.() ?? [],
      src.hostsPowered?.() ?? [],
    ),
    ...(reload ? { config: reload } : {}),
    pools: poolStatuses(src.config(), claims),
    ...(ipPools.length > 0 ? { ipPools } : {}),
    claims: claims.map(claimStatus),
    jobs,
    decisions: src.decisions.list(),
  };
}

/** `GET /status` for daemon/http.ts `routes`. */
export function statusRoutes(
  src: StatusSource,
): Record<string, (req: Request) => Promise<Response>> {
  return {
    "/status": async (req) => {
      if (req.method !== "GET") {
        return new Response(JSON.stringify({ error: "use GET" }), { status: 405 });
      }
      return new Response(JSON.stringify(await buildStatus(src)), {
        status: 200,
        headers: { "content-type": "application/json" },
      });
    },
  };
}

/** A reason as one line (`Code: message`). */
export function reasonLine(r: Reason): string {
  return `${r.code}: ${r.message}`;
}

/** The parts of a running daemon (daemon/daemon.ts `Daemon`) the report reads. */
export type StatusDaemon = {
  ctx: {
    config: () => Config;
    queue: Pick<JobQueue<unknown>, "counts" | "list">;
    providers?: ReadonlyMap<string, { knownVmAddresses?(): readonly string[] }>;
  };
  informers: { nodeClaims: { list(): NodeClaim[] } };
  loop: {
    passes: number;
    lastPassAt: number;
    hostHealth: { down(): HostDown[]; maintenance?(): HostInMaintenance[] };
    hostsPowered?(): {
      provider: string;
      host: string;
      power: "off" | "booting" | "shutting down";
    }[];
  };
  isLeader(): boolean;
};

/** A StatusSource over a running daemon. */
export function daemonStatusSource(
  daemon: StatusDaemon,
  parts: {
    decisions: DecisionLog;
    maintenance: { state(): MaintenanceState };
    reload?: () => ReloadState | undefined;
    now?: () => number;
  },
): StatusSource {
  return {
    config: () => daemon.ctx.config(),
    claims: () => daemon.informers.nodeClaims.list(),
    queue: daemon.ctx.queue,
    decisions: parts.decisions,
    isLeader: () => daemon.isLeader(),
    maintenance: () => parts.maintenance.state(),
    loop: () => ({ passes: daemon.loop.passes, lastPassAt: daemon.loop.lastPassAt }),
    hostsDown: () => daemon.loop.hostHealth.down(),
    hostsInMaintenance: () => daemon.loop.hostHealth.maintenance?.() ?? [],
    hostsPowered: () => daemon.loop.hostsPowered?.() ?? [],
    vmAddresses: (p) => daemon.ctx.providers?.get(p)?.knownVmAddresses?.() ?? [],
    ...(parts.reload ? { reload: parts.reload } : {}),
    ...(parts.now ? { now: parts.now } : {}),
  };
}
