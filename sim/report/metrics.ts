/**
 * What a run measured, as docs/simulation.md, 'Metrics' defines it: node-hours split by phase and
 * their cost (a VM is paid from the clone request until it is destroyed), pending time by
 * nearest rank, pods never scheduled, time-weighted reserved utilisation, VM creates and
 * deletes, evictions and removals by reason, and a fixed-step time series for the charts.
 * The engine feeds a Recorder; `summary()` turns it into plain numbers.
 *
 * May import: core/ (types), nothing with I/O.
 */

/** One point of the time series (values as of that instant). */
export type Sample = {
  t: number;
  nodes: number;
  readyNodes: number;
  pending: number;
  cpuUtil: number;
  memUtil: number;
  cost: number;
  /** GPU units requested / allocatable, only when the run has GPUs. */
  gpuUtil?: number;
};

/** Nearest-rank percentile (the ceil(q*n)-th smallest), 0 for an empty list. */
export function nearestRank(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1;
  return sorted[i]!;
}

type ClaimRecord = {
  created: number;
  ready?: number;
  drain?: number;
  destroyed?: number;
  pricePerHour: number;
  /** The capacity type of the claim's host, when the world has classes. */
  capacityType?: string;
};

/**
 * Cost, node-hours, evictions (all of them, and those of host reclaims) and host reclaims of
 * one capacity type.
 */
export type ClassSummary = {
  cost: number;
  nodeHours: number;
  evictions: number;
  reclaimEvictions: number;
  reclaims: number;
};

/** Numbers that describe one policy's run. Times in seconds, money in the config's unit. */
export type RunSummary = {
  nodeHours: number;
  nodeHoursProvisioning: number;
  nodeHoursReady: number;
  nodeHoursDraining: number;
  /** Idle: node-hours of Ready autoscaled nodes running no pod (waiting to be removed or used). */
  nodeHoursEmpty: number;
  cost: number;
  peakNodes: number;
  pendingSeconds: { p50: number; p90: number; p95: number; p99: number; max: number };
  /** Same, for pods that had to wait for new capacity (were marked Unschedulable). */
  pendingNewCapacitySeconds: { count: number; p50: number; p95: number; p99: number; max: number };
  podsScheduled: number;
  podsNeverScheduled: number;
  podsPendingAtEnd: number;
  pendingPodHours: number;
  /**
   * Time-weighted requested ÷ allocatable on Ready nodes; `gpu` (GPU units, replicas included)
   * only when the run has GPUs.
   */
  utilization: { cpu: number; memory: number; cpuP10: number; gpu?: number };
  vmCreates: number;
  vmDeletes: number;
  launchFailures: number;
  evictions: number;
  disruptions: number;
  nodesRemovedByReason: Record<string, number>;
  /** Churn: VMs destroyed less than 10 minutes after their clone request. */
  shortLivedNodes: number;
  decisions: number;
  events: number;
  /** Per capacity type, when the world has host classes. */
  byCapacityType?: Record<string, ClassSummary>;
  /** Proxmox host power, when the configuration manages it (a Provider with hostPower). */
  hostPower?: HostPowerSummary;
};

/**
 * Host-hours: hosts powered on (booting included) integrated over the run; saved is what all
 * hosts on for the whole run would have used minus that.
 */
export type HostPowerSummary = {
  hosts: number;
  hostHours: number;
  hostHoursSaved: number;
  powerOns: number;
  powerOffs: number;
};

const HOUR = 3_600_000;

/** Accumulates a run's measurements; the engine calls it as the world changes. */
export class Recorder {
  #last = 0;
  #nextSample = 0;
  readonly samples: Sample[] = [];
  readonly claims: ClaimRecord[] = [];
  readonly pendingMs: number[] = [];
  readonly pendingNewMs: number[] = [];
  // Instantaneous state, maintained by the engine.
  pendingPods = 0;
  boundCpu = 0;
  boundMem = 0;
  allocCpu = 0;
  allocMem = 0;
  /** GPU units (the extended resource, time-sliced replicas included) Ready nodes offer. */
  allocGpu = 0;
  /** GPU units bound pods request on Ready nodes. */
  boundGpu = 0;
  /** Report GPU utilisation (the trace asks GPUs or the config has GPU shapes). */
  trackGpu = false;
  aliveNodes = 0;
  readyNodes = 0;
  /** Ready autoscaled nodes with no pod bound. */
  emptyReady = 0;
  costRate = 0;
  // Integrals.
  #pendingPodMs = 0;
  #emptyMs = 0;
  #boundCpuMs = 0;
  #boundMemMs = 0;
  #allocCpuMs = 0;
  #allocMemMs = 0;
  #boundGpuMs = 0;
  #allocGpuMs = 0;
  #cost = 0;
  #peakNodes = 0;
  #utilSamples: number[] = [];
  vmCreates = 0;
  vmDeletes = 0;
  launchFailures = 0;
  evictions = 0;
  podsScheduled = 0;
  podsNeverScheduled = 0;
  podsPendingAtEnd = 0;
  decisions = 0;
  events = 0;
  readonly removed: Record<string, number> = {};
  /** Report cost and disruption per capacity type (the world has host classes). */
  trackClasses = false;
  /** Report host-hours (host power is managed); the hosts, how many are on, the requests. */
  trackHostPower = false;
  hostCount = 0;
  hostsOn = 0;
  powerOns = 0;
  powerOffs = 0;
  #hostOnMs = 0;
  #classes = new Map<string, ClassSummary>();

  constructor(readonly sampleEvery: number) {}

  /** Integrates the piecewise-constant state from the last call up to `t`. */
  advance(t: number): void {
    while (this.#nextSample <= t) {
      this.#integrate(this.#nextSample);
      this.samples.push({
        t: this.#nextSample,
        nodes: this.aliveNodes,
        readyNodes: this.readyNodes,
        pending: this.pendingPods,
        cpuUtil: this.allocCpu > 0 ? this.boundCpu / this.allocCpu : 0,
        memUtil: this.allocMem > 0 ? this.boundMem / this.allocMem : 0,
        cost: this.#cost,
        ...(this.trackGpu
          ? { gpuUtil: this.allocGpu > 0 ? this.boundGpu / this.allocGpu : 0 }
          : {}),
      });
      if (this.allocCpu > 0) this.#utilSamples.push(this.boundCpu / this.allocCpu);
      this.#nextSample += this.sampleEvery;
    }
    this.#integrate(t);
  }

  #integrate(t: number) {
    const dt = t - this.#last;
    if (dt <= 0) return;
    this.#pendingPodMs += this.pendingPods * dt;
    this.#emptyMs += this.emptyReady * dt;
    this.#boundCpuMs += this.boundCpu * dt;
    this.#boundMemMs += this.boundMem * dt;
    this.#allocCpuMs += this.allocCpu * dt;
    this.#allocMemMs += this.allocMem * dt;
    this.#boundGpuMs += this.boundGpu * dt;
    this.#allocGpuMs += this.allocGpu * dt;
    this.#cost += (this.costRate * dt) / HOUR;
    this.#hostOnMs += this.hostsOn * dt;
    this.#last = t;
  }

  /** A claim was created; returns its record index. */
  claimCreated(t: number, pricePerHour: number, capacityType?: string): number {
    this.vmCreates++;
    this.aliveNodes++;
    this.costRate += pricePerHour;
    this.#peakNodes = Math.max(this.#peakNodes, this.aliveNodes);
    const rec: ClaimRecord = { created: t, pricePerHour };
    if (capacityType !== undefined) rec.capacityType = capacityType;
    return this.claims.push(rec) - 1;
  }

  /** A pod was evicted from a node on a host of `capacityType`. */
  classEvicted(capacityType: string): void {
    this.#classOf(capacityType).evictions++;
  }

  /** A host of `capacityType` was reclaimed, evicting `evicted` pods. */
  classReclaimed(capacityType: string, evicted: number): void {
    const c = this.#classOf(capacityType);
    c.reclaims++;
    c.reclaimEvictions += evicted;
  }

  #classOf(capacityType: string): ClassSummary {
    let c = this.#classes.get(capacityType);
    if (!c) {
      this.#classes.set(
        capacityType,
        c = { cost: 0, nodeHours: 0, evictions: 0, reclaimEvictions: 0, reclaims: 0 },
      );
    }
    return c;
  }

  claimReady(i: number, t: number): void {
    this.claims[i]!.ready = t;
    this.readyNodes++;
  }

  claimDraining(i: number, t: number, wasReady: boolean, reasonCode: string): void {
    this.claims[i]!.drain = t;
    if (wasReady) this.readyNodes--;
    this.removed[reasonCode] = (this.removed[reasonCode] ?? 0) + 1;
  }

  claimDestroyed(i: number, t: number): void {
    const c = this.claims[i]!;
    c.destroyed = t;
    this.vmDeletes++;
    this.aliveNodes--;
    this.costRate -= c.pricePerHour;
  }

  /** A pod bound for the first time after `pendingMs`; `newCapacity` if it was Unschedulable. */
  podBound(pendingMs: number, newCapacity: boolean): void {
    this.podsScheduled++;
    this.pendingMs.push(pendingMs);
    if (newCapacity) this.pendingNewMs.push(pendingMs);
  }

  /** Closes the run at `end`: claims still alive are paid up to it. */
  summary(end: number): RunSummary {
    this.advance(end);
    let nh = 0;
    let prov = 0;
    let ready = 0;
    let drain = 0;
    let shortLived = 0;
    // Evictions and reclaims as counted; cost and node-hours from the claims, up to `end`.
    const classes = new Map<string, ClassSummary>(
      [...this.#classes].map(([k, v]) => [k, { ...v, cost: 0, nodeHours: 0 }]),
    );
    for (const c of this.claims) {
      if (c.destroyed !== undefined && c.destroyed - c.created < 600_000) shortLived++;
      const z = Math.min(c.destroyed ?? end, end);
      nh += z - c.created;
      if (this.trackClasses && c.capacityType !== undefined) {
        let k = classes.get(c.capacityType);
        if (!k) {
          classes.set(
            c.capacityType,
            k = { cost: 0, nodeHours: 0, evictions: 0, reclaimEvictions: 0, reclaims: 0 },
          );
        }
        k.nodeHours += (z - c.created) / HOUR;
        k.cost += (c.pricePerHour * (z - c.created)) / HOUR;
      }
      const a = Math.min(c.ready ?? c.drain ?? z, z);
      prov += a - c.created;
      const d = Math.min(c.drain ?? z, z);
      if (c.ready !== undefined) ready += Math.max(0, d - a);
      if (c.drain !== undefined) drain += z - d;
    }
    const s = [...this.pendingMs].sort((a, b) => a - b).map((x) => x / 1000);
    const sn = [...this.pendingNewMs].sort((a, b) => a - b).map((x) => x / 1000);
    const u = [...this.#utilSamples].sort((a, b) => a - b);
    const disruptions = this.evictions;
    return {
      nodeHours: nh / HOUR,
      nodeHoursProvisioning: prov / HOUR,
      nodeHoursReady: ready / HOUR,
      nodeHoursDraining: drain / HOUR,
      nodeHoursEmpty: this.#emptyMs / HOUR,
      cost: this.#cost,
      peakNodes: this.#peakNodes,
      pendingSeconds: {
        p50: nearestRank(s, 0.5),
        p90: nearestRank(s, 0.9),
        p95: nearestRank(s, 0.95),
        p99: nearestRank(s, 0.99),
        max: s.length ? s[s.length - 1]! : 0,
      },
      pendingNewCapacitySeconds: {
        count: sn.length,
        p50: nearestRank(sn, 0.5),
        p95: nearestRank(sn, 0.95),
        p99: nearestRank(sn, 0.99),
        max: sn.length ? sn[sn.length - 1]! : 0,
      },
      podsScheduled: this.podsScheduled,
      podsNeverScheduled: this.podsNeverScheduled,
      podsPendingAtEnd: this.podsPendingAtEnd,
      pendingPodHours: this.#pendingPodMs / HOUR,
      utilization: {
        cpu: this.#allocCpuMs > 0 ? this.#boundCpuMs / this.#allocCpuMs : 0,
        memory: this.#allocMemMs > 0 ? this.#boundMemMs / this.#allocMemMs : 0,
        cpuP10: nearestRank(u, 0.1),
        ...(this.trackGpu
          ? { gpu: this.#allocGpuMs > 0 ? this.#boundGpuMs / this.#allocGpuMs : 0 }
          : {}),
      },
      vmCreates: this.vmCreates,
      vmDeletes: this.vmDeletes,
      launchFailures: this.launchFailures,
      evictions: this.evictions,
      disruptions,
      nodesRemovedByReason: Object.fromEntries(
        Object.entries(this.removed).sort(([a], [b]) => (a < b ? -1 : 1)),
      ),
      shortLivedNodes: shortLived,
      decisions: this.decisions,
      events: this.events,
      ...(this.trackClasses
        ? {
          byCapacityType: Object.fromEntries(
            [...classes].sort(([a], [b]) => (a < b ? -1 : 1)),
          ),
        }
        : {}),
      ...(this.trackHostPower
        ? {
          hostPower: {
            hosts: this.hostCount,
            hostHours: this.#hostOnMs / HOUR,
            hostHoursSaved: (this.hostCount * end - this.#hostOnMs) / HOUR,
            powerOns: this.powerOns,
            powerOffs: this.powerOffs,
          },
        }
        : {}),
    };
  }
}
