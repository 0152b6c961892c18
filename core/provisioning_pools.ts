/**
 * NodePools as provisioning sees them: what a new node of each pool would look like (labels,
 * taints, DaemonSet overhead, the largest room it can offer), how much of its limits is used, and
 * whether a given pod could ever land on one of its nodes. Pool requirements, template labels
 * and a pod's node selector and required affinity are intersected per key
 * (core/requirement_sets.ts): the new node gets one value inside the intersection, its host and
 * zone come from the hosts those requirements allow, and its instance type from the shapes they
 * allow.
 */
import { mostOffered } from "./gpus.ts";
import { templateHostsAmong } from "./template_locality.ts";
import type {
  Config,
  Host,
  HostPort,
  MachineTemplate,
  NodePool,
  NodeSelectorTerm,
  Pod,
  Provider,
  Requirement,
  Resources,
  Snapshot,
  Taint,
} from "./model.ts";
import { addExtended, missingExtended, podExtendedRequests, podRequests } from "./pod_requests.ts";
import { matchesAll, matchesNodeConstraints } from "./requirements.ts";
import {
  cheapestShapeWithin,
  pickValue,
  requirementsOn,
  type TypeConstraint,
  withoutKey,
} from "./requirement_sets.ts";
import { untoleratedTaint } from "./taints.ts";
import { poolRefusesNamespace, type TenancyView } from "./tenancy.ts";
import { HOSTNAME_KEY, ZONE_KEY } from "./topology.ts";
import { largestAllocatable } from "./shapes.ts";
import { type PoolUsage, poolUsage } from "./limits.ts";
import { type Reason, reason } from "./reason.ts";
import { isClaimReady } from "./claim_state.ts";
import { CAPACITY_TYPE_LABEL_KEY, HOST_LABEL_KEY, NODEPOOL_LABEL_KEY } from "./labels.ts";
import { DEFAULT_CAPACITY_TYPE } from "./cost.ts";

/** The well-known label naming a node's size (a shape name). */
export const INSTANCE_TYPE_KEY = "node.kubernetes.io/instance-type";
/** Keys decided by where the VM goes (host, zone) or what it is named, not by label sets. */
const PLACEMENT_KEYS = new Set([ZONE_KEY, HOSTNAME_KEY, HOST_LABEL_KEY, CAPACITY_TYPE_LABEL_KEY]);

/** The labels a host gives a node on it: zone, host, and capacity type when it has one. */
export function hostLabels(h: { name: string; zone: string; capacityType?: string }) {
  const l: Record<string, string> = { [ZONE_KEY]: h.zone, [HOST_LABEL_KEY]: h.name };
  if (h.capacityType !== undefined) l[CAPACITY_TYPE_LABEL_KEY] = h.capacityType;
  return l;
}

/** Hosts of one zone and capacity type answer a label question alike (when no key names hosts). */
export function hostGroup(h: { zone: string; capacityType?: string }): string {
  return h.capacityType === undefined ? h.zone : `${h.zone}\u0000${h.capacityType}`;
}

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
  /** Extended resources the pool's DaemonSets take on every new node. */
  dsExtended: Record<string, number>;
  dsPorts: HostPort[];
  dsPods: number;
  /** The DaemonSets (as the pod each runs) that run on every node of the pool. */
  daemonSets: Pod[];
  maxAlloc: Resources;
  /** Labels every node of the pool gets, before zone and hostname. */
  baseLabels: Record<string, string>;
  /** Pool requirements on keys no template or pool label fixes: narrowed per pod. */
  openReqs: Map<string, Requirement[]>;
  /** Pool requirements on zone and host: they choose the hosts. */
  placeReqs: Requirement[];
  /** Pool requirements on the instance type: they choose the shapes. */
  typeReqs: Requirement[];
  /** Why the pool can make no node at all (contradictory requirements), if so. */
  broken?: Reason;
  taints: Taint[];
  /** The configuration's tenants, for a pool with tenancy: which pods it may take. */
  tenants?: TenancyView;
};

/**
 * Whether pods like one could ever get a node from a pool: the labels a node for them would
 * carry, the zones and hosts it may go to, and the instance-type requirements its shape meets.
 */
export type PoolFit = {
  ctx: PoolCtx;
  labels: Record<string, string>;
  zones: string[];
  hosts: Host[];
  types: TypeConstraint;
} | {
  ctx: PoolCtx;
  reason: Reason;
};

/**
 * Why a pool's own requirements (with its template's labels) can never be met, or undefined.
 * `validate` reports it at configuration time; provisioning skips such a pool.
 */
export function poolRequirementProblem(
  pool: NodePool,
  template: MachineTemplate,
  hosts: readonly { name: string; zone: string; capacityType?: string }[],
): string | undefined {
  const labels: Record<string, string> = {
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/os": "linux",
    ...template.labels,
    ...pool.labels,
    [NODEPOOL_LABEL_KEY]: pool.name,
  };
  const byKey = new Map<string, Requirement[]>();
  for (const r of pool.requirements) {
    const list = byKey.get(r.key);
    if (list) list.push(r);
    else byKey.set(r.key, [r]);
  }
  for (const [key, reqs] of byKey) {
    if (key === HOSTNAME_KEY) continue;
    if (key === ZONE_KEY || key === HOST_LABEL_KEY || key === CAPACITY_TYPE_LABEL_KEY) {
      if (hosts.length === 0) continue;
      const any = hosts.some((h) =>
        matchesAll(
          { ...hostLabels(h), [CAPACITY_TYPE_LABEL_KEY]: h.capacityType ?? DEFAULT_CAPACITY_TYPE },
          reqs,
        )
      );
      if (!any) return `no configured host satisfies the requirements on ${key}`;
      continue;
    }
    if (key === INSTANCE_TYPE_KEY) {
      const shape = cheapestShapeWithin(
        template,
        { cpu: 0, memory: 0 },
        { perVcpuHour: 1, perGiBHour: 1 },
        reqs,
        key,
        "any",
      );
      if (!shape) return `no shape of MachineTemplate '${template.name}' satisfies ${key}`;
      continue;
    }
    if (labels[key] !== undefined) {
      if (!matchesAll(labels, reqs)) {
        return `requirement on ${key} contradicts the label ${key}=${labels[key]}`;
      }
      continue;
    }
    if (pickValue(key, reqs, pool.name) === null) {
      return `the requirements on ${key} allow no value`;
    }
  }
  return undefined;
}

/**
 * The labels a new node of the pool gets for pods with this node selector and one required
 * affinity term, or why none can: every open key gets a value inside the pool's and the pod's
 * requirements on it.
 */
export function labelsFor(
  ctx: PoolCtx,
  nodeSelector: Readonly<Record<string, string>> | undefined,
  term: NodeSelectorTerm | undefined,
): Record<string, string> | string {
  const labels = { ...ctx.baseLabels };
  for (const [key, reqs] of ctx.openReqs) {
    const v = pickValue(key, [...reqs, ...requirementsOn(key, nodeSelector, term)], ctx.pool.name);
    if (v === null) return `the pool's requirements on ${key} and the pod's allow no common value`;
    if (v !== "absent") labels[key] = v;
  }
  return labels;
}

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
    // Only hosts that can clone the template (a template on local storage serves its own host).
    const servable = new Set(
      templateHostsAmong(
        template,
        snap.hosts.filter((h) => h.provider === provider.name).map((h) => h.name),
        snap.templateHosts?.[template.name],
      ),
    );
    // A requirement on the capacity type keeps to hosts of the classes it allows.
    const classReqs = pool.requirements.filter((r) => r.key === CAPACITY_TYPE_LABEL_KEY);
    const hosts = snap.hosts.filter((h) =>
      h.provider === provider.name && servable.has(h.name) &&
      (classReqs.length === 0 ||
        matchesAll(
          { [CAPACITY_TYPE_LABEL_KEY]: h.capacityType ?? DEFAULT_CAPACITY_TYPE },
          classReqs,
        ))
    );
    const inFlight = snap.nodeClaims.filter((c) =>
      c.nodePool === pool.name && !c.deleting && !isClaimReady(c)
    ).length;
    const baseLabels: Record<string, string> = {
      "kubernetes.io/arch": "amd64",
      "kubernetes.io/os": "linux",
      ...template.labels,
      ...pool.labels,
      [NODEPOOL_LABEL_KEY]: pool.name,
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
      dsExtended: {},
      dsPorts: [],
      dsPods: 0,
      daemonSets: [],
      maxAlloc: largestAllocatable(template),
      baseLabels,
      openReqs: new Map(),
      placeReqs: [],
      typeReqs: [],
      taints: [...template.taints, ...pool.taints],
    };
    if (pool.tenancy) {
      ctx.tenants = { tenants: config.tenants ?? [], namespaceLabels: snap.namespaceLabels };
    }
    for (const r of pool.requirements) {
      if (r.key === HOSTNAME_KEY) continue;
      if (PLACEMENT_KEYS.has(r.key)) ctx.placeReqs.push(r);
      else if (r.key === INSTANCE_TYPE_KEY) ctx.typeReqs.push(r);
      else if (baseLabels[r.key] === undefined) {
        const list = ctx.openReqs.get(r.key);
        if (list) list.push(r);
        else ctx.openReqs.set(r.key, [r]);
      }
    }
    const problem = poolRequirementProblem(pool, template, []);
    if (problem) ctx.broken = reason("NoCompatiblePool", `pool '${pool.name}': ${problem}`);
    if (pool.paused) ctx.broken ??= reason("Paused", `NodePool '${pool.name}' is paused`);
    for (const ds of snap.daemonSets ?? []) {
      if (untoleratedTaint(ctx.taints, ds.tolerations)) continue;
      if (!daemonSetRunsOn(ctx, ds)) continue;
      const r = podRequests(ds);
      ctx.dsOverhead.cpu += r.cpu;
      ctx.dsOverhead.memory += r.memory;
      addExtended(ctx.dsExtended, podExtendedRequests(ds));
      ctx.dsPorts.push(...(ds.hostPorts ?? []));
      ctx.dsPods += 1;
      ctx.daemonSets.push(ds);
    }
    out.push(ctx);
  }
  return out;
}

/** Would a DaemonSet's pod run on a new node of the pool (selector and required affinity)? */
function daemonSetRunsOn(ctx: PoolCtx, ds: Pod): boolean {
  const terms: (NodeSelectorTerm | undefined)[] = ds.requiredNodeAffinity?.length
    ? ds.requiredNodeAffinity
    : [undefined];
  for (const t of terms) {
    const labels = labelsFor(ctx, ds.nodeSelector, t);
    if (typeof labels === "string") continue;
    let sel = withoutKey(ds.nodeSelector, t ? [t] : undefined, INSTANCE_TYPE_KEY);
    for (const k of PLACEMENT_KEYS) sel = withoutKey(sel.nodeSelector, sel.terms, k);
    if (matchesNodeConstraints(labels, sel.nodeSelector, sel.terms)) return true;
  }
  return false;
}

/** For each pool, whether a new node of it could take `pod`, and if not, why. */
export function poolFits(pools: readonly PoolCtx[], pod: Pod): PoolFit[] {
  const ext = podExtendedRequests(pod);
  return pools.map((ctx): PoolFit => {
    if (ctx.broken) return { ctx, reason: ctx.broken };
    if (ctx.tenants) {
      const refused = poolRefusesNamespace(ctx.pool, ctx.tenants, pod.namespace);
      if (refused) return { ctx, reason: refused };
    }
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
    const offered = addExtended({ ...mostOffered(ctx.template) }, ctx.dsExtended, -1);
    const missing = missingExtended(offered, ext);
    if (missing !== undefined) {
      return {
        ctx,
        reason: reason(
          "ResourceNotOffered",
          `pool '${ctx.pool.name}': MachineTemplate '${ctx.template.name}' offers ${
            offered[missing] ?? 0
          } ${missing} to pods; the pod asks ${ext[missing]}`,
        ),
      };
    }
    if (ctx.hosts.length === 0 && ctx.template.source.kind === "image") {
      return {
        ctx,
        reason: reason(
          "TemplateNotReady",
          `pool '${ctx.pool.name}': MachineTemplate '${ctx.template.name}' has no finished ` +
            `template VM built from its image on any host yet`,
        ),
      };
    }
    const terms: (NodeSelectorTerm | undefined)[] = pod.requiredNodeAffinity?.length
      ? pod.requiredNodeAffinity
      : [undefined];
    let why = `pool '${ctx.pool.name}' makes no node matching the pod's node selector or affinity`;
    for (const term of terms) {
      const labels = labelsFor(ctx, pod.nodeSelector, term);
      if (typeof labels === "string") {
        why = `pool '${ctx.pool.name}': ${labels}`;
        continue;
      }
      const types = [...ctx.typeReqs, ...requirementsOn(INSTANCE_TYPE_KEY, pod.nodeSelector, term)];
      if (
        types.length > ctx.typeReqs.length &&
        !cheapestShapeWithin(
          ctx.template,
          { cpu: 0, memory: 0 },
          {
            perVcpuHour: 1,
            perGiBHour: 1,
          },
          types,
          INSTANCE_TYPE_KEY,
          "any",
        )
      ) {
        why = `pool '${ctx.pool.name}': no shape of MachineTemplate '${ctx.template.name}' ` +
          `has the instance type the pod asks for`;
        continue;
      }
      const sel = withoutKey(pod.nodeSelector, term ? [term] : undefined, INSTANCE_TYPE_KEY);
      // Unless a requirement names hosts, every host of a zone gives the same answer.
      const byHost = ctx.placeReqs.some((r) => r.key === HOST_LABEL_KEY) ||
        sel.nodeSelector?.[HOST_LABEL_KEY] !== undefined ||
        (sel.terms ?? []).some((t) =>
          (t.matchExpressions ?? []).some((e) => e.key === HOST_LABEL_KEY)
        );
      const zoneOk = new Map<string, boolean>();
      const zones: string[] = [];
      const hosts: Host[] = [];
      for (const h of ctx.hosts) {
        let ok = byHost ? undefined : zoneOk.get(hostGroup(h));
        if (ok === undefined) {
          // A new node's hostname is not known yet and cannot match a pod's hostname requirement.
          const hl = { ...labels, ...hostLabels(h), [HOSTNAME_KEY]: "\u0000new" };
          ok = (ctx.placeReqs.length === 0 || matchesAll(hl, ctx.placeReqs)) &&
            matchesNodeConstraints(hl, sel.nodeSelector, sel.terms);
          if (!byHost) zoneOk.set(hostGroup(h), ok);
        }
        if (!ok) continue;
        hosts.push(h);
        if (!zones.includes(h.zone)) zones.push(h.zone);
      }
      if (hosts.length > 0) return { ctx, labels, zones, hosts, types };
    }
    return { ctx, reason: reason("NoCompatiblePool", why) };
  });
}
