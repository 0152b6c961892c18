/**
 * The gauges and counters a reconcile pass feeds: nodes by NodePool and state, pods waiting for
 * capacity now and how long each waited once bound, each pool's usage and limits, drift
 * findings, launches and disruption decisions carried out, leader and sync flags, queue depth,
 * each Proxmox host up or down, and the NodePools whose node repair is paused.
 * Kept apart from observe.ts (reports, audit, errors) so each stays one concept.
 *
 * May import: core/, adapters/, daemon/.
 */
import { quotaBlockedByTenant } from "./tenant_quota_blocked.ts";
import type { Config, MachineTemplate, NodeClaim, Snapshot } from "../core/model.ts";
import { podKey } from "../core/model.ts";
import type { ReconcilePlan } from "../core/reconcile.ts";
import { isClaimReady } from "../core/claim_state.ts";
import { poolUsage } from "../core/limits.ts";
import { CAPACITY_TYPE_LABEL_KEY, NODEPOOL_LABEL_KEY } from "../core/labels.ts";
import { claimCostModel, DEFAULT_CAPACITY_TYPE, shapeCost } from "../core/cost.ts";
import type { Metrics } from "../adapters/telemetry/metrics.ts";
import { ipPoolStatuses } from "../core/ipam.ts";

/** The state a NodeClaim counts under in `proxscale_nodes`. */
export function claimState(c: NodeClaim): "deleting" | "ready" | "registered" | "launching" {
  if (c.deleting) return "deleting";
  if (isClaimReady(c)) return "ready";
  return c.nodeName !== undefined ? "registered" : "launching";
}

/** True for a pod that waits for a node: Pending, unbound, marked Unschedulable. */
export function isWaiting(p: Snapshot["pods"][number]): boolean {
  return p.phase === "Pending" && p.nodeName === undefined && p.unschedulable === true;
}

/** Feeds `metrics` from each pass; remembers waiting pods to time their wait. */
export class PassMetrics {
  readonly #metrics: Metrics;
  readonly #config: () => Config | undefined;
  /** Waiting pods: key -> since (epoch ms). */
  #waiting = new Map<string, number>();
  /** Node name -> its NodePool, as of the last pass. */
  #poolOfNode = new Map<string, string | undefined>();
  /** The pool names the zero series were declared for. */
  #declared: string | undefined;

  readonly #vmAddresses: (provider: string) => readonly string[];

  constructor(
    metrics: Metrics,
    config: () => Config | undefined,
    vmAddresses: (provider: string) => readonly string[] = () => [],
  ) {
    this.#metrics = metrics;
    this.#config = config;
    this.#vmAddresses = vmAddresses;
  }

  /**
   * A pod seen by the informer: one that was waiting and is bound now is timed at once (the
   * next pass may be a batch window later, after a scrape that should already show it).
   */
  podEvent(p: Snapshot["pods"][number]): void {
    const key = podKey(p);
    const since = this.#waiting.get(key);
    if (since === undefined || p.nodeName === undefined) return;
    this.#waiting.delete(key);
    this.#metrics.observePodPending(
      Math.max(0, Date.now() - since),
      this.#poolOfNode.get(p.nodeName),
    );
  }

  /** Records one pass; `acted` says whether its actions were carried out. */
  pass(plan: ReconcilePlan, acted: boolean, snap: Snapshot | undefined): void {
    const m = this.#metrics;
    const pools = (this.#config()?.nodePools ?? []).map((p) => p.name).join(",");
    if (pools !== this.#declared) {
      m.declareSeries(pools === "" ? [] : pools.split(","));
      this.#declared = pools;
    }
    if (snap) {
      this.#pods(snap);
      this.#nodes(snap);
      this.#pools(snap);
    } else {
      m.setPendingPods(plan.provisioning.claims.reduce((a, c) => a + c.pods.length, 0));
    }
    const findings = new Map<string, { nodepool: string; reason: string; count: number }>();
    // Every finding kind appears, at 0 when there is none, so a dashboard shows the drop.
    const zero = (nodepool: string, reason: string) =>
      findings.set(`${nodepool}/${reason}`, { nodepool, reason, count: 0 });
    for (const p of this.#config()?.nodePools ?? []) zero(p.name, "Drifted");
    for (const reason of ["OrphanVM", "OrphanNode", "OrphanVMKept", "ClaimAdopted"]) {
      zero("", reason);
    }
    for (const a of plan.actions) {
      if (
        a.kind === "GarbageCollectVM" || a.kind === "RemoveNode" || a.kind === "MarkDrifted" ||
        a.kind === "KeepOrphanVM" || a.kind === "AdoptClaim"
      ) {
        const pool = a.kind === "MarkDrifted"
          ? snap?.nodeClaims.find((c) => c.name === a.claim)?.nodePool ?? ""
          : "";
        const key = `${pool}/${a.reason.code}`;
        const f = findings.get(key) ?? { nodepool: pool, reason: a.reason.code, count: 0 };
        f.count++;
        findings.set(key, f);
      }
    }
    m.setDriftFindings([...findings.values()]);
    const config = this.#config();
    if (config) {
      const paused = new Set(
        plan.actions.flatMap((a) => a.kind === "RepairPaused" ? [a.nodePool] : []),
      );
      if (config.tenants?.length) {
        m.setTenantQuotaBlocked(
          quotaBlockedByTenant(config, plan.provisioning, snap?.namespaceLabels),
        );
      }
      m.setRepairPaused(
        config.nodePools.map((p) => ({ nodepool: p.name, paused: paused.has(p.name) })),
      );
      if (snap) {
        this.#hosts(snap, config);
        this.#metrics.setIpPoolAddresses(
          ipPoolStatuses(config, snap.nodeClaims, this.#vmAddresses).flatMap((u) =>
            (["held", "foreign", "free"] as const).map((state) => ({
              provider: u.provider,
              pool: u.pool,
              state,
              count: u[state],
            }))
          ),
        );
      }
    }
    if (!acted) return;
    for (const a of plan.actions) {
      if (a.kind === "LaunchClaim" && a.isNew) m.claimLaunched(a.claim.nodePool, a.reason.code);
      if (a.kind === "Disrupt") {
        m.disruptionDecision(a.command.method, a.reason.code);
        for (const c of a.command.candidates) m.claimDisrupted(c.nodePool, a.reason.code);
      }
    }
  }

  #pods(snap: Snapshot): void {
    const poolOfNode = new Map(snap.nodes.map((n) => [n.name, n.labels[NODEPOOL_LABEL_KEY]]));
    this.#poolOfNode = poolOfNode;
    const now = snap.now;
    const waiting = new Map<string, number>();
    for (const p of snap.pods) {
      const key = podKey(p);
      if (isWaiting(p)) {
        waiting.set(key, this.#waiting.get(key) ?? p.pendingSince ?? now);
      } else if (p.nodeName !== undefined && this.#waiting.has(key)) {
        // It waited and is bound now: how long it waited, by the pool of the node it got.
        this.#metrics.observePodPending(
          Math.max(0, now - this.#waiting.get(key)!),
          poolOfNode.get(p.nodeName),
        );
      }
    }
    this.#waiting = waiting;
    this.#metrics.setPendingPods(waiting.size);
  }

  /** Every configured host: up when its provider was read and it answered this pass. */
  #hosts(snap: Snapshot, config: Config): void {
    const online = new Set(
      snap.hosts.filter((h) => h.online).map((h) => `${h.provider}/${h.name}`),
    );
    const unreadable = new Set(snap.unavailableProviders ?? []);
    this.#metrics.setHostsUp(
      config.providers.flatMap((p) =>
        p.hosts.map((h) => ({
          provider: p.name,
          host: h.name,
          up: !unreadable.has(p.name) && online.has(`${p.name}/${h.name}`),
        }))
      ),
    );
  }

  #nodes(snap: Snapshot): void {
    const rows = new Map<string, { nodepool: string; state: string; count: number }>();
    // Every pool and state appears, at 0 when empty, so a dashboard shows the drop.
    for (const p of this.#config()?.nodePools ?? []) {
      for (const state of ["launching", "registered", "ready", "deleting"]) {
        rows.set(`${p.name}/${state}`, { nodepool: p.name, state, count: 0 });
      }
    }
    for (const c of snap.nodeClaims) {
      const state = claimState(c);
      const key = `${c.nodePool}/${state}`;
      const r = rows.get(key) ?? { nodepool: c.nodePool, state, count: 0 };
      r.count++;
      rows.set(key, r);
    }
    this.#metrics.setNodes([...rows.values()]);
  }

  #pools(snap: Snapshot): void {
    const config = this.#config();
    if (!config) return;
    const templates = new Map(config.machineTemplates.map((t) => [t.name, t]));
    for (const pool of config.nodePools) {
      const u = poolUsage(pool, snap.nodeClaims, templates);
      const overhead = snap.nodeClaims
        .filter((c) => c.nodePool === pool.name)
        .reduce((a, c) => a + (templates.get(c.machineTemplate)?.vmMemOverhead ?? 0), 0);
      this.#metrics.setPoolUsage(
        pool.name,
        { cpu: u.cpu, memory: u.memory, nodes: u.nodes },
        pool.limits,
        { memory: overhead },
      );
    }
    this.#metrics.setPoolCost(poolCosts(snap, config, templates));
  }
}

/**
 * Per pool and capacity type, what the pool's VMs cost per hour: every claim whose VM exists
 * (deleting ones too, as pool usage counts them), priced at its host class's rates.
 */
export function poolCosts(
  snap: Snapshot,
  config: Config,
  templates: ReadonlyMap<string, MachineTemplate>,
): { nodepool: string; capacity_type: string; perHour: number }[] {
  const rows = new Map<string, { nodepool: string; capacity_type: string; perHour: number }>();
  // Every pool shows a row, 0 when it has no VM, so a dashboard's line starts at 0.
  for (const pool of config.nodePools) {
    const key = `${pool.name}\u0000${DEFAULT_CAPACITY_TYPE}`;
    rows.set(key, { nodepool: pool.name, capacity_type: DEFAULT_CAPACITY_TYPE, perHour: 0 });
  }
  // Configured pools only, as for usage: a removed pool's claims are on their way out.
  const configured = new Set(config.nodePools.map((p) => p.name));
  for (const c of snap.nodeClaims) {
    if (!configured.has(c.nodePool)) continue;
    const type = c.labels[CAPACITY_TYPE_LABEL_KEY] ?? DEFAULT_CAPACITY_TYPE;
    const key = `${c.nodePool}\u0000${type}`;
    let r = rows.get(key);
    if (!r) rows.set(key, r = { nodepool: c.nodePool, capacity_type: type, perHour: 0 });
    const overhead = templates.get(c.machineTemplate)?.vmMemOverhead ?? 0;
    r.perHour += shapeCost(c.shape, overhead, claimCostModel(config, c));
  }
  return [...rows.values()];
}
