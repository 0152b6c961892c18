/**
 * NodePools as provisioning sees them: what a new node of each pool would look like (labels,
 * taints, DaemonSet overhead, the largest room it can offer), how much of its limits is used, and
 * whether a given pod could ever land on one of its nodes.
 */
import type {
  Config,
  Host,
  MachineTemplate,
  NodePool,
  Pod,
  Provider,
  Resources,
  Snapshot,
  Taint,
} from "./model.ts";
import { podRequests } from "./pod_requests.ts";
import { matchesNodeConstraints } from "./requirements.ts";
import { untoleratedTaint } from "./taints.ts";
import { HOSTNAME_KEY, ZONE_KEY } from "./topology.ts";
import { largestAllocatable } from "./shapes.ts";
import { type PoolUsage, poolUsage } from "./limits.ts";
import { type Reason, reason } from "./reason.ts";
import { isClaimReady } from "./claim_state.ts";
import { HOST_LABEL_KEY as HOST_LABEL, NODEPOOL_LABEL_KEY as NODEPOOL_LABEL } from "./labels.ts";

/** A pool during one provisioning decision; `usage`, `opened` change as claims open. */
export type PoolCtx = {
  pool: NodePool;
  template: MachineTemplate;
  provider: Provider;
  hosts: Host[];
  usage: PoolUsage;
  inFlight: number;
  opened: number;
  dsOverhead: Resources;
  dsPods: number;
  maxAlloc: Resources;
  /** Labels every node of the pool gets, before zone and hostname. */
  baseLabels: Record<string, string>;
  /** Why the pool can make no node at all (contradictory requirements), if so. */
  broken?: Reason;
  taints: Taint[];
};

/** Whether pods like one could ever get a node from a pool, and with which labels and zones. */
export type PoolFit = { ctx: PoolCtx; labels: Record<string, string>; zones: string[] } | {
  ctx: PoolCtx;
  reason: Reason;
};

/** Pools in the order provisioning tries them: weight, then name. */
export function buildPoolContexts(snap: Snapshot, config: Config): PoolCtx[] {
  const out: PoolCtx[] = [];
  const templates = new Map(config.machineTemplates.map((t) => [t.name, t]));
  const providers = new Map(config.providers.map((p) => [p.name, p]));
  const pools = [...config.nodePools].sort((a, b) =>
    b.weight - a.weight || (a.name < b.name ? -1 : 1)
  );
  for (const pool of pools) {
    const template = templates.get(pool.machineTemplate);
    const provider = template && providers.get(template.provider);
    if (!template || !provider) continue;
    const hosts = snap.hosts.filter((h) => h.provider === provider.name);
    const inFlight = snap.nodeClaims.filter((c) =>
      c.nodePool === pool.name && !c.deleting && !isClaimReady(c)
    ).length;
    const baseLabels: Record<string, string> = {
      "kubernetes.io/arch": "amd64",
      "kubernetes.io/os": "linux",
      ...template.labels,
      ...pool.labels,
      [NODEPOOL_LABEL]: pool.name,
    };
    const ctx: PoolCtx = {
      pool,
      template,
      provider,
      hosts,
      usage: poolUsage(pool, snap.nodeClaims, templates),
      inFlight,
      opened: 0,
      dsOverhead: { cpu: 0, memory: 0 },
      dsPods: 0,
      maxAlloc: largestAllocatable(template),
      baseLabels,
      taints: [...template.taints, ...pool.taints],
    };
    // Requirements with one possible value become labels; contradictions make the pool unusable.
    for (const r of pool.requirements) {
      if (r.key === ZONE_KEY || r.key === HOSTNAME_KEY || r.key === HOST_LABEL) continue;
      const have = baseLabels[r.key];
      if (have !== undefined) {
        if (!matchesNodeConstraints(baseLabels, undefined, [{ matchExpressions: [r] }])) {
          ctx.broken = reason(
            "NoCompatiblePool",
            `pool '${pool.name}' requirement ${r.key} ${r.operator} contradicts its labels`,
          );
        }
      } else if (r.operator === "In" && r.values && r.values.length > 0) {
        baseLabels[r.key] = r.values[0]!;
      }
    }
    for (const ds of snap.daemonSets ?? []) {
      if (untoleratedTaint(ctx.taints, ds.tolerations)) continue;
      if (!matchesNodeConstraints(baseLabels, ds.nodeSelector, ds.requiredNodeAffinity)) continue;
      const r = podRequests(ds);
      ctx.dsOverhead.cpu += r.cpu;
      ctx.dsOverhead.memory += r.memory;
      ctx.dsPods += 1;
    }
    out.push(ctx);
  }
  return out;
}

/** For each pool, whether a new node of it could take `pod`, and if not, why. */
export function poolFits(pools: readonly PoolCtx[], pod: Pod): PoolFit[] {
  return pools.map((ctx): PoolFit => {
    if (ctx.broken) return { ctx, reason: ctx.broken };
    const t = untoleratedTaint(ctx.taints, pod.tolerations);
    if (t) {
      return {
        ctx,
        reason: reason(
          "NoCompatiblePool",
          `pool '${ctx.pool.name}' has taint ${t.key}=${
            t.value ?? ""
          }:${t.effect} the pod does not tolerate`,
        ),
      };
    }
    const poolZone = ctx.pool.requirements.filter((r) => r.key === ZONE_KEY);
    const zones: string[] = [];
    const seen = new Set<string>();
    for (const h of ctx.hosts) {
      if (seen.has(h.zone)) continue;
      seen.add(h.zone);
      const labels = { ...ctx.baseLabels, [ZONE_KEY]: h.zone, [HOST_LABEL]: h.name };
      if (
        poolZone.length &&
        !matchesNodeConstraints(labels, undefined, [{ matchExpressions: poolZone }])
      ) continue;
      // A new node's hostname is not known yet and cannot match a pod's hostname requirement.
      if (
        matchesNodeConstraints(
          { ...labels, [HOSTNAME_KEY]: "\u0000new" },
          pod.nodeSelector,
          pod.requiredNodeAffinity,
        )
      ) {
        zones.push(h.zone);
      }
    }
    if (zones.length === 0) {
      return {
        ctx,
        reason: reason(
          "NoCompatiblePool",
          `pool '${ctx.pool.name}' makes no node matching the pod's node selector or affinity`,
        ),
      };
    }
    const poolReqsOk = ctx.pool.requirements.every((r) =>
      r.key === ZONE_KEY ||
      matchesNodeConstraints(ctx.baseLabels, undefined, [{ matchExpressions: [r] }])
    );
    if (!poolReqsOk) {
      return {
        ctx,
        reason: reason("NoCompatiblePool", `pool '${ctx.pool.name}' requirements cannot be met`),
      };
    }
    return { ctx, labels: ctx.baseLabels, zones };
  });
}
