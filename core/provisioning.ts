/**
 * Pending pods -> new NodeClaims. First-fit decreasing, as kube-scheduler and Karpenter would
 * see it: pods go onto existing free capacity first, then onto NodeClaims still launching, then
 * onto claims opened in this decision, and only then does a new claim open, from the first
 * compatible NodePool in weight order, sized to the cheapest shape that holds its pods, on a
 * Proxmox host chosen by core/placement.ts, within pool limits (VM overhead counted), batchSize
 * and maxConcurrent. Every claim and every pod left without one carries a Reason.
 */
import type {
  Config,
  CostModel,
  Host,
  MachineTemplate,
  NodeClaim,
  Pod,
  Resources,
  Shape,
  ShapeGpus,
  Snapshot,
  Taint,
} from "./model.ts";
import { deviceKey, gpuUnitsFromShape, offeredExtended, takeDevices } from "./gpus.ts";
import { podKey } from "./model.ts";
import {
  addExtended,
  hostPortKeys,
  missingExtended,
  NO_EXTENDED,
  podExtendedRequests,
  podRequests,
  podRequestsOf,
} from "./pod_requests.ts";
import { cheapestShapeWithin, requirementsOn } from "./requirement_sets.ts";
import type { NodeSelectorTerm, PodAffinityTerm, Requirement } from "./model.ts";
import { matchesAll, matchesNodeConstraints, matchesTerm } from "./requirements.ts";
import {
  HOSTNAME_KEY,
  type PlacedPod,
  topologyAllows,
  TopologyIndex,
  ZONE_KEY,
} from "./topology.ts";
import { exceedsLimits, footprint } from "./limits.ts";
import { chooseHost, noHostReason } from "./placement.ts";
import { kubeletKeeps } from "./shapes.ts";
import { RoomIndex } from "./provisioning_room_index.ts";
import { atLeast, type HostsFull, hostsFullFor, shapesOnlyGrow } from "./provisioning_monotone.ts";
import {
  antiAffinitySelects,
  JoinedReasons,
  labelPairs,
  selectorPairs,
  spreadsOverKnownDomains,
} from "./provisioning_reuse.ts";
import { type Reason, reason } from "./reason.ts";
import { humanBytes, humanCpu } from "./quantity.ts";
import { shortHash } from "./hash.ts";
import { type Bin, binTakes, existingBins, makeBin, type Used } from "./provisioning_bins.ts";
import { eligibility } from "./pod_eligibility.ts";
import {
  buildPoolContexts,
  hostGroup,
  hostLabels,
  INSTANCE_TYPE_KEY,
  labelsFor,
  type PoolCtx,
  type PoolFit,
  poolFits,
} from "./provisioning_pools.ts";
import {
  onlyKey,
  type Pref,
  preferEmptiestZones,
  topPodPreference,
  topPreference,
  zoneTerms,
} from "./provisioning_prefs.ts";
import { HOST_LABEL_KEY } from "./labels.ts";
import { classCost } from "./cost.ts";
import { enforceTenantQuotas } from "./tenant_quota.ts";

/** A VM to launch and the pods it is for. */
export type PlannedClaim = {
  name: string;
  nodePool: string;
  machineTemplate: string;
  provider: string;
  shape: Shape;
  host: string;
  zone: string;
  /** namespace/name of the pods this claim is opened for, in placement order. */
  pods: string[];
  /** Requests of those pods plus DaemonSet overhead. */
  requested: Resources;
  labels: Record<string, string>;
  taints: Taint[];
  startupTaints: Taint[];
  reason: Reason;
};

/** A pending pod that needs no new VM: it fits an existing node or a launching claim. */
export type Placement = { pod: string; target: string; kind: "node" | "claim"; reason: Reason };

export type ProvisionPlan = {
  claims: PlannedClaim[];
  placements: Placement[];
  /** Pods considered and left without capacity, or ignored, each with why. */
  unhelped: { pod: string; reason: Reason }[];
};

/** A hostname no node or claim has: stands for a new claim's name where the name cannot matter. */
const FRESH_NAME = "\u0000new";

const portKeys = hostPortKeys;

const hasAny = (o: Readonly<Record<string, number>>) => {
  for (const _ in o) return true;
  return false;
};

const NONE = NO_EXTENDED;
/** Preference passes of #place: with the soft preferences then without, or only without. */
const WITH_THEN_WITHOUT: readonly boolean[] = [true, false];
const WITHOUT: readonly boolean[] = [false];
const TOPOLOGY_OK = { ok: true } as const;
// Empty parts of a class key. Not frozen: JSON.stringify takes a slower path on frozen objects.
const EMPTY_OBJECT: Readonly<Record<string, never>> = {};
const EMPTY_ARRAY: readonly never[] = [];

type PodInfo = {
  pod: Pod;
  key: string;
  req: Resources;
  ext: Readonly<Record<string, number>>;
  ports: readonly string[];
  cls: PodClass;
  /** Why its last attempt failed. */
  failed?: Reason | undefined;
  /** `Provisioner.changes` when it last failed. */
  failedAt?: number;
  /** Claim names this pod would open, per pool index (reused while still unused). */
  names?: (string | undefined)[] | undefined;
};

/** What a refusal owes to pool limits: a limit refused (or shapes may shrink), or these passed. */
type LimitTrack = { withLimits: boolean; passed: { ctx: PoolCtx; fp: Resources }[] };

type PodClass = {
  rep: Pod;
  /** Candidate nodes and launching claims, in first-fit order, indexed by room. */
  old: RoomIndex;
  /** Candidate claims opened in this decision, in first-fit order, indexed by room. */
  fresh: RoomIndex;
  scanned: number;
  minCpu: number;
  minMem: number;
  pools?: PoolFit[];
  zoneUniverse?: Set<string>;
  /** The class's node constraints name an instance type. */
  typed: boolean;
  /** Instance-type requirements every node of the class must meet (selector or single term). */
  typeReqs: Requirement[];
  /**
   * Zones a new node of each pool fit may go to, as of `placed` (the class's topology count,
   * see #topologySeen).
   */
  zones?: Map<PoolFit, { placed: number; zones: string[]; key: string; hosts: Host[] }>;
  /** First label pair of each of the class's pod selectors; null if one is not plain. */
  selectorPairs?: string[] | null;
  /** Refusals to open a claim, by the shapes asked, as of a state version (see #open). */
  refusals?: Map<
    string | number,
    {
      version: number;
      reason: Reason;
      withLimits: boolean;
      growths: number;
      passed: LimitTrack["passed"];
    }
  >;
  /** Verdicts per bin shared with like classes (see #eligibleFor); null: its own. */
  eligible?: boolean[] | null;
  /** The heaviest preferred node affinity term; null until worked out. */
  pref: Pref | undefined | null;
  /** The class's labels as `key=value` pairs, in label order. */
  labelPairs?: string[];
  /** Pods of this class placed so far, if it has anti-affinity (see #antiSeen). */
  antiPlaced?: number;
  /** Classes with anti-affinity whose terms select this class's pods, of the first `antiScanned`. */
  antiRelevant?: PodClass[];
  antiScanned?: number;
  /** A DoNotSchedule spread over a key other than hostname and zone. */
  spreadsOverDomains?: boolean;
};

/** Decides which NodeClaims to open for the snapshot's pending pods. Pure and deterministic. */
export function provision(snapshot: Snapshot, config: Config): ProvisionPlan {
  // Nothing to place and every pool at its minimum: the plan is empty whatever the nodes (most
  // passes of a steady cluster), and no provisioner's indexes need building.
  if (nothingToProvision(snapshot, config)) return { claims: [], placements: [], unhelped: [] };
  const plan = new Provisioner(snapshot, config).run();
  return config.tenants?.length ? enforceTenantQuotas(plan, config, snapshot.nodeClaims) : plan;
}

class Provisioner {
  readonly plan: ProvisionPlan = { claims: [], placements: [], unhelped: [] };
  readonly bins: Bin[] = [];
  readonly pools: PoolCtx[] = [];
  readonly classes = new Map<string, PodClass>();
  readonly planned = new Map<string, Resources>();
  /** Passthrough devices planned onto each host in this decision (host, then device key). */
  readonly plannedDevices = new Map<string, Map<string, number>>();
  readonly zoneCounts = new Map<string, Map<string, number>>();
  readonly usedNames = new Set<string>();
  /** Footprints no host of a pool fit can take (per class and pool), while shapes only grow. */
  readonly hostsFull = new Map<PoolFit, HostsFull>();
  /** Shapes only grow, so "no room" is final (core/provisioning_monotone.ts). */
  monotone = false;
  /** Pods placed and claims opened so far: a pod's answer can change only when this does. */
  changes = 0;
  /** Pods placed in this decision so far: topology answers change only when it does. */
  placedCount = 0;
  /** Claims opened in this decision that grew to a larger shape (counted per growth). */
  growths = 0;
  /** Classes with anti-affinity that had a pod placed (they can forbid domains to others). */
  readonly antiClasses: PodClass[] = [];
  /** Pods placed so far per label pair `key=value` they carry. */
  readonly placedByPair = new Map<string, number>();
  /** Hostname label values of the snapshot's nodes and launching claims. */
  readonly hostnames = new Set<string>();
  topo!: TopologyIndex;

  constructor(readonly snap: Snapshot, readonly config: Config) {}

  run(): ProvisionPlan {
    const { snap } = this;
    this.monotone = shapesOnlyGrow(this.config);
    const nodesByName = new Map(snap.nodes.map((n) => [n.name, n]));
    for (const n of snap.nodes) this.usedNames.add(n.name);
    for (const c of snap.nodeClaims) this.usedNames.add(c.name);

    // Capacity already used on each node by pods bound to it.
    const usedOn = new Map<string, Used>();
    const placed: PlacedPod[] = [];
    // Pending pods, column by column (their records are made once, in first-fit order).
    const pending = newPending(snap.pods.length);
    // Indexed loops over the pods: an iterator may cost an object per step before the code is
    // optimised, and these run once per call over every pod.
    const allPods = snap.pods;
    for (let at = 0; at < allPods.length; at++) {
      const pod = allPods[at]!;
      if (pod.phase === "Succeeded" || pod.phase === "Failed") continue;
      if (pod.nodeName) {
        const u = usedOn.get(pod.nodeName) ?? { cpu: 0, memory: 0, pods: 0 };
        const r = podRequestsOf(pod);
        u.cpu += r.cpu;
        u.memory += r.memory;
        u.pods += 1;
        const e = podExtendedRequests(pod);
        if (hasAny(e)) addExtended(u.ext ??= {}, e);
        if (pod.hostPorts?.length) {
          for (const k of portKeys(pod.hostPorts)) (u.ports ??= []).push(k);
        }
        usedOn.set(pod.nodeName, u);
        const node = nodesByName.get(pod.nodeName);
        if (node && !pod.deleting) {
          placed.push({
            namespace: pod.namespace,
            labels: pod.labels,
            nodeLabels: node.labels,
            antiAffinity: pod.requiredPodAntiAffinity,
          });
        }
        continue;
      }
      const why = eligibility(pod);
      if (why) {
        this.plan.unhelped.push({ pod: podKey(pod), reason: why });
        continue;
      }
      // Classes are found in snapshot order, which reads the pods in the order they sit in
      // memory (the first-fit order jumps around); which pod stands for a class does not matter,
      // as every field the class key covers is the same for all of its pods.
      const req = podRequests(pod);
      const ext = podExtendedRequests(pod);
      const ports = portKeys(pod.hostPorts);
      const i = pending.pods.length;
      pending.pods.push(pod);
      pending.keys.push(podKey(pod));
      pending.reqs.push(req);
      pending.cpu[i] = req.cpu;
      pending.memory[i] = req.memory;
      pending.ext.push(ext);
      pending.ports.push(ports);
      pending.cls.push(this.#classOf(pod, ext, ports, req));
    }

    const hostZones: [string, string][] = snap.hosts.filter((h) => h.online).map((
      h,
    ) => [ZONE_KEY, h.zone]);
    this.topo = new TopologyIndex(placed, hostZones);
    this.pools.push(...buildPoolContexts(snap, this.config));
    const existing = existingBins(this.snap, this.config, this.pools, usedOn);
    this.bins.push(...existing.bins);
    for (const [pool, zone] of existing.claimZones) this.#countZone(pool, zone);
    for (const b of this.bins) this.topo.addNodeDomains(b.labels);
    for (const n of snap.nodes) {
      const h = n.labels[HOSTNAME_KEY];
      if (h !== undefined) this.hostnames.add(h);
    }
    for (const b of this.bins) {
      const h = b.labels[HOSTNAME_KEY];
      if (h !== undefined) this.hostnames.add(h);
    }

    // First-fit decreasing: CPU, then memory, then age, then uid, so the order never depends on input order.
    let queue = firstFitOrder(pending);

    // A pod that fails may fit once others have moved spread minimums: retry while progress is made.
    for (let pass = 0; pass < 3 && queue.length > 0; pass++) {
      const next: PodInfo[] = [];
      for (let at = 0; at < queue.length; at++) {
        const p = queue[at]!;
        // Nothing was placed or opened since this pod last failed: the same state gives the
        // same answer, so it fails again with the same reason without being tried.
        if (p.failed !== undefined && p.failedAt === this.changes) {
          next.push(p);
          continue;
        }
        const r = this.#place(p);
        if (r) {
          p.failed = r;
          p.failedAt = this.changes;
          next.push(p);
        } else p.failed = undefined;
      }
      if (next.length === queue.length) break;
      queue = next;
    }
    for (let at = 0; at < queue.length; at++) {
      const p = queue[at]!;
      this.plan.unhelped.push({ pod: p.key, reason: p.failed! });
    }

    this.#minNodes();
    for (const c of this.plan.claims) c.reason = this.#claimReason(c);
    return this.plan;
  }

  #countZone(pool: string, zone: string) {
    let m = this.zoneCounts.get(pool);
    if (!m) this.zoneCounts.set(pool, m = new Map());
    m.set(zone, (m.get(zone) ?? 0) + 1);
  }

  /** Pods with identical constraints and labels share candidate lists and pool verdicts. */
  #classOf(
    pod: Pod,
    ext: Readonly<Record<string, number>>,
    ports: readonly string[],
    req: Resources,
  ): PodClass {
    // The JSON text of [namespace, labels, node selector, required and preferred node affinity,
    // tolerations, anti-affinity, spread, pending since, extended requests, host ports, pod
    // affinity], absent parts written as empty; extended requests and host ports only ever
    // shrink a bin's room, so a class shares them. One JSON.stringify of the whole array makes
    // one flat string (cheaper to build and to hash than a concatenation of its parts).
    const key = JSON.stringify([
      pod.namespace,
      pod.labels ?? EMPTY_OBJECT,
      pod.nodeSelector ?? EMPTY_OBJECT,
      pod.requiredNodeAffinity ?? EMPTY_ARRAY,
      pod.preferredNodeAffinity ?? EMPTY_ARRAY,
      pod.tolerations ?? EMPTY_ARRAY,
      pod.requiredPodAntiAffinity ?? EMPTY_ARRAY,
      pod.topologySpreadConstraints ?? EMPTY_ARRAY,
      pod.pendingSince ?? pod.createdAt,
      ext === NONE ? EMPTY_OBJECT : ext,
      ports.length === 0 ? EMPTY_ARRAY : ports,
      pod.requiredPodAffinity ?? EMPTY_ARRAY,
    ]);
    let c = this.classes.get(key);
    if (!c) {
      const typed = requirementsOn(INSTANCE_TYPE_KEY, pod.nodeSelector, undefined).length > 0 ||
        (pod.requiredNodeAffinity ?? []).some((t) =>
          (t.matchExpressions ?? []).some((e) => e.key === INSTANCE_TYPE_KEY)
        );
      const terms = pod.requiredNodeAffinity ?? [];
      const typeReqs = requirementsOn(
        INSTANCE_TYPE_KEY,
        pod.nodeSelector,
        terms.length === 1 ? terms[0] : undefined,
      );
      c = {
        rep: pod,
        old: new RoomIndex(),
        fresh: new RoomIndex(),
        scanned: 0,
        minCpu: req.cpu,
        minMem: req.memory,
        typed,
        typeReqs,
        pref: null,
      };
      this.classes.set(key, c);
    }
    c.minCpu = Math.min(c.minCpu, req.cpu);
    c.minMem = Math.min(c.minMem, req.memory);
    return c;
  }

  #refresh(c: PodClass) {
    const pod = c.rep;
    const bins = this.bins;
    if (c.scanned >= bins.length) return;
    // Classes with the same taint tolerations and node constraints share the verdicts.
    const shared = c.eligible === undefined ? c.eligible = this.#eligibleFor(c) : c.eligible;
    if (shared) {
      for (let i = shared.length; i < bins.length; i++) shared.push(binTakes(bins[i]!, pod));
    }
    for (; c.scanned < bins.length; c.scanned++) {
      const b = bins[c.scanned]!;
      if (shared ? !shared[c.scanned] : !binTakes(b, pod)) continue;
      // An upper bound of the room is enough (the scan works out the room of what it finds): for
      // a claim opened now, what its largest shape leaves.
      if (b.kind === "new") {
        const max = b.ctx!.maxAlloc;
        c.fresh.push(c.scanned, max.cpu - b.used!.cpu, max.memory - b.used!.memory);
      } else c.old.push(c.scanned, b.free.cpu, b.free.memory);
    }
  }

  /**
   * The bin verdicts a class shares with every class of the same tolerations and node
   * constraints, or null when they name the instance type (a claim's instance type label changes
   * as it grows, so the verdict depends on when it is asked).
   */
  #eligibleFor(c: PodClass): boolean[] | null {
    if (c.typed) return null;
    const pod = c.rep;
    const key = JSON.stringify([
      pod.tolerations ?? EMPTY_ARRAY,
      pod.nodeSelector ?? EMPTY_OBJECT,
      pod.requiredNodeAffinity ?? EMPTY_ARRAY,
      // With tenants, a bin's verdict also depends on the pod's namespace (its tenant).
      ...(this.config.tenants?.length ? [pod.namespace] : EMPTY_ARRAY),
    ]);
    let list = this.#eligible.get(key);
    if (!list) this.#eligible.set(key, list = []);
    return list;
  }
  readonly #eligible = new Map<string, boolean[]>();

  /** Places one pod; returns undefined on success or the reason it could not be placed. */
  #place(p: PodInfo): Reason | undefined {
    const c = p.cls;
    this.#refresh(c);
    // The node preference is the class's (preferred node affinity is part of the class key).
    const pref = c.pref === null ? c.pref = topPreference(c.rep) : c.pref;
    const podPref = topPodPreference(p.pod);
    const soft = pref !== undefined || podPref !== undefined;
    // Existing and launching capacity first (with the preferences, then without), so that a
    // soft preference never launches a VM the scheduler would not use.
    for (const usePref of soft ? WITH_THEN_WITHOUT : WITHOUT) {
      const hit = this.#scan(p, usePref ? pref : undefined, false, usePref ? podPref : undefined);
      if (hit !== undefined) return undefined;
    }
    let firstFail: Reason | undefined;
    for (const usePref of soft ? WITH_THEN_WITHOUT : WITHOUT) {
      const hit = this.#scan(p, usePref ? pref : undefined, true, usePref ? podPref : undefined);
      if (hit !== undefined) return undefined;
      // A new node has no pods yet: only the node preference can shape it.
      if (usePref && pref === undefined) continue;
      const opened = this.#open(p, usePref ? pref : undefined);
      if (opened.ok) return undefined;
      firstFail ??= opened.reason;
    }
    return firstFail;
  }

  /** Scans the class's candidate bins of one kind; places the pod into the first that fits. */
  #scan(
    p: PodInfo,
    pref: Pref | undefined,
    newBins: boolean,
    podPref?: PodAffinityTerm,
  ): number | undefined {
    const c = p.cls;
    const ix = newBins ? c.fresh : c.old;
    const { cpu, memory } = p.req;
    // Candidates whose room is known to be too small are never looked at: they could only say no.
    for (let pos = ix.first(0, cpu, memory); pos >= 0; pos = ix.first(pos + 1, cpu, memory)) {
      const idx = ix.bins[pos]!;
      const b = this.bins[idx]!;
      const room = this.#roomOf(b);
      ix.shrink(pos, room.cpu, room.memory);
      if (room.cpu < cpu || room.memory < memory) continue;
      const fit = this.#fits(p, b, pref, podPref);
      if (fit === "dead") {
        ix.drop(pos);
        continue;
      }
      if (fit === "no") continue;
      this.#commit(p, b);
      return idx;
    }
    return undefined;
  }

  /**
   * An upper bound of the room a bin has for pods, which only shrinks: its free capacity, or
   * for a claim opened now what its largest shape leaves; while shapes only grow, the largest
   * shape its host still has room to grow it to (its current shape at least).
   */
  #roomOf(b: Bin): Readonly<Resources> {
    if (b.kind !== "new") return b.free;
    const ctx = b.ctx!;
    const used = b.used!;
    const room = this.#room;
    if (!this.monotone) {
      room.cpu = ctx.maxAlloc.cpu - used.cpu;
      room.memory = ctx.maxAlloc.memory - used.memory;
      return room;
    }
    // The same arithmetic as hostLimit, footprint and allocatable, without their objects.
    const t = ctx.template;
    const h = b.host!;
    const limitCpu = Math.floor(Math.max(0, h.capacity.cpu - h.reserved.cpu) * h.cpuOvercommit);
    const limitMemory = Math.floor(
      Math.max(0, h.capacity.memory - h.reserved.memory) * h.memoryOvercommit,
    );
    const planned = this.planned.get(h.name);
    const shape = b.shape!;
    const cpu = limitCpu - h.committed.cpu - (planned === undefined ? 0 : planned.cpu) + shape.cpu;
    const memory = limitMemory - h.committed.memory - (planned === undefined ? 0 : planned.memory) +
      (shape.memory + t.vmMemOverhead);
    let best = shape;
    for (const s of t.shapes) {
      if (
        s.cpu <= cpu && s.memory + t.vmMemOverhead <= memory && s.cpu >= best.cpu &&
        s.memory >= best.memory
      ) best = s;
    }
    const kept = kubeletKeeps(t);
    room.cpu = best.cpu - kept.cpu - used.cpu;
    room.memory = best.memory - kept.memory - used.memory;
    return room;
  }
  /** The room #roomOf gives for a claim opened now: read before asking again. */
  readonly #room: Resources = { cpu: 0, memory: 0 };

  /** "yes", "no" (not now), or "dead" (never again for this pod class). */
  #fits(
    p: PodInfo,
    b: Bin,
    pref: Pref | undefined,
    podPref?: PodAffinityTerm,
  ): "yes" | "no" | "dead" {
    const { req, cls } = p;
    if (b.kind === "new") {
      const ctx = b.ctx!;
      const roomCpu = ctx.maxAlloc.cpu - b.used!.cpu;
      const roomMemory = ctx.maxAlloc.memory - b.used!.memory;
      if (
        roomCpu < cls.minCpu || roomMemory < cls.minMem || b.podCount! >= ctx.template.maxPods
      ) return "dead";
      if (roomCpu < req.cpu || roomMemory < req.memory) return "no";
    } else {
      if (b.free.cpu < cls.minCpu || b.free.memory < cls.minMem || b.freePods < 1) return "dead";
      if (b.free.cpu < req.cpu || b.free.memory < req.memory) return "no";
    }
    // Host ports and extended resources are the same for the whole class and a bin's only shrink.
    if (p.ports.length && b.ports && p.ports.some((k) => b.ports!.has(k))) return "dead";
    if (p.ext !== NONE && missingExtended(b.ext, p.ext) !== undefined) return "dead";
    if (pref && !matchesTerm(b.labels, pref, b.name)) return "no";
    if (podPref && this.topo.affinityBlocks(cls.rep, b.labels, [podPref])) return "no";
    const topo = this.#topologyOk(p, b.labels);
    if (!topo.ok) return topo.permanent ? "dead" : "no";
    if (b.kind === "new") {
      const grown = this.#grow(b, p);
      if (!grown) return this.monotone && this.#cannotGrowForClass(b, cls) ? "dead" : "no";
      // The scan commits the pod right away, with nothing changed in between.
      this.#grown = { bin: b, pod: p, growth: grown };
    }
    return "yes";
  }

  /**
   * Could a new node's host label change whether `pod` may go there? Only if its node
   * preference, one of its own affinity, anti-affinity or spread terms, or a placed pod's
   * anti-affinity names that key.
   */
  #hostKeyMatters(pod: Pod, pref: NodeSelectorTerm | undefined): boolean {
    const key = HOST_LABEL_KEY;
    if (pref?.matchExpressions?.some((e) => e.key === key)) return true;
    if (pod.requiredPodAffinity?.some((t) => t.topologyKey === key)) return true;
    if (pod.requiredPodAntiAffinity?.some((t) => t.topologyKey === key)) return true;
    if (pod.topologySpreadConstraints?.some((t) => t.topologyKey === key)) return true;
    return this.topo.antiAffinityKeys().has(key);
  }

  #topologyOk(
    p: PodInfo,
    labels: Record<string, string>,
  ): { ok: true } | { ok: false; permanent: boolean; why: string } {
    // The class's representative: its namespace, labels, affinity, anti-affinity and spread are
    // every pod's of the class, and the topology index keeps its answers per term object.
    const pod = p.cls.rep;
    if (pod.requiredPodAffinity?.length) {
      const why = this.topo.affinityBlocks(pod, labels);
      if (why) return { ok: false, permanent: false, why };
    }
    if (
      !pod.requiredPodAntiAffinity?.length && !pod.topologySpreadConstraints?.length &&
      !this.topo.hasAntiAffinity
    ) {
      return TOPOLOGY_OK;
    }
    return topologyAllows(this.topo, pod, labels, this.#zoneUniverse(p.cls));
  }

  /** Zones this pod class could have a node in: known zones its node constraints allow. */
  #zoneUniverse(c: PodClass): Set<string> {
    if (c.zoneUniverse) return c.zoneUniverse;
    const out = new Set<string>();
    for (const z of this.topo.domains(ZONE_KEY)) {
      if (
        matchesNodeConstraints(
          { [ZONE_KEY]: z },
          onlyKey(c.rep.nodeSelector, ZONE_KEY),
          zoneTerms(c.rep),
        )
      ) out.add(z);
    }
    return c.zoneUniverse = out;
  }

  /** The shape and footprint a new bin would have with `req` added, if limits and host allow it. */
  readonly #need: Resources = { cpu: 0, memory: 0 };

  /** The growth #fits just found for a pod on a claim opened now, for #commit to apply. */
  #grown: { bin: Bin; pod: PodInfo; growth: { shape: Shape; delta: Resources } } | undefined;

  #grow(b: Bin, p: PodInfo): { shape: Shape; delta: Resources } | undefined {
    const g = this.#growth(b, p.req, p.cls, p.pod);
    return typeof g === "string" ? undefined : g;
  }

  /**
   * Whether a new bin can never again take a pod of this class: it cannot grow for the class's
   * smallest requests (no shape, pool limit or host room). Only asked while shapes only grow,
   * when none of these ever comes back (core/provisioning_monotone.ts).
   */
  #cannotGrowForClass(b: Bin, c: PodClass): boolean {
    const g = this.#growth(b, { cpu: c.minCpu, memory: c.minMem }, c, undefined);
    return g === "noShape" || g === "limit" || g === "host";
  }

  /** The growth of a new bin for `req`, or which check refused it. */
  #growth(
    b: Bin,
    req: Resources,
    cls: PodClass,
    pod: Pod | undefined,
  ): { shape: Shape; delta: Resources } | "noShape" | "types" | "limit" | "host" {
    const ctx = b.ctx!;
    const need = { cpu: b.used!.cpu + req.cpu, memory: b.used!.memory + req.memory };
    const types = cls.typeReqs.length ? [...b.types!, ...cls.typeReqs] : b.types!;
    const shape = cheapestShapeWithin(
      ctx.template,
      need,
      this.config.settings.cost,
      types,
      INSTANCE_TYPE_KEY,
      // A claim keeps the GPUs it opened with: its devices and advertised count stay as planned.
      { same: b.shape!.gpus },
    );
    if (!shape) return "noShape";
    const pods = cls.typed ? (pod ? [...b.typePods!, pod] : undefined) : b.typePods!;
    if (pods === undefined) return "types";
    if (shape.name !== b.shape!.name && pods.length > 0) {
      // A claim never grows past the instance type one of its pods (or the new one) asked for.
      const labels = { ...b.labels, [INSTANCE_TYPE_KEY]: shape.name };
      for (const q of pods) {
        if (!matchesNodeConstraints(labels, q.nodeSelector, q.requiredNodeAffinity, b.name)) {
          return "types";
        }
      }
    }
    // The footprints' difference (footprint() of each shape, subtracted).
    const overhead = ctx.template.vmMemOverhead;
    const cur = b.shape!;
    const delta = {
      cpu: shape.cpu - cur.cpu,
      memory: (shape.memory + overhead) - (cur.memory + overhead),
    };
    if (delta.cpu > 0 || delta.memory > 0) {
      if (exceedsLimits(ctx.pool, ctx.usage, delta, 0, overhead)) return "limit";
      // What chooseHost would say of this one host for the growth: online, and room for it
      // beside what is committed and planned (NaN counts as no room).
      const h = b.host!;
      const planned = this.planned.get(h.name);
      const limitCpu = Math.floor(Math.max(0, h.capacity.cpu - h.reserved.cpu) * h.cpuOvercommit);
      const limitMemory = Math.floor(
        Math.max(0, h.capacity.memory - h.reserved.memory) * h.memoryOvercommit,
      );
      const freeCpu = limitCpu - h.committed.cpu - (planned === undefined ? 0 : planned.cpu);
      const freeMemory = limitMemory - h.committed.memory -
        (planned === undefined ? 0 : planned.memory);
      if (
        !h.online ||
        !(freeCpu >= Math.max(0, delta.cpu) && freeMemory >= Math.max(0, delta.memory))
      ) return "host";
    }
    return { shape, delta };
  }

  #commit(p: PodInfo, b: Bin) {
    this.changes++;
    if (p.ext !== NONE) addExtended(b.ext ??= {}, p.ext, -1);
    if (p.ports.length) { for (const k of p.ports) (b.ports ??= new Set()).add(k); }
    if (b.kind === "new") {
      const kept = this.#grown;
      this.#grown = undefined;
      const g = kept && kept.bin === b && kept.pod === p ? kept.growth : this.#grow(b, p)!;
      this.#applyGrowth(b, g.shape, g.delta);
      // The bin's own object, only read where it is looked up: updated in place.
      const used = b.used!;
      used.cpu = used.cpu + p.req.cpu;
      used.memory = used.memory + p.req.memory;
      b.podCount! += 1;
      b.claim!.pods.push(p.key);
      this.#claimPods.get(b.claim!)!.push(p);
      if (p.cls.typeReqs.length) b.types = [...b.types!, ...p.cls.typeReqs];
      if (p.cls.typed) b.typePods!.push(p.pod);
    } else {
      b.free = { cpu: b.free.cpu - p.req.cpu, memory: b.free.memory - p.req.memory };
      b.freePods -= 1;
      this.plan.placements.push({
        pod: p.key,
        target: b.name,
        kind: b.kind === "node" ? "node" : "claim",
        reason: b.kind === "node"
          ? reason("FitsExistingCapacity", `fits on node ${b.name}, which has free capacity`)
          : reason("FitsInFlightClaim", `fits on NodeClaim ${b.name}, which is still launching`),
      });
    }
    const rep = p.cls.rep;
    const pairs = p.cls.labelPairs ??= labelPairs(rep);
    this.topo.place(rep, b.labels, pairs);
    this.placedCount++;
    if (rep.requiredPodAntiAffinity?.length) {
      if (p.cls.antiPlaced === undefined) {
        p.cls.antiPlaced = 0;
        this.antiClasses.push(p.cls);
      }
      p.cls.antiPlaced++;
    }
    for (const pair of pairs) this.placedByPair.set(pair, (this.placedByPair.get(pair) ?? 0) + 1);
  }

  #applyGrowth(b: Bin, shape: Shape, delta: Resources) {
    const ctx = b.ctx!;
    this.growths++;
    ctx.usage.cpu += delta.cpu;
    ctx.usage.memory += delta.memory;
    // Planned loads are only read where they are looked up: updated in place.
    const planned = this.planned.get(b.host!.name);
    if (planned === undefined) {
      this.planned.set(b.host!.name, { cpu: 0 + delta.cpu, memory: 0 + delta.memory });
    } else {
      planned.cpu = planned.cpu + delta.cpu;
      planned.memory = planned.memory + delta.memory;
    }
    b.shape = shape;
    b.claim!.shape = shape;
    b.claim!.labels[INSTANCE_TYPE_KEY] = shape.name;
  }

  /** Which pools could ever take this class, with the labels and zones a node for it would have. */
  /** Opens a new claim for the pod from the first pool that can take it. */
  #open(p: PodInfo, pref: Pref | undefined): { ok: true } | { ok: false; reason: Reason } {
    // A refusal depends on the pod only through the shape each pool would give it (when every
    // pool has one: "no shape" names the pod's requests) and its claim names (which cannot matter
    // without a preference unless a hostname looks like one): pods of a class asking the same
    // shapes get the same refusal until something is placed or opened.
    const key = pref === undefined && this.#namesNeverMatter() ? this.#shapesKey(p) : undefined;
    // Claims opened change pools and hosts; the class's topology count, its zones. A claim that
    // grows takes pool usage and host room: while shapes only grow, a host without room stays so,
    // and only a pool limit can newly refuse (checked again) or word its refusal anew (then the
    // refusal is kept only until the next growth).
    const base = this.#topologySeen(p.cls) + this.plan.claims.length;
    const memo = key === undefined ? undefined : (p.cls.refusals ??= new Map());
    const known = memo?.get(key!);
    if (
      known && known.version === base + (known.withLimits ? this.growths : 0) &&
      (known.growths === this.growths || this.#underLimits(known.passed))
    ) return { ok: false, reason: known.reason };
    const track: LimitTrack | undefined = memo
      ? { withLimits: !this.monotone, passed: [] }
      : undefined;
    const out = this.#openFresh(p, pref, track);
    if (memo && !out.ok) {
      memo.set(key!, {
        version: base + (track!.withLimits ? this.growths : 0),
        reason: out.reason,
        withLimits: track!.withLimits,
        growths: this.growths,
        passed: track!.passed,
      });
    }
    return out;
  }

  /**
   * A count that changes whenever a placement may change the class's topology answers: pods
   * with anti-affinity placed, and pods placed that carry the first label pair of one of the
   * class's own selectors (all placements when a selector is not plain matchLabels). Every
   * term only grows, so an equal sum means nothing relevant was placed.
   */
  #topologySeen(c: PodClass): number {
    let pairs = c.selectorPairs;
    if (pairs === undefined) pairs = c.selectorPairs = selectorPairs(c.rep);
    if (pairs === null) return this.placedCount;
    let n = this.#antiSeen(c);
    for (const pair of pairs) n += this.placedByPair.get(pair) ?? 0;
    // A spread over a key other than hostname and zone takes its minimum over every known value
    // of the key, which grows as pods land on new claims.
    c.spreadsOverDomains ??= spreadsOverKnownDomains(c.rep);
    if (c.spreadsOverDomains) n += this.topo.domainCount;
    return n;
  }

  /**
   * Placements of pods with anti-affinity that can forbid a domain to this class: those of a
   * class one of whose anti-affinity terms selects this class's pods (namespace and labels).
   * Others can never refuse it a node, so their placements leave its answers as they were.
   */
  #antiSeen(c: PodClass): number {
    const all = this.antiClasses;
    const rel = c.antiRelevant ??= [];
    for (; (c.antiScanned ??= 0) < all.length; c.antiScanned++) {
      const a = all[c.antiScanned]!;
      if (antiAffinitySelects(a.rep, c.rep)) rel.push(a);
    }
    let n = 0;
    for (const a of rel) n += a.antiPlaced!;
    return n;
  }

  /** No claim name can matter to a zone check: no hostname looks like one. */
  #namesNeverMatter(): boolean {
    return this.#namesFree ??= !this.hostnames.has(FRESH_NAME) &&
      !this.pools.some((ctx) => this.#hostnameLike(ctx.pool.name));
  }
  #namesFree: boolean | undefined;

  /** The shape each pool would give the pod, as a key; undefined if some pool has none. */
  #shapesKey(p: PodInfo): string | number | undefined {
    // As a number when every shape is a fixed one of its template (by its position among the
    // template's names) and the pools are few enough for the number to be exact: no text per pod.
    const fits = p.cls.pools ??= this.#poolFits(p.cls.rep);
    const base = this.#shapeBase ??=
      Math.max(0, ...this.config.machineTemplates.map((t) => t.shapes.length)) + 2;
    if (base ** fits.length <= Number.MAX_SAFE_INTEGER) {
      let n = 0;
      let numeric = true;
      for (const fit of fits) {
        let v = 0;
        if (!("reason" in fit)) {
          const ctx = fit.ctx;
          const shape = this.#freshShape(p, fit);
          if (!shape || ctx.dsPods + 1 > ctx.template.maxPods) return undefined;
          const id = this.#shapeIds(ctx.template).get(shape.name);
          if (id === undefined) {
            numeric = false;
            break;
          }
          v = id + 1;
        }
        n = n * base + v;
      }
      if (numeric) return n;
    }
    return this.#shapesText(p);
  }
  #shapeBase: number | undefined;

  /** Positions of a template's fixed shapes by name (the first of a repeated name). */
  #shapeIds(t: MachineTemplate): Map<string, number> {
    let ids = this.#shapeIdsOf.get(t);
    if (!ids) {
      ids = new Map();
      for (let i = 0; i < t.shapes.length; i++) {
        if (!ids.has(t.shapes[i]!.name)) ids.set(t.shapes[i]!.name, i);
      }
      this.#shapeIdsOf.set(t, ids);
    }
    return ids;
  }
  readonly #shapeIdsOf = new Map<MachineTemplate, Map<string, number>>();

  /** The shapes key as text: each pool's shape name, or `-` for a pool that refuses the class. */
  #shapesText(p: PodInfo): string | undefined {
    let key = "";
    for (const fit of (p.cls.pools ??= this.#poolFits(p.cls.rep))) {
      if ("reason" in fit) {
        key += "-|";
        continue;
      }
      const ctx = fit.ctx;
      const shape = this.#freshShape(p, fit);
      if (!shape || ctx.dsPods + 1 > ctx.template.maxPods) return undefined;
      key += `${shape.name}|`;
    }
    return key;
  }

  /** The cheapest shape of `fit`'s pool that holds `p` beside the pool's DaemonSets. */
  #freshShape(p: PodInfo, fit: Exclude<PoolFit, { reason: Reason }>): Shape | undefined {
    const ctx = fit.ctx;
    // Read at once by cheapestShapeWithin, never kept: one object for every call.
    const need = this.#need;
    need.cpu = ctx.dsOverhead.cpu + p.req.cpu;
    need.memory = ctx.dsOverhead.memory + p.req.memory;
    return cheapestShapeWithin(
      ctx.template,
      need,
      this.config.settings.cost,
      fit.types,
      INSTANCE_TYPE_KEY,
      p.ext === NONE ? 0 : gpuUnitsFromShape(ctx.template, p.ext),
    );
  }

  /** Do the footprints that passed their pools' limits still pass them? */
  #underLimits(passed: LimitTrack["passed"]): boolean {
    for (const { ctx, fp } of passed) {
      if (exceedsLimits(ctx.pool, ctx.usage, fp, 1, ctx.template.vmMemOverhead)) return false;
    }
    return true;
  }

  #openFresh(
    p: PodInfo,
    pref: Pref | undefined,
    track?: LimitTrack,
  ): { ok: true } | { ok: false; reason: Reason } {
    const pod = p.pod;
    const now = this.snap.now;
    const fails: Reason[] = [];
    const fail = (r: Reason) => {
      fails.push(r);
    };
    for (const fit of (p.cls.pools ??= this.#poolFits(p.cls.rep))) {
      if ("reason" in fit) {
        fail(fit.reason);
        continue;
      }
      const { ctx } = fit;
      const pool = ctx.pool;
      const since = pod.pendingSince ?? pod.createdAt;
      if (now - since < pool.scaleUp.stabilizationWindow) {
        fail(
          reason(
            "StabilizationWindow",
            `pod pending for ${Math.round((now - since) / 1000)}s; pool '${pool.name}' waits ${
              pool.scaleUp.stabilizationWindow / 1000
            }s before scaling up`,
          ),
        );
        continue;
      }
      if (ctx.opened >= pool.scaleUp.batchSize) {
        fail(
          reason(
            "BatchSizeReached",
            `pool '${pool.name}' already opens ${ctx.opened} NodeClaims in this decision (batchSize ${pool.scaleUp.batchSize}); the pod waits for the next one`,
          ),
        );
        continue;
      }
      if (ctx.inFlight + ctx.opened >= pool.scaleUp.maxConcurrent) {
        fail(
          reason(
            "MaxConcurrentReached",
            `pool '${pool.name}' has ${
              ctx.inFlight + ctx.opened
            } launches in flight (maxConcurrent ${pool.scaleUp.maxConcurrent})`,
          ),
        );
        continue;
      }
      const shape = this.#freshShape(p, fit);
      if (!shape || ctx.dsPods + 1 > ctx.template.maxPods) {
        fail(
          reason(
            "NoShapeFits",
            `pod needs ${humanCpu(p.req.cpu)} and ${
              humanBytes(p.req.memory)
            }; the largest VM of pool '${pool.name}' offers ${
              humanCpu(Math.max(0, ctx.maxAlloc.cpu - ctx.dsOverhead.cpu))
            } and ${humanBytes(Math.max(0, ctx.maxAlloc.memory - ctx.dsOverhead.memory))} to pods`,
          ),
        );
        continue;
      }
      const fp = footprint(shape, ctx.template);
      const limit = exceedsLimits(
        pool,
        ctx.usage,
        fp,
        1,
        ctx.template.vmMemOverhead,
        shape.gpus?.count ?? 0,
      );
      if (limit) {
        if (track) track.withLimits = true;
        fail(limit);
        continue;
      }
      track?.passed.push({ ctx, fp });
      const names = p.names ??= [];
      const at = this.pools.indexOf(ctx);
      // Names are only ever added to the used set: a name still unused is still the first free
      // one. The name is only made when it is needed.
      const nameOf = () => {
        let name = names[at];
        if (name === undefined || this.usedNames.has(name)) {
          name = names[at] = this.#newName(pool.name, pod.uid);
        }
        return name;
      };
      // The hosts only change when a pod is placed somewhere. Without a node preference, and
      // unless some node's hostname label happens to be this name, the fresh name changes
      // nothing (no pod is on it): pods of the class share the answer until the next placement.
      const cache = pref === undefined && !this.hostnames.has(FRESH_NAME) &&
          (!this.#hostnameLike(pool.name) || !this.hostnames.has(nameOf()))
        ? p.cls.zones ??= new Map()
        : undefined;
      const cached = cache?.get(fit);
      let zones: string[];
      let zoneKey: string;
      let hosts: typeof fit.hosts;
      const seen = this.#topologySeen(p.cls);
      if (cached && cached.placed === seen) {
        zones = cached.zones;
        zoneKey = cached.key;
        hosts = cached.hosts;
      } else {
        // Where the name cannot matter, any name no pod is on answers the same.
        const name = cache ? FRESH_NAME : nameOf();
        // Hosts where a new node would keep the pod's affinity, anti-affinity and spread, judged
        // on every label the node will carry (its host too: a spread or anti-affinity may key on
        // it); spread prefers the emptiest zones.
        const constrained = pref !== undefined || pod.requiredPodAffinity?.length ||
          pod.requiredPodAntiAffinity?.length || pod.topologySpreadConstraints?.length ||
          this.topo.hasAntiAffinity;
        // When nothing keys on the host label, hosts of one zone get the same answer: it is
        // asked once per zone (the labels differ only by the host).
        const byHost = constrained && this.#hostKeyMatters(p.cls.rep, pref);
        const perZone = new Map<string, boolean>();
        hosts = !constrained ? fit.hosts : fit.hosts.filter((h) => {
          if (!byHost) {
            const known = perZone.get(hostGroup(h));
            if (known !== undefined) return known;
          }
          const labels = { ...fit.labels, ...hostLabels(h), [HOSTNAME_KEY]: name };
          const ok = (!pref || matchesTerm(labels, pref)) && this.#topologyOk(p, labels).ok;
          if (!byHost) perZone.set(hostGroup(h), ok);
          return ok;
        });
        zones = fit.zones.filter((z) => hosts.some((h) => h.zone === z));
        zones = preferEmptiestZones(this.topo, p.cls.rep, zones);
        // The key names the hosts too when some were left out, so the no-host verdicts below are
        // only reused for the same candidates.
        zoneKey = zones.join("\u0000") +
          (hosts.length === fit.hosts.length ? "" : `\u0001${hosts.map((h) => h.name).join(",")}`);
        cache?.set(fit, { placed: seen, zones, key: zoneKey, hosts });
      }
      if (zones.length === 0) {
        fail(
          reason(
            "PodUnschedulableAnywhere",
            `pool '${pool.name}': no zone keeps the pod's anti-affinity or topology spread`,
          ),
        );
        continue;
      }
      // No host took a footprint this small for these zones: hosts only fill up, so a bigger one
      // fails the same way, counted without asking every host again.
      const known = this.monotone ? this.hostsFull.get(fit) : undefined;
      if (known && known.zones === zoneKey && atLeast(fp, known)) {
        let byMemory = known.reasons.get(fp.cpu);
        if (!byMemory) known.reasons.set(fp.cpu, byMemory = new Map());
        let said = byMemory.get(fp.memory);
        if (!said) {
          said = noHostReason(
            fp,
            known.full,
            known.offline,
            known.wrongZone,
            0,
            undefined,
            known.maintenance,
          );
          byMemory.set(fp.memory, said);
          this.joined.keep(said);
        }
        fail(said);
        continue;
      }
      const host = chooseHost({
        hosts,
        footprint: fp,
        strategy: ctx.provider.placement,
        planned: this.planned,
        zones: new Set(zones),
        zoneCounts: this.zoneCounts.get(pool.name) ?? new Map(),
        gpus: shape.gpus,
        plannedDevices: this.plannedDevices,
        hostCost: this.#hostCost(ctx),
      });
      if (!host.ok) {
        if (this.monotone && (!known || known.zones !== zoneKey || atLeast(known, fp))) {
          this.hostsFull.set(fit, hostsFullFor(hosts, zones, zoneKey, fp));
        }
        fail(host.error);
        continue;
      }
      const h = host.value;
      const name = nameOf();
      // Opened for this pod; once every pod is placed, the reason counts all the claim holds.
      const opened = reason(
        "PodsPending",
        `pending pod ${p.key} fits no existing node: ${shape.name} on host ${h.name}`,
      );
      const claim = this.#recordClaim(ctx, h, name, shape, fit.labels, opened);
      claim.requested = { cpu: 0, memory: 0 };
      const bin = makeBin("new", name, claim.labels, ctx.taints, { cpu: 0, memory: 0 }, 0);
      bin.ctx = ctx;
      bin.host = h;
      bin.used = { ...ctx.dsOverhead };
      bin.shape = shape;
      bin.podCount = ctx.dsPods;
      bin.claim = claim;
      bin.ext = addExtended({ ...offeredExtended(ctx.template, shape) }, ctx.dsExtended, -1);
      bin.types = [...fit.types];
      bin.typePods = [];
      if (ctx.dsPorts.length) bin.ports = new Set(portKeys(ctx.dsPorts));
      this.bins.push(bin);
      this.#refresh(p.cls);
      this.#commit(p, bin);
      return { ok: true };
    }
    if (fails.length === 0) {
      return { ok: false, reason: reason("NoCompatiblePool", "no NodePool is configured") };
    }
    // The first pool's verdict names the code; the message says why each pool declined.
    const first = fails[0]!;
    if (fails.length === 1) return { ok: false, reason: first };
    // Verdicts kept between pods (pool fits, no-host reasons) join into the same words each time.
    return { ok: false, reason: this.joined.join(fails) };
  }

  /** A class's pool verdicts; the refusals are kept (the same object for every pod). */
  #poolFits(pod: Pod): PoolFit[] {
    const fits = poolFits(this.pools, pod);
    for (const f of fits) if ("reason" in f) this.joined.keep(f.reason);
    return fits;
  }

  readonly joined = new JoinedReasons();

  /** Does some known hostname look like a claim name of this pool (`<pool>-...`)? */
  #hostnameLike(pool: string): boolean {
    let like = this.#likeByPool.get(pool);
    if (like === undefined) {
      like = false;
      for (const h of this.hostnames) if (h.startsWith(`${pool}-`)) like = true;
      this.#likeByPool.set(pool, like);
    }
    return like;
  }
  readonly #likeByPool = new Map<string, boolean>();

  /** A deterministic, unused claim name derived from the pod that opened it. */
  #newName(pool: string, seed: string): string {
    let name = `${pool}-${shortHash(seed)}`;
    for (let i = 2; this.usedNames.has(name); i++) name = `${pool}-${shortHash(seed + "/" + i)}`;
    return name;
  }

  /** Keeps every pool at minNodes, with the cheapest shape and no pods. */
  #minNodes() {
    for (const ctx of this.pools) {
      const pool = ctx.pool;
      if (pool.paused) continue;
      const live = this.snap.nodeClaims.filter((c) =>
        c.nodePool === pool.name && !c.deleting
      ).length + ctx.opened;
      for (let i = live; i < pool.minNodes; i++) {
        if (
          ctx.opened >= pool.scaleUp.batchSize ||
          ctx.inFlight + ctx.opened >= pool.scaleUp.maxConcurrent
        ) break;
        // The pool's cheapest shape, GPUs or not: a GPU pool's minimum is GPU nodes.
        const shape = cheapestShapeWithin(
          ctx.template,
          ctx.dsOverhead,
          this.config.settings.cost,
          ctx.typeReqs,
          INSTANCE_TYPE_KEY,
          "any",
        );
        const labels = labelsFor(ctx, undefined, undefined);
        if (!shape || typeof labels === "string") break;
        const fp = footprint(shape, ctx.template);
        const gpus = shape.gpus?.count ?? 0;
        if (exceedsLimits(pool, ctx.usage, fp, 1, ctx.template.vmMemOverhead, gpus)) break;
        const host = chooseHost({
          hosts: ctx.hosts.filter((h) => matchesAll(hostLabels(h), ctx.placeReqs)),
          footprint: fp,
          strategy: ctx.provider.placement,
          planned: this.planned,
          zoneCounts: this.zoneCounts.get(pool.name) ?? new Map(),
          gpus: shape.gpus,
          plannedDevices: this.plannedDevices,
          hostCost: this.#hostCost(ctx),
        });
        if (!host.ok) break;
        const name = this.#newName(pool.name, `minNodes/${i}`);
        this.#recordClaim(
          ctx,
          host.value,
          name,
          shape,
          labels,
          reason(
            "MinNodes",
            `pool '${pool.name}' keeps at least ${pool.minNodes} nodes (has ${i})`,
          ),
        );
      }
    }
  }

  /** The price of each host's capacity type, when the pool's provider has classes. */
  #hostCost(ctx: PoolCtx): ((h: Host) => CostModel) | undefined {
    const provider = ctx.provider;
    if (!provider.capacityTypes) return undefined;
    const base = this.config.settings.cost;
    return (h) => classCost(provider, h.capacityType, base);
  }

  /** Books a GPU claim's devices on its host and its GPUs against the pool's limit. */
  #planDevices(ctx: PoolCtx, h: Host, ask: ShapeGpus) {
    ctx.usage.gpus = (ctx.usage.gpus ?? 0) + ask.count;
    let byKey = this.plannedDevices.get(h.name);
    if (!byKey) this.plannedDevices.set(h.name, byKey = new Map());
    const d = takeDevices(h.devices, ask, byKey);
    // chooseHost only returns a host where takeDevices finds the devices.
    if (d) byKey.set(deviceKey(d, ask), (byKey.get(deviceKey(d, ask)) ?? 0) + ask.count);
  }

  /**
   * Books a new claim: its name, the pool's usage and the host's planned room (full footprint,
   * VM overhead included), the pool's zone count, and the plan's list.
   */
  #recordClaim(
    ctx: PoolCtx,
    h: Host,
    name: string,
    shape: Shape,
    baseLabels: Record<string, string>,
    why: Reason,
  ): PlannedClaim {
    const fp = footprint(shape, ctx.template);
    this.changes++;
    this.usedNames.add(name);
    ctx.opened += 1;
    ctx.usage.nodes += 1;
    ctx.usage.cpu += fp.cpu;
    ctx.usage.memory += fp.memory;
    const planned = this.planned.get(h.name) ?? { cpu: 0, memory: 0 };
    this.planned.set(h.name, { cpu: planned.cpu + fp.cpu, memory: planned.memory + fp.memory });
    if (shape.gpus) this.#planDevices(ctx, h, shape.gpus);
    this.#countZone(ctx.pool.name, h.zone);
    const claim: PlannedClaim = {
      name,
      nodePool: ctx.pool.name,
      machineTemplate: ctx.template.name,
      provider: ctx.provider.name,
      shape,
      host: h.name,
      zone: h.zone,
      pods: [],
      requested: { ...ctx.dsOverhead },
      labels: {
        ...baseLabels,
        ...hostLabels(h),
        [HOSTNAME_KEY]: name,
        [INSTANCE_TYPE_KEY]: shape.name,
      },
      taints: ctx.taints,
      startupTaints: [...ctx.template.startupTaints, ...ctx.pool.startupTaints],
      reason: why,
    };
    this.plan.claims.push(claim);
    this.#claimPods.set(claim, []);
    return claim;
  }

  #claimReason(c: PlannedClaim): Reason {
    if (c.pods.length === 0) return c.reason;
    const ctx = this.pools.find((p) => p.pool.name === c.nodePool)!;
    let cpu = ctx.dsOverhead.cpu;
    let memory = ctx.dsOverhead.memory;
    // The pods committed to the claim, in its order: their requests were worked out once already.
    for (const p of this.#claimPods.get(c)!) {
      cpu += p.req.cpu;
      memory += p.req.memory;
    }
    c.requested = { cpu, memory };
    const n = c.pods.length;
    return reason(
      "PodsPending",
      `${n} pending pod${n === 1 ? "" : "s"} need${n === 1 ? "s" : ""} ${humanCpu(cpu)} and ${
        humanBytes(memory)
      }; ${c.shape.name} is the cheapest shape of '${c.machineTemplate}' that holds ${
        n === 1 ? "it" : "them"
      }, on host ${c.host} (${ctx.provider.placement})`,
    );
  }
  /** The pods committed to each claim opened in this decision, as `claim.pods` lists their keys. */
  readonly #claimPods = new Map<PlannedClaim, PodInfo[]>();
}

export type { NodeClaim };

/** Pending pods as columns, in snapshot order. */
type Pending = {
  pods: Pod[];
  /** Requests as podRequests made them (the typed arrays below are for sorting only). */
  reqs: Resources[];
  keys: string[];
  cpu: Float64Array;
  memory: Float64Array;
  ext: Readonly<Record<string, number>>[];
  ports: (readonly string[])[];
  cls: PodClass[];
};

function newPending(max: number): Pending {
  return {
    pods: [],
    reqs: [],
    keys: [],
    cpu: new Float64Array(max),
    memory: new Float64Array(max),
    ext: [],
    ports: [],
    cls: [],
  };
}

/**
 * Pending pods in first-fit-decreasing order: CPU, then memory (both largest first), then age,
 * then uid. Positions are sorted over keys in typed arrays, so the comparator touches no pod
 * object (the same order as comparing the pods themselves; a stable sort). The records are made
 * here, in that order, so that the placing loop reads them in the order they sit in memory.
 */
function firstFitOrder(pending: Pending): PodInfo[] {
  const { pods, cpu, memory } = pending;
  const n = pods.length;
  const created = new Float64Array(n);
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    created[i] = pods[i]!.createdAt;
    order[i] = i;
  }
  order.sort((a, b) => {
    const d = cpu[b]! - cpu[a]! || memory[b]! - memory[a]! || created[a]! - created[b]!;
    if (d) return d;
    const ua = pods[a]!.uid;
    const ub = pods[b]!.uid;
    return ua < ub ? -1 : ua > ub ? 1 : 0;
  });
  const out = new Array<PodInfo>(n);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const pod = pods[i]!;
    out[k] = {
      pod,
      key: pending.keys[i]!,
      // Copied from podRequests' object, not from the typed arrays: read back from a
      // Float64Array, whole numbers would come as doubles and give the records another shape.
      req: { cpu: pending.reqs[i]!.cpu, memory: pending.reqs[i]!.memory },
      ext: pending.ext[i]!,
      ports: pending.ports[i]!,
      cls: pending.cls[i]!,
      failed: undefined,
      failedAt: -1,
      names: undefined,
    };
  }
  return out;
}

/**
 * No pod waits for a node (every unfinished pod is bound) and no pool has fewer live NodeClaims
 * than its minNodes: the plan has no claim, no placement and no unhelped pod, so building the
 * bins and pool contexts can be skipped (most passes of a steady cluster).
 */
function nothingToProvision(snap: Snapshot, config: Config): boolean {
  for (const pod of snap.pods) {
    if (!pod.nodeName && pod.phase !== "Succeeded" && pod.phase !== "Failed") {
      return false;
    }
  }
  for (const pool of config.nodePools) {
    if (pool.minNodes <= 0) continue;
    let live = 0;
    for (const c of snap.nodeClaims) if (c.nodePool === pool.name && !c.deleting) live++;
    if (live < pool.minNodes) return false;
  }
  return true;
}
