/**
 * Consolidation simulation: if these nodes went away, where would each of their pods go? Pods
 * are tried first-fit decreasing (the order core/provisioning.ts uses) on the remaining nodes in
 * name order, with the scheduler predicates the provisioning core uses (taints, node selectors
 * and affinity, capacity, anti-affinity and spread through core/topology.ts). Pods left over go
 * to core/provisioning.ts itself, which sizes the replacement VMs (pool order, cheapest shape,
 * limits, host capacity). Capacity taken by earlier decisions of the pass stays taken.
 */
import type { Config, Host, Node, NodeClaim, Pod, Resources, Snapshot } from "./model.ts";
import { podKey } from "./model.ts";
import type { Candidate, World } from "./disruption_candidates.ts";
import { type PlannedClaim, provision } from "./provisioning.ts";
import {
  addExtended,
  hostPortKeys,
  missingExtended,
  NO_EXTENDED,
  podExtendedRequests,
  podRequestsOf,
} from "./pod_requests.ts";
import { untoleratedTaint } from "./taints.ts";
import { nodeRefusesNamespace, type TenancyView } from "./tenancy.ts";
import { matchesNodeConstraints, matchesSelector } from "./requirements.ts";
import { type PlacedPod, topologyAllows, TopologyIndex } from "./topology.ts";
import { footprint } from "./limits.ts";
import { claimCostModel, shapeCost } from "./cost.ts";
import { type Reason, reason } from "./reason.ts";
import { TopologyScope } from "./disruption_topology.ts";
import { sortSmall } from "./small_sort.ts";

/** Where one pod of a disrupted node goes: an existing node, or a replacement NodeClaim. */
export type Move = { pod: Pod; to: string; kind: "node" | "replacement" };

export type SimOutcome =
  | { ok: true; moves: Move[]; replacements: PlannedClaim[]; replacementCost: number }
  | { ok: false; reason: Reason };

type Mover = { pod: Pod; req: Readonly<Resources> };

/** First-fit decreasing order: cpu, then memory, descending; then older, then by uid. */
function largestFirst(a: Mover, b: Mover): number {
  return b.req.cpu - a.req.cpu || b.req.memory - a.req.memory ||
    a.pod.createdAt - b.pod.createdAt ||
    (a.pod.uid < b.pod.uid ? -1 : a.pod.uid > b.pod.uid ? 1 : 0);
}

/** What a node has left beyond cpu and memory: extended resources and free host ports. */
type Extras = { ext: Record<string, number>; ports: Set<string> };

/** Simulates removing nodes within one pass; `commit` makes a simulated removal stick. */
export class Simulator {
  readonly #world: World;
  readonly #snap: Snapshot;
  readonly #config: Config;
  readonly #freeCpu: number[];
  readonly #freeMem: number[];
  readonly #freePods: number[];
  /** 1 = may receive pods now. */
  readonly #dest: number[];
  readonly #received: number[];
  readonly #compat = new Map<string, number[]>();
  readonly #compatOf = new WeakMap<Pod, number[]>();
  /** Pods moved in this pass: where they now are. */
  readonly #movedTo = new Map<Pod, number>();
  /** Pods placed on replacements committed in this pass, with the replacement's labels. */
  readonly #onReplacements: { pod: Pod; claim: PlannedClaim }[] = [];
  readonly #replacements: PlannedClaim[] = [];
  #hosts: Host[];
  readonly #scope: TopologyScope;
  /** Per slot, built the first time a pod with extended requests or host ports looks at it. */
  readonly #extras = new Map<number, Extras>();
  #simConfig: Config | undefined;
  #claimsAsDeleting: NodeClaim[] | undefined;

  constructor(world: World, snapshot: Snapshot, config: Config) {
    this.#world = world;
    this.#snap = snapshot;
    this.#config = config;
    const n = world.slots.length;
    this.#freeCpu = zeros(n);
    this.#freeMem = zeros(n);
    this.#freePods = zeros(n);
    this.#dest = zeros(n);
    this.#received = zeros(n);
    for (let i = 0; i < n; i++) {
      const s = world.slots[i]!;
      this.#freeCpu[i] = s.freeCpu;
      this.#freeMem[i] = s.freeMemory;
      this.#freePods[i] = s.freePods;
      this.#dest[i] = s.destination ? 1 : 0;
    }
    this.#hosts = snapshot.hosts;
    this.#scope = new TopologyScope(world, snapshot);
  }

  /**
   * Replacements are sized by the provisioning core without its scale-up pacing: the
   * disruption guards pace replacements, and minNodes is checked by the caller. Built on the
   * first replacement sized (most passes size none).
   */
  #sizingConfig(): Config {
    return this.#simConfig ??= {
      ...this.#config,
      nodePools: this.#config.nodePools.map((p) => ({
        ...p,
        minNodes: 0,
        scaleUp: { batchSize: Infinity, maxConcurrent: Infinity, stabilizationWindow: 0 },
      })),
    };
  }

  #extrasOf(i: number): Extras {
    let e = this.#extras.get(i);
    if (e) return e;
    const node = this.#world.slots[i]!.node;
    e = { ext: { ...node.allocatable.extended }, ports: new Set() };
    for (const p of this.#world.podsOn[i]!) {
      if (p.phase === "Succeeded" || p.phase === "Failed") continue;
      addExtended(e.ext, podExtendedRequests(p), -1);
      for (const k of hostPortKeys(p.hostPorts)) e.ports.add(k);
    }
    this.#extras.set(i, e);
    return e;
  }

  /** Extended resources and host ports of `pod` fit slot `i` with `trial` pods already there. */
  #extrasFit(i: number, pod: Pod, trial: readonly Pod[] | undefined): boolean {
    const e = this.#extrasOf(i);
    const ext = { ...e.ext };
    const ports = new Set(e.ports);
    for (const p of trial ?? []) {
      addExtended(ext, podExtendedRequests(p), -1);
      for (const k of hostPortKeys(p.hostPorts)) ports.add(k);
    }
    if (missingExtended(ext, podExtendedRequests(pod)) !== undefined) return false;
    return !hostPortKeys(pod.hostPorts).some((k) => ports.has(k));
  }

  /**
   * Required pod affinity of a pod moved onto slot `i`: each term needs a pod it selects that
   * stays in the slot's domain. Pods moving in the same simulation do not count (a conservative
   * answer: such pods go to the provisioning core together, or the node stays).
   */
  #affinityOk(i: number, pod: Pod, gone: ReadonlySet<number>): boolean {
    const slots = this.#world.slots;
    for (const term of pod.requiredPodAffinity ?? []) {
      const d = slots[i]!.node.labels[term.topologyKey];
      if (d === undefined) return false;
      const ns = term.namespaces?.length ? term.namespaces : [pod.namespace];
      let found = false;
      for (let j = 0; j < slots.length && !found; j++) {
        if (gone.has(j) || this.#removed.has(j)) continue;
        if (slots[j]!.node.labels[term.topologyKey] !== d) continue;
        for (const q of this.#world.podsOn[j]!) {
          if (q === pod || q.phase === "Succeeded" || q.phase === "Failed" || q.deleting) continue;
          if (ns.includes(q.namespace) && matchesSelector(q.labels, term.labelSelector)) {
            found = true;
            break;
          }
        }
      }
      if (!found) return false;
    }
    return true;
  }

  /** Did pods move onto this node in the pass? Such a node is not disrupted in the same pass. */
  received(slot: number): boolean {
    return this.#received[slot] === 1;
  }

  #req(pod: Pod): Readonly<Resources> {
    return podRequestsOf(pod);
  }

  /** Which slots the pod's tolerations and node constraints allow, cached per constraint set. */
  #compatible(pod: Pod): number[] {
    // A pod without tolerations or node constraints shares one answer: no per-pod lookup.
    const plain = !pod.nodeSelector && !pod.requiredNodeAffinity && !pod.tolerations;
    let c = plain ? this.#compat.get("") : this.#compatOf.get(pod);
    if (c) return c;
    // With tenants, a tolerating pod's answer also depends on its namespace (its tenant).
    const tenancy: TenancyView | undefined = this.#config.tenants?.length
      ? { tenants: this.#config.tenants, namespaceLabels: this.#snap.namespaceLabels }
      : undefined;
    const key = plain ? "" : JSON.stringify([
      pod.nodeSelector,
      pod.requiredNodeAffinity,
      pod.tolerations,
      ...(tenancy ? [pod.namespace] : []),
    ]);
    c = this.#compat.get(key);
    if (!c) {
      const slots = this.#world.slots;
      c = zeros(slots.length);
      for (let i = 0; i < slots.length; i++) {
        const node = slots[i]!.node;
        if (untoleratedTaint(node.taints, pod.tolerations)) continue;
        if (tenancy && nodeRefusesNamespace(node.labels, tenancy, pod.namespace)) continue;
        if (
          !matchesNodeConstraints(
            node.labels,
            pod.nodeSelector,
            pod.requiredNodeAffinity,
            node.name,
          )
        ) continue;
        c[i] = 1;
      }
      this.#compat.set(key, c);
    }
    if (!plain) this.#compatOf.set(pod, c);
    return c;
  }

  /** Where a pod is now in this pass (slot), or undefined when it is on a node going away. */
  #slotOf(pod: Pod, base: number, gone: ReadonlySet<number>): number | undefined {
    const at = this.#movedTo.get(pod) ?? base;
    // -1: moved onto a replacement earlier in the pass (counted through #onReplacements).
    if (at < 0 || gone.has(at) || this.#removed.has(at)) return undefined;
    return at;
  }

  /** Topology counts as they would be with `gone` removed and this pass's moves applied. */
  #topology(gone: ReadonlySet<number>, movers: readonly Pod[]): TopologyIndex {
    const slots = this.#world.slots;
    const placed: PlacedPod[] = [];
    const add = (pod: Pod, nodeLabels: Readonly<Record<string, string>>) => {
      const p = {
        namespace: pod.namespace,
        labels: pod.labels,
        nodeLabels,
        antiAffinity: pod.requiredPodAntiAffinity,
      };
      placed.push(p);
    };
    for (const [pod, base] of this.#scope.relevant(movers)) {
      const at = this.#slotOf(pod, base, gone);
      if (at !== undefined) add(pod, slots[at]!.node.labels);
    }
    for (const r of this.#onReplacements) add(r.pod, r.claim.labels);
    return new TopologyIndex(placed, this.#scope.zones());
  }

  #cheapest: number | undefined;

  /**
   * The price of the cheapest VM any NodePool's template can launch (a fixed shape, or a
   * flexible template's minimum): no replacement costs less.
   */
  #cheapestLaunch(): number {
    if (this.#cheapest !== undefined) return this.#cheapest;
    const cost = this.#config.settings.cost;
    let min = Infinity;
    for (const pool of this.#config.nodePools) {
      const t = this.#world.templates.get(pool.machineTemplate);
      if (!t) continue;
      for (const shape of t.shapes) min = Math.min(min, shapeCost(shape, t.vmMemOverhead, cost));
      if (t.flexible) {
        const least = { cpu: t.flexible.cpu.min, memory: t.flexible.memory.min };
        min = Math.min(min, shapeCost(least, t.vmMemOverhead, cost));
      }
    }
    return this.#cheapest = min;
  }

  /**
   * Where would the movers of `cands` go if those nodes were removed now? At most
   * `maxReplacements` new VMs may be planned. Leaves the pass's state unchanged. With
   * `costCap` (the price of the nodes removed), a replacement that could not cost less than
   * the cap is not simulated at all: when even the cheapest launchable VM costs as much, the
   * outcome is refused at once, as the caller would refuse the replacement's price.
   */
  simulate(cands: readonly Candidate[], maxReplacements: number, costCap = Infinity): SimOutcome {
    // When no replacement may be planned, or none could cost less than `costCap`, the outcome
    // is settled by the first pod that fits nowhere: the rest need not be tried. And when the
    // pods ask more than all remaining destinations have free together, or one pod more than
    // any single destination has free, one of them fits nowhere.
    const settled = maxReplacements === 0 || this.#cheapestLaunch() >= costCap;
    if (settled && maxReplacements > 0 && this.#cannotAllFit(cands)) {
      return {
        ok: false,
        reason: reason("Unconsolidatable", tooDearMessage(this.#cheapestLaunch(), costCap)),
      };
    }
    // Made only past the quick refusal above, which most simulations end at.
    const gone = new Set<number>();
    for (const c of cands) gone.add(c.slot);
    const movers: Mover[] = [];
    for (const c of cands) {
      for (const pod of c.movers) movers.push({ pod, req: this.#req(pod) });
    }
    sortSmall(movers, largestFirst);
    const needTopo = movers.some((m) => this.#scope.needsTopology(m.pod));
    const topo = needTopo
      ? this.#topology(
        gone,
        movers.map((m) => m.pod),
      )
      : undefined;
    const slots = this.#world.slots;
    const n = slots.length;
    const freeCpu = this.#freeCpu;
    const freeMem = this.#freeMem;
    const freePods = this.#freePods;
    const dest = this.#dest;
    for (const s of gone) dest[s] = 0;
    const moves: Move[] = [];
    const undo: number[] = [];
    const left: Mover[] = [];
    // Pods placed so far per slot, kept only for pods with extended requests or host ports.
    let trial: Map<number, Pod[]> | undefined;
    for (const m of movers) {
      const compat = this.#compatible(m.pod);
      const { cpu, memory } = m.req;
      const extras = m.pod.hostPorts?.length || podExtendedRequests(m.pod) !== NO_EXTENDED;
      let to = -1;
      for (let i = 0; i < n; i++) {
        if (compat[i] === 0 || dest[i] === 0) continue;
        if (freeCpu[i]! < cpu || freeMem[i]! < memory || freePods[i]! < 1) continue;
        if (extras && !this.#extrasFit(i, m.pod, trial?.get(i))) continue;
        if (m.pod.requiredPodAffinity?.length && !this.#affinityOk(i, m.pod, gone)) continue;
        if (topo) {
          const labels = slots[i]!.node.labels;
          if (!topologyAllows(topo, m.pod, labels, this.#scope.zoneUniverse(topo, m.pod)).ok) {
            continue;
          }
        }
        to = i;
        break;
      }
      if (to < 0) {
        left.push(m);
        if (settled) break;
        continue;
      }
      freeCpu[to] = freeCpu[to]! - cpu;
      freeMem[to] = freeMem[to]! - memory;
      freePods[to] = freePods[to]! - 1;
      if (extras) {
        // Only pods with extended requests or host ports change what `#extrasFit` sees.
        trial ??= new Map();
        const t = trial.get(to);
        if (t) t.push(m.pod);
        else trial.set(to, [m.pod]);
      }
      undo.push(to);
      topo?.place(m.pod, slots[to]!.node.labels);
      moves.push({ pod: m.pod, to: slots[to]!.node.name, kind: "node" });
    }
    // Put back what the trial took; `commit` re-applies the chosen outcome.
    for (let k = 0; k < undo.length; k++) {
      const i = undo[k]!;
      const r = this.#req(moves[k]!.pod);
      freeCpu[i] = freeCpu[i]! + r.cpu;
      freeMem[i] = freeMem[i]! + r.memory;
      freePods[i] = freePods[i]! + 1;
    }
    for (const s of gone) dest[s] = slots[s]!.destination && !this.#removed.has(s) ? 1 : 0;
    if (left.length === 0) return { ok: true, moves, replacements: [], replacementCost: 0 };
    if (maxReplacements === 0) {
      const p = left[0]!.pod;
      return {
        ok: false,
        reason: reason(
          "Unconsolidatable",
          `pod ${podKey(p)} fits on no remaining node and no new VM is allowed`,
        ),
      };
    }
    const cheapest = this.#cheapestLaunch();
    if (cheapest >= costCap) {
      return { ok: false, reason: reason("Unconsolidatable", tooDearMessage(cheapest, costCap)) };
    }
    return this.#replace(left, moves, gone, maxReplacements);
  }

  readonly #removed = new Set<number>();

  /**
   * Do the movers of `cands` certainly not all fit on the remaining destinations? True when
   * they ask more cpu, memory or pod slots than those have free together, or one of them asks
   * more than any single one has free (compatibility aside: a necessary condition only).
   */
  #cannotAllFit(cands: readonly Candidate[]): boolean {
    // A scan finds one or a few candidates' slots; many (multi-node consolidation) get a set.
    const many = cands.length > 4 ? new Set(cands.map((c) => c.slot)) : undefined;
    let cpu = 0;
    let memory = 0;
    let pods = 0;
    let bigCpu = 0;
    let bigMem = 0;
    for (const c of cands) {
      for (const pod of c.movers) {
        const r = this.#req(pod);
        cpu += r.cpu;
        memory += r.memory;
        pods += 1;
        if (r.cpu > bigCpu) bigCpu = r.cpu;
        if (r.memory > bigMem) bigMem = r.memory;
      }
    }
    if (pods === 0) return false;
    let roomCpu = 0;
    let roomMem = 0;
    let roomPods = 0;
    let topCpu = 0;
    let topMem = 0;
    for (let i = 0; i < this.#dest.length; i++) {
      if (this.#dest[i] === 0 || (many ? many.has(i) : slotOfAny(cands, i))) continue;
      const fc = Math.max(0, this.#freeCpu[i]!);
      const fm = Math.max(0, this.#freeMem[i]!);
      roomCpu += fc;
      roomMem += fm;
      roomPods += Math.max(0, this.#freePods[i]!);
      if (fc > topCpu) topCpu = fc;
      if (fm > topMem) topMem = fm;
    }
    return cpu > roomCpu || memory > roomMem || pods > roomPods || bigCpu > topCpu ||
      bigMem > topMem;
  }

  /** Leftover pods go to the provisioning core, as if they were pending now. */
  #replace(left: Mover[], moves: Move[], gone: ReadonlySet<number>, max: number): SimOutcome {
    const snap = this.#snap;
    const pods: Pod[] = left.map(({ pod }) => {
      const { nodeName: _n, deleting: _d, ...rest } = pod;
      return { ...rest, phase: "Pending", unschedulable: true, pendingSince: snap.now };
    });
    const nodes: Node[] = [];
    // Pods already placed only matter to the new VM through anti-affinity and spread.
    if (left.some((m) => this.#scope.needsTopology(m.pod))) {
      const slots = this.#world.slots;
      const moved = new Map(moves.map((m) => [m.pod, m.to]));
      const used = new Set<string>();
      for (const [pod, base] of this.#scope.relevant(left.map((m) => m.pod))) {
        let name = moved.get(pod);
        if (name === undefined) {
          const at = this.#slotOf(pod, base, gone);
          if (at === undefined) continue;
          name = slots[at]!.node.name;
        }
        if (!used.has(name)) {
          used.add(name);
          // Cordoned: the node only tells the provisioning core where its pods are.
          nodes.push({ ...slots[this.#world.slotByName.get(name)!]!.node, unschedulable: true });
        }
        pods.push({ ...pod, nodeName: name });
      }
      for (const c of this.#replacements) {
        nodes.push({
          name: c.name,
          labels: c.labels,
          taints: c.taints,
          allocatable: { cpu: 0, memory: 0, pods: 0 },
          ready: true,
          unschedulable: true,
          createdAt: snap.now,
        });
      }
      for (const r of this.#onReplacements) pods.push({ ...r.pod, nodeName: r.claim.name });
    }
    this.#claimsAsDeleting ??= snap.nodeClaims.map((c) => ({ ...c, deleting: true }));
    const claims = this.#replacements.length === 0
      ? this.#claimsAsDeleting
      : [...this.#claimsAsDeleting, ...this.#replacements.map((r) => asDeletingClaim(r, snap.now))];
    const plan = provision(
      {
        now: snap.now,
        pods,
        nodes,
        nodeClaims: claims,
        hosts: this.#hosts,
        vms: [],
        pdbs: [],
        ...(snap.daemonSets ? { daemonSets: snap.daemonSets } : {}),
        // Replacements go only where the template can be cloned (an image template: hosts
        // with a finished template VM).
        ...(snap.templateHosts ? { templateHosts: snap.templateHosts } : {}),
      },
      this.#sizingConfig(),
    );
    const leftKeys = new Set(left.map((m) => podKey(m.pod)));
    const stuck = plan.unhelped.find((u) => leftKeys.has(u.pod));
    if (stuck) {
      return {
        ok: false,
        reason: reason(
          "Unconsolidatable",
          `pod ${stuck.pod} would have nowhere to go: ${stuck.reason.message}`,
        ),
      };
    }
    if (plan.claims.length > max) {
      return {
        ok: false,
        reason: reason(
          "Unconsolidatable",
          `its pods need ${plan.claims.length} new VMs; at most ${max} may replace it`,
        ),
      };
    }
    const byKey = new Map(left.map((m) => [podKey(m.pod), m.pod]));
    let replacementCost = 0;
    for (const c of plan.claims) {
      const t = this.#world.templates.get(c.machineTemplate);
      replacementCost += shapeCost(
        c.shape,
        t?.vmMemOverhead ?? 0,
        claimCostModel(this.#config, c),
      );
      for (const k of c.pods) {
        const pod = byKey.get(k);
        if (pod) moves.push({ pod, to: c.name, kind: "replacement" });
      }
    }
    return { ok: true, moves, replacements: plan.claims, replacementCost };
  }

  /** Makes a simulated removal real for the rest of the pass. */
  commit(cands: readonly Candidate[], outcome: SimOutcome & { ok: true }): void {
    for (const c of cands) {
      this.#removed.add(c.slot);
      this.#dest[c.slot] = 0;
    }
    for (const m of outcome.moves) {
      if (m.kind !== "node") continue;
      const i = this.#world.slotByName.get(m.to)!;
      const r = this.#req(m.pod);
      this.#freeCpu[i] = this.#freeCpu[i]! - r.cpu;
      this.#freeMem[i] = this.#freeMem[i]! - r.memory;
      this.#freePods[i] = this.#freePods[i]! - 1;
      this.#received[i] = 1;
      this.#movedTo.set(m.pod, i);
      if (m.pod.hostPorts?.length || podExtendedRequests(m.pod) !== NO_EXTENDED) {
        const e = this.#extrasOf(i);
        addExtended(e.ext, podExtendedRequests(m.pod), -1);
        for (const k of hostPortKeys(m.pod.hostPorts)) e.ports.add(k);
      }
    }
    for (const c of cands) {
      for (const pod of c.movers) if (!this.#movedTo.has(pod)) this.#movedTo.set(pod, -1);
    }
    for (const r of outcome.replacements) {
      this.#replacements.push(r);
      const t = this.#world.templates.get(r.machineTemplate);
      const fp = t ? footprint(r.shape, t) : { cpu: r.shape.cpu, memory: r.shape.memory };
      this.#hosts = this.#hosts.map((h) =>
        h.name === r.host
          ? {
            ...h,
            committed: { cpu: h.committed.cpu + fp.cpu, memory: h.committed.memory + fp.memory },
          }
          : h
      );
      for (const m of outcome.moves) {
        if (m.kind === "replacement" && m.to === r.name) {
          this.#onReplacements.push({ pod: m.pod, claim: r });
        }
      }
    }
  }
}

/** A planned replacement as the provisioning core should count it: its VM exists, it takes no pods. */
function asDeletingClaim(r: PlannedClaim, now: number): NodeClaim {
  return {
    name: r.name,
    nodePool: r.nodePool,
    machineTemplate: r.machineTemplate,
    provider: r.provider,
    shape: r.shape,
    host: r.host,
    createdAt: now,
    labels: r.labels,
    taints: r.taints,
    startupTaints: r.startupTaints,
    conditions: [],
    deleting: true,
  };
}

const tooDear = new Map<number, Map<number, string>>();

/**
 * Why no replacement is simulated: even the cheapest VM costs at least what it would replace.
 * The text depends on the two prices only, so it is kept per pair (a node's price repeats on
 * every pass).
 */
function tooDearMessage(cheapest: number, cap: number): string {
  let byCap = tooDear.get(cheapest);
  if (!byCap) {
    if (tooDear.size >= 256) tooDear.clear();
    tooDear.set(cheapest, byCap = new Map());
  }
  let m = byCap.get(cap);
  if (m === undefined) {
    if (byCap.size >= 256) byCap.clear();
    m = `its pods fit on no remaining node, and a replacement would cost at least ${
      cheapest.toFixed(4)
    }/h (the cheapest VM a pool launches), not less than the ${cap.toFixed(4)}/h it replaces`;
    byCap.set(cap, m);
  }
  return m;
}

/** Is slot `i` one of the candidates' nodes (the few nodes a simulation takes away)? */
function slotOfAny(cands: readonly Candidate[], i: number): boolean {
  for (let k = 0; k < cands.length; k++) if (cands[k]!.slot === i) return true;
  return false;
}

/** `n` zeros in a plain (packed) array: cheaper to make per pass than a typed array. */
function zeros(n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(0);
  return a;
}
