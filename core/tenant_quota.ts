/**
 * Tenant quotas across all of a tenant's pools: vCPUs, host memory (VM overhead counted, as pool
 * limits count it), passthrough GPUs, VMs and cost per hour. A pool's VMs count against its
 * owner's quota, shared pools included. `enforceTenantQuotas` takes a provisioning plan and
 * drops every planned claim that would take its tenant past a quota; the pods it was for are
 * left unhelped with TenantQuotaReached, so no VM is ever launched past a quota.
 *
 * May import: ./model.ts, ./cost.ts, ./quantity.ts, ./reason.ts, ./provisioning.ts (types).
 */
import type { Config, NodeClaim, Shape, Tenant, TenantQuota } from "./model.ts";
import type { PlannedClaim, ProvisionPlan } from "./provisioning.ts";
import { claimCostModel, shapeCost } from "./cost.ts";
import { humanBytes, humanCpu } from "./quantity.ts";
import { type Reason, reason } from "./reason.ts";

/** What a tenant's VMs take, in the quota's units (cpu millicores, memory bytes). */
export type TenantUsage = {
  cpu: number;
  memory: number;
  gpus: number;
  nodes: number;
  costPerHour: number;
};

type ClaimLike = Pick<NodeClaim, "nodePool" | "machineTemplate" | "provider" | "labels"> & {
  shape: Shape;
};

/** What one claim takes of its tenant's quota. */
export function claimUsage(config: Config, c: ClaimLike): TenantUsage {
  const t = config.machineTemplates.find((x) => x.name === c.machineTemplate);
  const overhead = t?.vmMemOverhead ?? 0;
  return {
    cpu: c.shape.cpu,
    memory: c.shape.memory + overhead,
    gpus: c.shape.gpus?.count ?? 0,
    nodes: 1,
    costPerHour: shapeCost(c.shape, overhead, claimCostModel(config, c)),
  };
}

/** Pool name -> owning tenant, for the pools that have one. */
export function poolOwners(config: Config): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of config.nodePools) if (p.tenancy) out.set(p.name, p.tenancy.tenant);
  return out;
}

/** Usage of every tenant by the claims of its pools (deleting claims count: their VMs exist). */
export function tenantUsages(
  config: Config,
  claims: readonly ClaimLike[],
): Map<string, TenantUsage> {
  const owners = poolOwners(config);
  const out = new Map<string, TenantUsage>();
  for (const t of config.tenants ?? []) out.set(t.name, zero());
  for (const c of claims) {
    const owner = owners.get(c.nodePool);
    const u = owner === undefined ? undefined : out.get(owner);
    if (u) add(u, claimUsage(config, c));
  }
  return out;
}

/** Undefined when `usage + extra` stays within the tenant's quota, else the first quota broken. */
export function exceedsQuota(
  tenant: Tenant,
  usage: TenantUsage,
  extra: TenantUsage,
): Reason | undefined {
  const q: TenantQuota = tenant.quota;
  const over = (what: string, limit: string, used: string, asks: string) =>
    reason(
      "TenantQuotaReached",
      `tenant '${tenant.name}' ${what} quota ${limit} reached (in use ${used}, new VM needs ${asks})`,
    );
  if (q.cpu !== undefined && usage.cpu + extra.cpu > q.cpu) {
    return over("cpu", humanCpu(q.cpu), humanCpu(usage.cpu), humanCpu(extra.cpu));
  }
  if (q.memory !== undefined && usage.memory + extra.memory > q.memory) {
    return over(
      "memory",
      humanBytes(q.memory),
      humanBytes(usage.memory),
      humanBytes(extra.memory),
    );
  }
  if (q.gpus !== undefined && extra.gpus > 0 && usage.gpus + extra.gpus > q.gpus) {
    return over("GPU", `${q.gpus}`, `${usage.gpus}`, `${extra.gpus}`);
  }
  if (q.nodes !== undefined && usage.nodes + extra.nodes > q.nodes) {
    return over("node", `${q.nodes}`, `${usage.nodes} VMs`, "1");
  }
  if (q.costPerHour !== undefined && usage.costPerHour + extra.costPerHour > q.costPerHour + 1e-9) {
    return over(
      "cost",
      `${q.costPerHour.toFixed(4)}/h`,
      `${usage.costPerHour.toFixed(4)}/h`,
      `${extra.costPerHour.toFixed(4)}/h`,
    );
  }
  return undefined;
}

/**
 * The plan without the claims that would take a tenant past its quota (in plan order, each
 * claim counted only if kept). Their pods, and pods placed onto them, get the quota's reason.
 * A plan of a configuration without tenants is returned as is.
 */
export function enforceTenantQuotas(
  plan: ProvisionPlan,
  config: Config,
  claims: readonly NodeClaim[],
): ProvisionPlan {
  if (!config.tenants?.length) return plan;
  const owners = poolOwners(config);
  if (!plan.claims.some((c) => owners.has(c.nodePool))) return plan;
  const tenants = new Map(config.tenants.map((t) => [t.name, t]));
  const usages = tenantUsages(config, claims);
  const kept: PlannedClaim[] = [];
  const dropped = new Map<string, Reason>();
  for (const c of plan.claims) {
    const owner = owners.get(c.nodePool);
    const tenant = owner === undefined ? undefined : tenants.get(owner);
    const usage = owner === undefined ? undefined : usages.get(owner);
    if (!tenant || !usage) {
      kept.push(c);
      continue;
    }
    const extra = claimUsage(config, c);
    const over = exceedsQuota(tenant, usage, extra);
    if (over) {
      dropped.set(c.name, over);
      continue;
    }
    add(usage, extra);
    kept.push(c);
  }
  if (dropped.size === 0) return plan;
  const unhelped = [...plan.unhelped];
  for (const c of plan.claims) {
    const why = dropped.get(c.name);
    if (why) { for (const pod of c.pods) unhelped.push({ pod, reason: why }); }
  }
  const placements = plan.placements.filter((p) => {
    const why = p.kind === "claim" ? dropped.get(p.target) : undefined;
    if (why) unhelped.push({ pod: p.pod, reason: why });
    return !why;
  });
  return { claims: kept, placements, unhelped };
}

function zero(): TenantUsage {
  return { cpu: 0, memory: 0, gpus: 0, nodes: 0, costPerHour: 0 };
}

function add(u: TenantUsage, e: TenantUsage): void {
  u.cpu += e.cpu;
  u.memory += e.memory;
  u.gpus += e.gpus;
  u.nodes += e.nodes;
  u.costPerHour += e.costPerHour;
}
