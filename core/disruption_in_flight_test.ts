/**
 * Disruptions already under way come first: the pods of nodes being disrupted (tainted, deleting,
 * or waiting on replacements a previous pass launched) take their room before any candidate's
 * pods are simulated, in every pass and across the commands of one pass. These scenarios are the
 * simulator's maxConcurrent-2 churn in miniature.
 */
import assert from "node:assert/strict";
import { disrupt, type DisruptionPlan, type DisruptionState } from "./disruption.ts";
import type { Config, NodeClaim, Pod, Snapshot } from "./model.ts";
import { GiB } from "./quantity.ts";
import { podRequests } from "./pod_requests.ts";
import {
  managedNode,
  snapshotOf,
  T0,
  testConfig,
  testPod,
  testPool,
} from "./testing/arbitraries.ts";

const KEEP = { "karpenter.sh/do-not-disrupt": "true" };
const DISRUPTED = { key: "proxscale.io/disrupted", effect: "NoSchedule" as const };

/** maxConcurrent 2, as in the simulator run that showed the churn. */
function cfg(): Config {
  return testConfig({
    nodePools: [testPool("general", {
      scaleDown: { maxConcurrent: 2, drainTimeout: 600_000, stabilizationWindow: 0 },
    })],
  });
}

function pod(name: string, node: string | undefined, cpu: number, over: Partial<Pod> = {}): Pod {
  return testPod(name, node, { containers: [{ cpu, memory: 1 * GiB }], ...over });
}

function cluster(nodes: ReturnType<typeof managedNode>[], pods: Pod[]): Snapshot {
  return snapshotOf({
    nodes: nodes.map((n) => n.node),
    nodeClaims: nodes.map((n) => n.claim),
    pods,
  });
}

function verdict(plan: DisruptionPlan, node: string) {
  const v = plan.verdicts.find((x) => x.node === node);
  assert.ok(v, `no verdict for ${node}`);
  return v;
}

function disrupted(plan: DisruptionPlan): string[] {
  return plan.commands.flatMap((c) => c.candidates.map((n) => n.node)).sort();
}

/** The room every evicted pod takes on existing nodes never exceeds what was free there. */
function assertNoOvercommit(snap: Snapshot, plan: DisruptionPlan) {
  const req = new Map(snap.pods.map((p) => [p.uid, podRequests(p).cpu]));
  const taken = new Map<string, number>();
  for (const cmd of plan.commands) {
    for (const e of cmd.evictions) {
      if (e.kind === "node") taken.set(e.to, (taken.get(e.to) ?? 0) + req.get(e.uid)!);
    }
  }
  for (const [name, cpu] of taken) {
    const node = snap.nodes.find((n) => n.name === name)!;
    const used = snap.pods.filter((p) => p.nodeName === name)
      .reduce((s, p) => s + podRequests(p).cpu, 0);
    assert.ok(
      used + cpu <= node.allocatable.cpu,
      `${name}: ${used}m used + ${cpu}m moved > ${node.allocatable.cpu}m`,
    );
  }
}

// Nodes are 4c-8Gi (3900m allocatable). c has 2400m free: room for one 2000m pod, not two.
const roomForOne = (keep = true) => {
  const c = managedNode("c", "general");
  return { c, filler: pod("filler-1", "c", 1500, keep ? { annotations: KEEP } : {}) };
};

Deno.test("two underutilized nodes whose pods fit the free room only once are not both moved onto it", () => {
  const a = managedNode("a", "general");
  const b = managedNode("b", "general");
  const { c, filler } = roomForOne();
  const snap = cluster([a, b, c], [pod("web-1", "a", 2000), pod("api-1", "b", 2000), filler]);
  const plan = disrupt(snap, cfg());
  assert.ok(plan.commands.length > 0, "one of them should go");
  assertNoOvercommit(snap, plan);
  const gone = disrupted(plan);
  if (gone.length === 2) {
    // Both may go only with a new VM for the pod that does not fit.
    assert.equal(plan.commands.flatMap((x) => x.replacements).length, 1);
    const kinds = plan.commands.flatMap((x) => x.evictions.map((e) => e.kind)).sort();
    assert.deepEqual(kinds, ["node", "replacement"]);
  }
});

for (
  const [how, mark] of [
    ["tainted proxscale.io/disrupted", (m: ReturnType<typeof managedNode>) => {
      m.node.taints = [DISRUPTED];
    }],
    ["whose NodeClaim is deleting", (m: ReturnType<typeof managedNode>) => {
      m.claim.deleting = true;
    }],
    ["being drained (Node deleting)", (m: ReturnType<typeof managedNode>) => {
      m.node.deleting = true;
    }],
  ] as const
) {
  Deno.test(`a node ${how} with running pods takes room before the next candidate's pods`, () => {
    const a = managedNode("a", "general");
    mark(a);
    const b = managedNode("b", "general");
    const { c, filler } = roomForOne(false);
    const busy = cluster([a, b, c], [pod("web-1", "a", 2000), pod("api-1", "b", 2000), filler]);
    const plan = disrupt(busy, cfg());
    assert.deepEqual(disrupted(plan), [], "b's pod must not take the room a's pod needs");
    assert.equal(verdict(plan, "b").disrupt, false);
    assert.equal(verdict(plan, "a").reason.code, "DisruptionInProgress");
    assert.equal(verdict(plan, "c").disrupt, false);
    assert.match(
      verdict(plan, "c").reason.message,
      /about to receive 1 pod of nodes already being disrupted/,
    );
    // Once a's pods are gone, the same room is free and b's pod moves there.
    const drained = cluster([a, b, c], [pod("api-1", "b", 2000), filler]);
    const after = disrupt(drained, cfg());
    assert.deepEqual(disrupted(after), ["b"]);
    assert.deepEqual(after.commands[0]!.evictions.map((e) => e.to), ["c"]);
  });
}

/** A replacement VM that is launching: a NodeClaim with no Node yet. */
function launching(name: string, shape = { name: "4c-8Gi", cpu: 4000, memory: 8 * GiB }) {
  const { claim } = managedNode(name, "general", { shape, createdAt: T0 - 20_000 });
  const { nodeName: _n, providerID: _p, ...rest } = claim;
  const c: NodeClaim = { ...rest, name, conditions: [] };
  return c;
}

Deno.test("a node waiting on its replacement stays taken, and its pods' room stays reserved", () => {
  const a = managedNode("a", "general");
  const b = managedNode("b", "general");
  const { c, filler } = roomForOne();
  const snap = cluster([a, b, c], [pod("web-1", "a", 2000), pod("api-1", "b", 2000), filler]);
  snap.nodeClaims.push(launching("r1"));
  const state: DisruptionState = {
    unneededSince: {},
    inFlight: [{ nodeClaims: ["a-claim"], replacements: ["r1"], since: T0 - 20_000 }],
  };
  const plan = disrupt(snap, cfg(), state);
  assert.deepEqual(disrupted(plan), []);
  assert.equal(verdict(plan, "a").reason.code, "DisruptionInProgress");
  assert.match(verdict(plan, "a").reason.message, /drained once r1 is Ready/);
  assert.equal(verdict(plan, "b").disrupt, false);
  assert.deepEqual(plan.state.inFlight, state.inFlight);

  // A lost replacement aborts the command: a is an ordinary candidate again.
  const lost = { ...snap, nodeClaims: snap.nodeClaims.filter((x) => x.name !== "r1") };
  const again = disrupt(lost, cfg(), state);
  assert.notEqual(verdict(again, "a").reason.code, "DisruptionInProgress");
  assert.ok(!again.state.inFlight?.some((f) => f.replacements.includes("r1")));

  // Once the snapshot itself shows a being disrupted, the memory is no longer needed.
  const shown = {
    ...snap,
    nodeClaims: snap.nodeClaims.map((x) => x.name === "a-claim" ? { ...x, deleting: true } : x),
  };
  assert.equal(disrupt(shown, cfg(), state).state.inFlight, undefined);

  // Past launchTimeout + registrationTimeout the replacement has failed; a is free again.
  const late = disrupt({ ...snap, now: T0 + 1_500_000 }, cfg(), state);
  assert.ok(!late.state.inFlight?.some((f) => f.replacements.includes("r1")));
  assert.notEqual(verdict(late, "a").reason.code, "DisruptionInProgress");
});

Deno.test("nodes whose replacement is launching are not picked again by the next pass", () => {
  // Two 8c-16Gi nodes whose pods fit together on one new 4c VM, cheaper than either: multi-node
  // consolidation replaces both with it (a new VM of their own shape would not be a command).
  const big = { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB };
  const a = managedNode("a", "general", { shape: big });
  const b = managedNode("b", "general", { shape: big });
  const c = managedNode("c", "general");
  const pods = [
    pod("web-1", "a", 1500),
    pod("api-1", "b", 1500),
    pod("db-1", "c", 3800, { annotations: KEEP }),
  ];
  const snap = cluster([a, b, c], pods);
  const first = disrupt(snap, cfg());
  assert.deepEqual(disrupted(first), ["a", "b"]);
  const cmd = first.commands[0]!;
  assert.equal(cmd.method, "MultiNodeConsolidation");
  assert.equal(cmd.replacements.length, 1);
  assert.deepEqual(first.state.inFlight?.map((f) => f.nodeClaims), [["a-claim", "b-claim"]]);

  // The simulator (and a lagging informer) shows the candidates untainted while the
  // replacement launches: the next pass must neither pick them again nor launch another VM.
  const r = cmd.replacements[0]!;
  const next: Snapshot = {
    ...snap,
    now: T0 + 10_000,
    nodeClaims: [...snap.nodeClaims, {
      ...launching(r.name, r.shape),
      labels: r.labels,
      nodePool: r.nodePool,
    }],
  };
  const second = disrupt(next, cfg(), first.state);
  assert.deepEqual(second.commands, []);
  assert.equal(verdict(second, "a").reason.code, "DisruptionInProgress");
  assert.equal(verdict(second, "b").reason.code, "DisruptionInProgress");
  assert.deepEqual(second.state.inFlight, first.state.inFlight);

  // Without the memory of the first pass the same snapshot picks them again: the churn.
  const forgetful = disrupt(next, cfg(), { unneededSince: first.state.unneededSince });
  assert.deepEqual(disrupted(forgetful), ["a", "b"]);
});

Deno.test("nodes under disruption count against maxConcurrent even before they are tainted", () => {
  const a = managedNode("a", "general");
  const b = managedNode("b", "general");
  const d = managedNode("d", "general");
  const e = managedNode("e", "general");
  // With a and b held by the command in flight, maxConcurrent 2 is spent: empty e stays. (d
  // stays too: a's and b's pods are about to land on it.)
  const snap = cluster([a, b, d, e], [pod("web-1", "a", 1500), pod("api-1", "b", 1500)]);
  snap.nodeClaims.push(launching("r1"));
  const state: DisruptionState = {
    unneededSince: {},
    inFlight: [{ nodeClaims: ["a-claim", "b-claim"], replacements: ["r1"], since: T0 }],
  };
  const plan = disrupt(snap, cfg(), state);
  assert.deepEqual(disrupted(plan), []);
  assert.match(verdict(plan, "d").reason.message, /about to receive 2 pods of nodes already/);
  assert.equal(verdict(plan, "e").reason.code, "MaxConcurrentReached");
  assert.ok(disrupted(disrupt(snap, cfg())).includes("e"), "without the command, e goes");
});
