/**
 * The first step of a disruption pass, before any candidate is simulated: pending pods and the
 * pods of nodes already being disrupted take their room, as in Karpenter's simulation. Also the
 * provisioning plan a caller may hand in so that the same question is not asked twice.
 *
 * May import: core/ only.
 */
import type { Config, Node, Pod, Snapshot } from "./model.ts";
import { podKey } from "./model.ts";
import { provision, type ProvisionPlan } from "./provisioning.ts";
import { podRequests } from "./pod_requests.ts";
import type { World } from "./disruption_candidates.ts";
import { isLeaving } from "./provisioning_leaving.ts";

/**
 * The provisioning plan the same pass already made, and the snapshot it was made on. When no
 * node is leaving, the pass would ask provisioning the very same question (where the pending
 * pods go) on the very same snapshot; the answer is reused instead of computed twice. It is
 * used only when `snapshot` and `config` are the objects disrupt was given, so a stale plan
 * cannot leak in.
 */
export type Provisioned = {
  snapshot: Snapshot;
  config: Config;
  plan: ProvisionPlan;
  /**
   * The snapshot disrupt was given, when `snapshot` is it with the pods of its leaving nodes
   * made pending (core/provisioning_leaving.ts): the plan then already says where those pods go.
   */
  leavingPendingOf?: Snapshot;
};

/** Per slot index: how many pending pods, and how many pods of leaving nodes, it will receive. */
export type Nominations = Map<number, { pending: number; leaving: number }>;

/**
 * Pods that need room before any candidate's come first: pending pods, and the pods of nodes
 * already being disrupted (tainted, deleting, or waiting on replacements), which their drain is
 * about to make pending. Provisioning places them on the room of existing nodes, then on
 * launching NodeClaims (such as those nodes' replacements), then on new VMs; the room it gives
 * them on existing nodes is taken from `world` (free resources and the pods each slot holds),
 * so it is not offered to pods moved by consolidation. Returns the nodes provisioning will bind
 * pods to (Karpenter's nomination), which stay this pass.
 */
export function reserveFirst(
  world: World,
  snap: Snapshot,
  config: Config,
  provisioned: Provisioned | undefined,
): Nominations {
  const nominated: Nominations = new Map();
  const leaving = new Set(world.leavingPods);
  const pending = snap.pods.some((p) => p.nodeName === undefined && p.phase === "Pending");
  if (!pending && leaving.size === 0) return nominated;
  let input = snap;
  if (leaving.size > 0) {
    const slots = world.slots;
    input = {
      ...snap,
      pods: snap.pods.map((p) => leaving.has(p) ? asPending(p, snap.now) : p),
      // Their drained pods do not come back to them.
      nodes: snap.nodes.map((n): Node => {
        const i = world.slotByName.get(n.name);
        return i !== undefined && slots[i]!.leaving && !n.unschedulable
          ? { ...n, unschedulable: true }
          : n;
      }),
    };
  }
  const plan = reusable(world, snap, config, leaving.size, provisioned) ?? provision(input, config);
  let byKey: Map<string, Pod> | undefined; // built for the first placement on a node
  const { podsOn, slotByName, slots } = world;
  for (const pl of plan.placements) {
    if (pl.kind !== "node") continue;
    const slot = slotByName.get(pl.target);
    byKey ??= new Map(snap.pods.map((p) => [podKey(p), p]));
    const pod = byKey.get(pl.pod);
    if (slot === undefined || !pod) continue;
    const r = podRequests(pod);
    const s = slots[slot]!;
    s.freeCpu -= r.cpu;
    s.freeMemory -= r.memory;
    s.freePods -= 1;
    // Topology (anti-affinity, spread) sees the pod where it is about to run.
    podsOn[slot]!.push(pod);
    const n = nominated.get(slot) ?? { pending: 0, leaving: 0 };
    if (leaving.has(pod)) n.leaving += 1;
    else n.pending += 1;
    nominated.set(slot, n);
  }
  // Leaving pods no longer count where they are now; those without existing room will run on
  // a launching or new VM, which no candidate's pod can be moved onto.
  for (let i = 0; i < slots.length; i++) {
    if (slots[i]!.leaving) podsOn[i] = podsOn[i]!.filter((p) => !leaving.has(p));
  }
  return nominated;
}

/**
 * The plan provisioning already made for this pass, when it answers the question reserveFirst
 * would ask: with no node leaving, made on this very snapshot; with nodes leaving, made on this
 * snapshot with exactly the same nodes leaving and their pods pending.
 */
function reusable(
  world: World,
  snap: Snapshot,
  config: Config,
  leaving: number,
  provisioned: Provisioned | undefined,
): ProvisionPlan | undefined {
  if (!provisioned || provisioned.config !== config) return undefined;
  if (leaving === 0) return provisioned.snapshot === snap ? provisioned.plan : undefined;
  if (provisioned.leavingPendingOf !== snap) return undefined;
  // The world has a slot per node: the same nodes leave when every slot agrees with isLeaving.
  for (const s of world.slots) if (s.leaving !== isLeaving(s.node)) return undefined;
  return provisioned.plan;
}

/** A pod its drain will evict, as provisioning sees it once its controller has recreated it. */
function asPending(pod: Pod, now: number): Pod {
  const { nodeName: _n, ...rest } = pod;
  return { ...rest, phase: "Pending", unschedulable: true, pendingSince: now };
}
