/**
 * The discrete-event engine. Time jumps from event to event (pod arrival and departure, VM
 * cloned, node Ready, VM destroyed, scheduler pass, controller wake-up); equal times resolve by
 * event class then key (event_queue.ts). After something changes, the policy's single `decide`
 * is called on a Snapshot of the world (after its batch window or on its scan tick), and the
 * world applies the decision with delays drawn from the WorldSpec's distributions. One seed, one
 * trace and one config give one result, byte for byte.
 *
 * GPU VMs hold their host's passthrough devices and GPU nodes advertise extended resources
 * (sim/engine/gpu_world.ts).
 *
 * May import: core/, sim/engine/, sim/trace/format.ts, sim/report/metrics.ts.
 */
import type {
  ConditionType,
  Config,
  Host,
  MachineTemplate,
  Node,
  NodeClaim,
  Pod,
  Snapshot,
} from "../../core/model.ts";
import { footprint } from "../../core/limits.ts";
import { hostFree } from "../../core/placement.ts";
import { classCost, shapeCost } from "../../core/cost.ts";
import { sortSmall } from "../../core/small_sort.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import { Recorder, type RunSummary, type Sample } from "../report/metrics.ts";
import { EventClass, EventQueue } from "./event_queue.ts";
import { sample } from "./distribution.ts";
import { Rng } from "./rng.ts";
import type { Decision, Deletion, Launch, Policy, PowerRequest } from "./policy.ts";
import { HostPowerWorld } from "./host_power_world.ts";
import type { DepartureModel, WorldSpec } from "./world_spec.ts";
import type { SimNode, SimPod } from "./world.ts";
import { reclaimTimes, worldHasClasses } from "./world_classes.ts";
import { pickNode, schedulingOrder } from "./scheduler.ts";
import { gpuResource, offeredExtended } from "../../core/gpus.ts";
import { allocatable, hasGpuShapes } from "../../core/shapes.ts";
import {
  addInto,
  commitDevices,
  hostDevicesOf,
  overcommittedDevices,
  releaseDevices,
} from "./gpu_world.ts";

/** Everything one run needs. */
export type RunInput<S> = {
  trace: Trace;
  policy: Policy<S>;
  world: WorldSpec;
  seed: number;
  /** Virtual end of the run, ms; defaults to the trace's duration. */
  horizon?: number;
  /** Called now and then with the fraction of virtual time done. */
  onProgress?: (fraction: number) => void;
  /** Check the world's invariants after every event (tests); a violation throws. */
  checkInvariants?: boolean;
  /** Called after every event with the time and the autoscaled nodes (tests observe the world). */
  observe?: (now: number, nodes: Iterable<SimNode>) => void;
};

/** One policy's outcome. */
export type RunResult = { policy: string; summary: RunSummary; samples: Sample[] };

type Ev =
  | { k: "arrive"; i: number }
  | { k: "depart"; p: SimPod; gen: number }
  | { k: "launched"; n: SimNode }
  | { k: "ready"; n: SimNode }
  | { k: "destroyed"; n: SimNode }
  | { k: "staticAdd"; i: number }
  | { k: "staticRemove"; i: number }
  | { k: "sched" }
  | { k: "wake" }
  | { k: "reclaim"; host: string }
  | { k: "hostBack"; host: string }
  | { k: "hostJoined"; host: string };

/** The run time after bind, when the departure model says the pod leaves relative to its bind. */
export function runTimeOf(tp: TracePod, model: DepartureModel): number | undefined {
  if (model === "fixed-departure") return undefined;
  if (tp.runFor !== undefined) return tp.runFor;
  if (model === "fixed-duration" && tp.recordedBind !== undefined && tp.departure !== undefined) {
    return Math.max(0, tp.departure - tp.recordedBind);
  }
  return undefined;
}

/** The fixed departure time, when the pod leaves at a recorded instant whatever happens. */
export function fixedDepartureOf(tp: TracePod, model: DepartureModel): number | undefined {
  if (runTimeOf(tp, model) !== undefined) return undefined;
  if (tp.departure !== undefined) return tp.departure;
  if (tp.runFor !== undefined) return tp.arrival + tp.runFor;
  return undefined;
}

/**
 * The interval a pod demands capacity, for the fluid bound (docs/simulation.md, 'Metrics'), or
 * [arrival, end).
 */
export function demandInterval(tp: TracePod, model: DepartureModel, end: number): [number, number] {
  const run = runTimeOf(tp, model);
  const d = run !== undefined ? tp.arrival + run : fixedDepartureOf(tp, model) ?? end;
  return [tp.arrival, Math.min(d, end)];
}

const LAUNCHED = "Launched";

function cond(type: ConditionType, reason: string, t: number) {
  return { type, status: "True" as const, reason, message: "", lastTransitionTime: t };
}

/**
 * A pod's fields as the engine clears them: set to undefined (which every reader treats as
 * absent) rather than deleted, so all pods keep one object layout.
 */
function unset(pod: Pod): { [K in keyof Pod]?: Pod[K] | undefined } {
  return pod;
}

/** Runs one policy over one trace. */
export function runSimulation<S>(input: RunInput<S>): RunResult {
  return new Engine(input).run();
}

class Engine<S> {
  readonly q = new EventQueue<Ev>();
  readonly rec: Recorder;
  readonly config: Config;
  readonly templates: Map<string, MachineTemplate>;
  readonly hosts: Host[] = [];
  readonly hostByName = new Map<string, Host>();
  readonly claims = new Map<string, SimNode>();
  readonly live = new Set<SimPod>();
  readonly pending: SimPod[] = [];
  readonly ready: SimNode[] = [];
  readonly statics: SimNode[] = [];
  readonly delayRng: Rng;
  readonly failRng: Rng;
  readonly horizon: number;
  now = 0;
  state: S;
  schedArmed = false;
  closeAt = Infinity;
  windowStart = -1;
  timerAt = Infinity;
  scheduledWake = Infinity;
  lastDecide = -1;
  snap: Snapshot | undefined;
  /** Copies of the hosts as the last snapshot showed them; undefined once a host changed. */
  hostsView: Host[] | undefined;
  pdbsView: Snapshot["pdbs"] | undefined;
  /** Host power, when the configuration manages it (sim/engine/host_power_world.ts). */
  readonly power: HostPowerWorld | undefined;

  constructor(readonly input: RunInput<S>) {
    this.config = input.policy.config;
    this.rec = new Recorder(input.world.sampleEvery);
    this.templates = new Map(this.config.machineTemplates.map((t) => [t.name, t]));
    this.delayRng = Rng.derive(input.seed, "delays");
    this.failRng = Rng.derive(input.seed, "failures");
    this.horizon = input.horizon ?? input.trace.duration;
    this.state = input.policy.initialState();
    this.rec.trackGpu = input.trace.pods.some((p) => p.extended !== undefined) ||
      this.config.machineTemplates.some(hasGpuShapes);
    const caps = new Map(input.world.hosts.map((h) => [h.name, h]));
    for (const p of this.config.providers) {
      for (const hc of p.hosts) {
        const cap = caps.get(hc.name) ?? input.world.defaultHost;
        const h: Host = {
          name: hc.name,
          provider: p.name,
          zone: hc.zone,
          online: true,
          capacity: { cpu: cap.cpu, memory: cap.memory },
          cpuOvercommit: hc.cpuOvercommit,
          memoryOvercommit: hc.memoryOvercommit,
          reserved: hc.reserved,
          committed: { cpu: 0, memory: 0 },
        };
        const devices = hostDevicesOf(cap.gpus);
        if (devices) h.devices = devices;
        const cls = hc.capacityType ?? caps.get(hc.name)?.capacityType;
        if (cls !== undefined) h.capacityType = cls;
        this.hosts.push(h);
        this.hostByName.set(h.name, h);
      }
    }
    this.power = HostPowerWorld.of(
      this.config,
      this.hosts,
      input.policy.powersHosts ? input.world.hostsPoweredOff ?? [] : [],
    );
    if (this.power) {
      this.rec.trackHostPower = true;
      this.rec.hostCount = this.hosts.length;
      this.rec.hostsOn = this.power.onCount();
    }
  }

  run(): RunResult {
    const { trace } = this.input;
    if (worldHasClasses(this.input.world) || this.hosts.some((h) => h.capacityType)) {
      this.rec.trackClasses = true;
      const reclaims = reclaimTimes(
        this.input.world.reclaims,
        this.hosts,
        this.input.seed,
        this.horizon,
      );
      for (const r of reclaims) {
        this.q.push(r.at, EventClass.World, r.host, { k: "reclaim", host: r.host });
      }
    }
    if (trace.pods.length > 0) this.#pushArrival(0);
    trace.nodes.forEach((n, i) => {
      this.q.push(n.added, EventClass.World, n.name, { k: "staticAdd", i });
      if (n.removed !== undefined) {
        this.q.push(n.removed, EventClass.World, n.name, { k: "staticRemove", i });
      }
    });
    let count = 0;
    const progress = this.input.onProgress;
    for (;;) {
      const e = this.q.peek();
      if (!e || e.time > this.horizon) break;
      this.q.pop();
      if (e.time > this.now) {
        this.rec.advance(e.time);
        this.now = e.time;
      }
      this.rec.events++;
      this.#handle(e.payload);
      if (this.input.checkInvariants) this.#checkInvariants();
      this.input.observe?.(this.now, this.claims.values());
      if (progress && ++count % 256 === 0) progress(this.now / Math.max(1, this.horizon));
    }
    this.now = this.horizon;
    for (const p of this.live) {
      if (p.firstBind === undefined) {
        this.rec.podsNeverScheduled++;
        this.rec.podsPendingAtEnd++;
      }
    }
    progress?.(1);
    return {
      policy: this.input.policy.name,
      summary: this.rec.summary(this.horizon),
      samples: this.rec.samples,
    };
  }

  #pushArrival(i: number) {
    const tp = this.input.trace.pods[i]!;
    this.q.push(tp.arrival, EventClass.Arrival, `${tp.namespace}/${tp.name}`, { k: "arrive", i });
  }

  #handle(ev: Ev) {
    switch (ev.k) {
      case "arrive":
        return this.#arrive(ev.i);
      case "depart":
        return this.#depart(ev.p, ev.gen);
      case "launched":
        return this.#launched(ev.n);
      case "ready":
        return this.#ready(ev.n);
      case "destroyed":
        return this.#destroyed(ev.n);
      case "staticAdd":
        return this.#staticAdd(ev.i);
      case "staticRemove":
        return this.#staticRemove(ev.i);
      case "sched":
        this.schedArmed = false;
        return this.#schedule();
      case "wake":
        return this.#wake();
      case "reclaim":
        return this.#reclaim(ev.host);
      case "hostBack":
        return this.#hostBack(ev.host);
      case "hostJoined":
        return this.#hostJoined(ev.host);
    }
  }

  /** No node holds more than its allocatable, no host more than its limit; pods are counted once. */
  #checkInvariants() {
    const fail = (m: string) => {
      throw new Error(`Simulator invariant broken at t=${this.now}: ${m}`);
    };
    const nodes = [...this.claims.values(), ...this.statics];
    let bound = 0;
    for (const n of nodes) {
      if (n.used.cpu > n.alloc.cpu || n.used.memory > n.alloc.memory || n.pods.size > n.maxPods) {
        fail(`node ${n.name} holds more than its allocatable`);
      }
      if (n.pods.size > 0 && n.phase !== "ready") fail(`node ${n.name} runs pods while ${n.phase}`);
      for (const p of n.pods) if (p.node !== n || p.done) fail(`pod ${p.key} misplaced`);
      bound += n.pods.size;
    }
    for (const h of this.hosts) {
      const free = hostFree(h);
      if (free.cpu < 0 || free.memory < 0) fail(`host ${h.name} committed beyond its limit`);
      const dev = overcommittedDevices(h);
      if (dev) fail(`host ${h.name} gave out more devices of ${dev} than it has`);
    }
    for (const n of nodes) {
      for (const k in n.usedExt ?? {}) {
        if (n.usedExt![k]! > (n.ext?.[k] ?? 0)) fail(`node ${n.name} holds more ${k} than it has`);
      }
    }
    if (bound + this.pending.length !== this.live.size) {
      fail(`${this.live.size} live pods but ${bound} bound and ${this.pending.length} pending`);
    }
    if (this.rec.pendingPods !== this.pending.length) fail("pending count drifted");
    let empty = 0;
    for (const n of this.claims.values()) if (n.phase === "ready" && n.pods.size === 0) empty++;
    if (this.rec.emptyReady !== empty) fail(`empty Ready count ${this.rec.emptyReady} vs ${empty}`);
    if (this.power?.refusedOffs) fail("a host with VMs was asked to power off");
  }

  // ---- pods ----

  #arrive(i: number) {
    const { trace, world } = this.input;
    if (i + 1 < trace.pods.length) this.#pushArrival(i + 1);
    const tp = trace.pods[i]!;
    const key = `${tp.namespace}/${tp.name}`;
    const [ownerKind, ownerName] = tp.owner?.split("/", 2) ?? [];
    // Every pod has the same fields, absent ones undefined (the same to every reader), and
    // none is ever deleted: one object layout keeps the core's property reads fast.
    const fields: { [K in keyof Pod]: Pod[K] | undefined } = {
      uid: key,
      name: tp.name,
      namespace: tp.namespace,
      phase: "Pending",
      createdAt: this.now,
      pendingSince: this.now,
      containers: [
        tp.extended
          ? { cpu: tp.cpu, memory: tp.memory, extended: tp.extended }
          : { cpu: tp.cpu, memory: tp.memory },
      ],
      labels: tp.labels || undefined,
      priority: tp.priority,
      ownerKind: ownerKind || undefined,
      ownerName: ownerName || undefined,
      nodeSelector: tp.nodeSelector || undefined,
      tolerations: tp.tolerations || undefined,
      requiredNodeAffinity: tp.requiredNodeAffinity || undefined,
      nodeName: undefined,
      unschedulable: undefined,
    };
    const pod = fields as Pod;
    const p: SimPod = {
      tp,
      key,
      pod,
      req: { cpu: tp.cpu, memory: tp.memory },
      node: undefined,
      firstBind: undefined,
      everUnschedulable: false,
      gen: 0,
      done: false,
      pendingIdx: -1,
      ext: tp.extended,
    };
    this.live.add(p);
    this.#addPending(p);
    const dep = fixedDepartureOf(tp, world.departure);
    if (dep !== undefined) this.q.push(dep, EventClass.Departure, key, { k: "depart", p, gen: -1 });
    this.#dirty();
    this.#armSched();
  }

  #addPending(p: SimPod) {
    p.pendingIdx = this.pending.push(p) - 1;
    this.rec.pendingPods++;
  }

  #removePending(p: SimPod) {
    const i = p.pendingIdx;
    const last = this.pending.pop()!;
    if (last !== p) {
      this.pending[i] = last;
      last.pendingIdx = i;
    }
    p.pendingIdx = -1;
    this.rec.pendingPods--;
  }

  #depart(p: SimPod, gen: number) {
    if (p.done || (gen !== -1 && gen !== p.gen)) return;
    p.done = true;
    this.live.delete(p);
    if (p.node) this.#unbind(p);
    else if (p.pendingIdx >= 0) {
      this.#removePending(p);
      if (p.firstBind === undefined) this.rec.podsNeverScheduled++;
    }
    p.pod.phase = "Succeeded";
    this.#dirty();
    this.#changed();
    this.#armSched();
  }

  #bind(p: SimPod, n: SimNode) {
    this.#removePending(p);
    if (n.claim && n.phase === "ready" && n.pods.size === 0) this.rec.emptyReady--;
    p.node = n;
    n.pods.add(p);
    n.used.cpu += p.req.cpu;
    n.used.memory += p.req.memory;
    this.rec.boundCpu += p.req.cpu;
    this.rec.boundMem += p.req.memory;
    if (p.ext) {
      n.usedExt = addInto(n.usedExt ?? {}, p.ext, 1);
      if (n.gpuName) this.rec.boundGpu += p.ext[n.gpuName] ?? 0;
    }
    p.pod.nodeName = n.name;
    p.pod.phase = "Running";
    unset(p.pod).unschedulable = undefined;
    if (p.firstBind === undefined) {
      p.firstBind = this.now;
      this.rec.podBound(this.now - p.tp.arrival, p.everUnschedulable);
    }
    const run = runTimeOf(p.tp, this.input.world.departure);
    if (run !== undefined) {
      p.gen++;
      this.q.push(this.now + run, EventClass.Departure, p.key, { k: "depart", p, gen: p.gen });
    }
  }

  #unbind(p: SimPod) {
    const n = p.node!;
    n.pods.delete(p);
    n.used.cpu -= p.req.cpu;
    n.used.memory -= p.req.memory;
    if (p.ext) addInto(n.usedExt!, p.ext, -1);
    if (n.claim && n.phase === "ready" && n.pods.size === 0) this.rec.emptyReady++;
    if (n.phase === "ready") {
      this.rec.boundCpu -= p.req.cpu;
      this.rec.boundMem -= p.req.memory;
      if (p.ext && n.gpuName) this.rec.boundGpu -= p.ext[n.gpuName] ?? 0;
    }
    p.node = undefined;
    unset(p.pod).nodeName = undefined;
  }

  /** Drain: the pod is evicted and its controller recreates it, pending again. */
  #evict(p: SimPod) {
    const cls = p.node?.host?.capacityType;
    if (cls !== undefined) this.rec.classEvicted(cls);
    this.#unbind(p);
    p.gen++;
    p.pod.phase = "Pending";
    // The controller's replacement pod is a new pod: created now.
    p.pod.createdAt = this.now;
    p.pod.pendingSince = this.now;
    unset(p.pod).unschedulable = undefined;
    this.#addPending(p);
    this.rec.evictions++;
  }

  // ---- scheduler ----

  #armSched() {
    if (this.schedArmed) return;
    this.schedArmed = true;
    this.q.push(this.now, EventClass.Controller, "a-scheduler", { k: "sched" });
  }

  #schedule() {
    if (this.pending.length === 0) return;
    const order = sortSmall([...this.pending], schedulingOrder);
    let maxCpu = 0;
    let maxMem = 0;
    for (const n of this.ready) {
      maxCpu = Math.max(maxCpu, n.alloc.cpu - n.used.cpu);
      maxMem = Math.max(maxMem, n.alloc.memory - n.used.memory);
    }
    let newlyUnschedulable = false;
    let bound = false;
    for (const p of order) {
      let n: SimNode | undefined;
      if (p.req.cpu <= maxCpu && p.req.memory <= maxMem) {
        n = pickNode(p, this.ready, this.input.world.scoring);
      }
      if (n) {
        this.#bind(p, n);
        this.#dirty();
        bound = true;
        continue;
      }
      if (!p.pod.unschedulable) {
        p.pod.unschedulable = true;
        p.everUnschedulable = true;
        newlyUnschedulable = true;
        this.#dirty();
      }
    }
    // A bind changes what is unneeded, so scale-down must see it as a daemon polling would.
    if (newlyUnschedulable || bound) this.#changed();
  }

  // ---- nodes ----

  #staticAdd(i: number) {
    const tn = this.input.trace.nodes[i]!;
    const node: Node = {
      name: tn.name,
      labels: { "kubernetes.io/hostname": tn.name, ...(tn.labels ?? {}) },
      allocatable: { cpu: tn.cpu, memory: tn.memory, pods: 110 },
      ready: true,
      createdAt: this.now,
    };
    const n: SimNode = {
      name: tn.name,
      footprint: { cpu: 0, memory: 0 },
      node,
      alloc: { cpu: tn.cpu, memory: tn.memory },
      maxPods: 110,
      used: { cpu: 0, memory: 0 },
      pods: new Set(),
      record: -1,
      phase: "ready",
    };
    this.statics.push(n);
    this.ready.push(n);
    this.rec.allocCpu += tn.cpu;
    this.rec.allocMem += tn.memory;
    this.#dirty();
    this.#changed();
    this.#armSched();
  }

  #staticRemove(i: number) {
    const name = this.input.trace.nodes[i]!.name;
    const n = this.statics.find((s) => s.name === name && s.phase === "ready");
    if (!n) return;
    this.#leaveReady(n);
    n.phase = "gone";
    for (const p of [...n.pods]) this.#evict(p);
    this.statics.splice(this.statics.indexOf(n), 1);
    this.#dirty();
    this.#changed();
    this.#armSched();
  }

  #leaveReady(n: SimNode) {
    if (n.claim && n.pods.size === 0) this.rec.emptyReady--;
    const i = this.ready.indexOf(n);
    if (i >= 0) this.ready.splice(i, 1);
    this.rec.allocCpu -= n.alloc.cpu;
    this.rec.allocMem -= n.alloc.memory;
    this.rec.boundCpu -= n.used.cpu;
    this.rec.boundMem -= n.used.memory;
    if (n.gpuName) {
      this.rec.allocGpu -= n.ext?.[n.gpuName] ?? 0;
      this.rec.boundGpu -= n.usedExt?.[n.gpuName] ?? 0;
    }
  }

  #launch(l: Launch) {
    if (this.claims.has(l.name)) return; // the executor's idempotency: one VM per claim name
    const template = this.templates.get(l.machineTemplate);
    const host = this.hostByName.get(l.host);
    if (!template || !host || !host.online) {
      this.rec.launchFailures++;
      return;
    }
    const fp = footprint(l.shape, template);
    const free = hostFree(host);
    if (!(free.cpu >= fp.cpu && free.memory >= fp.memory)) {
      this.rec.launchFailures++;
      return;
    }
    // A GPU VM needs its devices free on the host, as Proxmox refuses to start it otherwise.
    const held = l.shape.gpus ? commitDevices(host, l.shape.gpus) : undefined;
    if (l.shape.gpus && !held) {
      this.rec.launchFailures++;
      return;
    }
    host.committed = {
      cpu: host.committed.cpu + fp.cpu,
      memory: host.committed.memory + fp.memory,
    };
    this.hostsView = undefined;
    const claim: NodeClaim = {
      name: l.name,
      nodePool: l.nodePool,
      machineTemplate: l.machineTemplate,
      provider: l.provider,
      shape: l.shape,
      host: l.host,
      nodeName: l.name,
      providerID: `proxmox://sim/${l.name}`,
      createdAt: this.now,
      labels: l.labels,
      taints: l.taints,
      startupTaints: l.startupTaints,
      conditions: [],
    };
    const provider = this.config.providers.find((p) => p.name === host.provider);
    const price = shapeCost(
      l.shape,
      template.vmMemOverhead,
      classCost(provider, host.capacityType, this.config.settings.cost),
    );
    const n: SimNode = {
      name: l.name,
      claim,
      template,
      host,
      footprint: fp,
      // The shape less what its kubelet keeps back (reservations and memory eviction threshold).
      alloc: allocatable(template, l.shape),
      maxPods: template.maxPods,
      used: { cpu: 0, memory: 0 },
      pods: new Set(),
      record: this.rec.claimCreated(this.now, price, host.capacityType),
      phase: "launching",
    };
    const ext = offeredExtended(template, l.shape);
    if (ext) n.ext = ext;
    if (held) {
      n.held = held;
      n.gpuName = gpuResource(template);
    }
    this.claims.set(l.name, n);
    const d = this.input.world.delays;
    this.q.push(this.now + sample(d.clone, this.delayRng), EventClass.World, n.name, {
      k: "launched",
      n,
    });
    this.#dirty();
  }

  #launched(n: SimNode) {
    if (n.phase !== "launching") return;
    if (this.failRng.next() < this.input.world.cloneFailure) {
      // The clone task failed: the claim is gone and its pods are pending again.
      this.rec.launchFailures++;
      this.rec.claimDraining(n.record, this.now, false, "LaunchFailed");
      this.#gone(n);
      this.#changed();
      return;
    }
    n.phase = "booting";
    n.claim!.conditions = [cond(LAUNCHED, LAUNCHED, this.now)];
    const d = this.input.world.delays;
    const delay = sample(d.boot, this.delayRng) + sample(d.join, this.delayRng);
    this.q.push(this.now + delay, EventClass.World, n.name, { k: "ready", n });
    this.#dirty();
    // A VM that exists is no longer a launch in flight: budgets and guards may now allow more.
    this.#changed();
  }

  #ready(n: SimNode) {
    if (n.phase !== "booting") return;
    const c = n.claim!;
    n.phase = "ready";
    c.conditions = [
      ...c.conditions,
      cond("Registered", "Registered", this.now),
      cond("Initialized", "Initialized", this.now),
      cond("Ready", "Ready", this.now),
    ];
    n.node = {
      name: n.name,
      providerID: c.providerID!,
      labels: c.labels,
      taints: c.taints,
      allocatable: n.ext
        ? { cpu: n.alloc.cpu, memory: n.alloc.memory, pods: n.maxPods, extended: { ...n.ext } }
        : { cpu: n.alloc.cpu, memory: n.alloc.memory, pods: n.maxPods },
      ready: true,
      createdAt: this.now,
    };
    this.ready.push(n);
    if (n.gpuName) this.rec.allocGpu += n.ext?.[n.gpuName] ?? 0;
    this.rec.claimReady(n.record, this.now);
    this.rec.emptyReady++; // a new node has no pod yet
    this.rec.allocCpu += n.alloc.cpu;
    this.rec.allocMem += n.alloc.memory;
    this.#dirty();
    this.#changed();
    this.#armSched();
  }

  #delete(d: Deletion) {
    const n = this.claims.get(d.claim);
    if (!n || n.claim!.deleting || n.phase === "gone") return;
    const wasReady = n.phase === "ready";
    n.claim!.deleting = true;
    this.rec.claimDraining(n.record, this.now, wasReady, d.reason.code);
    const dl = this.input.world.delays;
    let drain = 0;
    n.phase = "draining";
    if (wasReady) {
      this.#leaveReady(n);
      n.node!.unschedulable = true;
      n.node!.deleting = true;
      for (const p of [...n.pods].sort((a, b) => (a.key < b.key ? -1 : 1))) {
        drain += sample(dl.drainPerPod, this.delayRng);
        this.#evict(p);
      }
      this.#armSched();
    }
    const at = this.now + drain + sample(dl.destroy, this.delayRng);
    this.q.push(at, EventClass.World, n.name, { k: "destroyed", n });
    this.#dirty();
  }

  #destroyed(n: SimNode) {
    if (n.phase !== "draining") return;
    this.#gone(n);
    // A finished deletion frees scaleDown.maxConcurrent and budget room and host capacity: the
    // nodes kept only because those were in use must not wait for the next pod event.
    this.#changed();
  }

  #gone(n: SimNode) {
    n.phase = "gone";
    const h = n.host!;
    h.committed = {
      cpu: h.committed.cpu - n.footprint.cpu,
      memory: h.committed.memory - n.footprint.memory,
    };
    if (n.held) releaseDevices(h, n.held);
    this.hostsView = undefined;
    this.claims.delete(n.name);
    this.rec.claimDestroyed(n.record, this.now);
    this.#dirty();
  }

  /**
   * The host is reclaimed: every VM on it is destroyed at once (the pods of a Ready node are
   * evicted, pending again) and the host is offline for the world's `reclaims.downFor`.
   */
  #reclaim(name: string) {
    const h = this.hostByName.get(name);
    if (!h || !h.online) return;
    h.online = false;
    this.hostsView = undefined;
    const evictedBefore = this.rec.evictions;
    const on = [...this.claims.values()].filter((n) => n.host === h && n.phase !== "gone");
    for (const n of on.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (n.phase !== "draining") {
        const wasReady = n.phase === "ready";
        n.claim!.deleting = true;
        this.rec.claimDraining(n.record, this.now, wasReady, "Reclaimed");
        n.phase = "draining";
        if (wasReady) {
          this.#leaveReady(n);
          for (const p of [...n.pods].sort((a, b) => (a.key < b.key ? -1 : 1))) this.#evict(p);
        }
      }
      this.#gone(n);
    }
    this.rec.classReclaimed(h.capacityType ?? "standard", this.rec.evictions - evictedBefore);
    const back = this.now + (this.input.world.reclaims?.downFor ?? 0);
    this.q.push(back, EventClass.World, name, { k: "hostBack", host: name });
    this.#changed();
    this.#armSched();
  }

  #hostBack(name: string) {
    const h = this.hostByName.get(name);
    if (!h || h.online) return;
    h.online = true;
    this.hostsView = undefined;
    this.#dirty();
    this.#changed();
  }

  /** A host power request: a host powered on boots, one powered off is offline at once. */
  #power(r: PowerRequest) {
    const h = this.hostByName.get(r.host);
    if (!h || !this.power) return;
    let vms = 0;
    for (const n of this.claims.values()) if (n.host === h && n.phase !== "gone") vms++;
    const c = this.power.request(r, h, vms);
    if (!c) return;
    if (c.change === "booting") {
      this.rec.powerOns++;
      this.rec.hostsOn++;
      this.q.push(this.now + c.joinAfter, EventClass.World, r.host, {
        k: "hostJoined",
        host: r.host,
      });
      return;
    }
    this.rec.powerOffs++;
    this.rec.hostsOn--;
    this.hostsView = undefined;
    this.#dirty();
    this.#changed();
  }

  #hostJoined(name: string) {
    const h = this.hostByName.get(name);
    if (!h || !this.power?.joined(h)) return;
    this.hostsView = undefined;
    this.#dirty();
    this.#changed();
  }

  // ---- controller ----

  #dirty() {
    this.snap = undefined;
  }

  /** Something a decision may react to happened: open or extend the policy's window. */
  #changed() {
    const tr = this.input.policy.trigger;
    if (tr.kind === "batch") {
      if (this.windowStart < 0) this.windowStart = this.now;
      this.closeAt = Math.min(this.now + tr.idle, this.windowStart + tr.max);
    } else {
      this.closeAt = Math.min(this.closeAt, this.#tick(this.now));
    }
    this.#armWake();
  }

  #tick(t: number): number {
    const tr = this.input.policy.trigger;
    if (tr.kind !== "interval") return t;
    let g = Math.ceil(t / tr.every) * tr.every;
    if (g <= this.lastDecide) g = this.lastDecide + tr.every;
    return g;
  }

  #armWake() {
    const due = Math.min(this.closeAt, this.timerAt);
    if (due === Infinity || due >= this.scheduledWake) return;
    this.scheduledWake = due;
    this.q.push(due, EventClass.Controller, "b-autoscaler", { k: "wake" });
  }

  #wake() {
    if (this.now >= this.scheduledWake) this.scheduledWake = Infinity;
    if (this.now < Math.min(this.closeAt, this.timerAt)) {
      this.#armWake();
      return;
    }
    this.closeAt = Infinity;
    this.windowStart = -1;
    this.timerAt = Infinity;
    this.lastDecide = this.now;
    const decision = this.input.policy.decide(this.#snapshot(), this.config, this.state);
    this.rec.decisions++;
    this.#apply(decision);
  }

  #apply(d: Decision<S>) {
    this.state = d.state;
    for (const del of d.deletions) this.#delete(del);
    for (const l of d.launches) this.#launch(l);
    if (d.power && this.power) { for (const r of d.power) this.#power(r); }
    if (d.wakeAt !== undefined) {
      this.timerAt = this.#tick(Math.max(d.wakeAt, this.now + 1000));
    }
    this.#armWake();
  }

  #snapshot(): Snapshot {
    if (this.snap) return { ...this.snap, now: this.now };
    const pods: Pod[] = [];
    for (const p of this.live) pods.push(p.pod);
    // Hosts change only when a VM is committed or freed; the trace's PDBs never change.
    if (!this.hostsView) this.hostsView = this.hosts.map((h) => ({ ...h }));
    this.pdbsView ??= this.input.trace.pdbs.map((b) => ({
      name: b.name,
      namespace: b.namespace,
      selector: b.selector,
      disruptionsAllowed: b.maxUnavailable,
    }));
    const nodes: Node[] = [];
    const nodeClaims: NodeClaim[] = [];
    for (const n of this.statics) nodes.push(n.node!);
    for (const n of this.claims.values()) {
      nodeClaims.push(n.claim!);
      if (n.node) nodes.push(n.node);
    }
    this.snap = {
      now: this.now,
      pods,
      nodes,
      nodeClaims,
      hosts: this.hostsView,
      vms: [],
      pdbs: this.pdbsView,
    };
    return this.snap;
  }
}
