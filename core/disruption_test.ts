import assert from "node:assert/strict";
import { disrupt } from "./disruption.ts";
import type { Budget, Config, NodePool, Pod, Snapshot } from "./model.ts";
import { GiB, MiB } from "./quantity.ts";
import {
  managedNode,
  snapshotOf,
  T0,
  testConfig,
  testPod,
  testPool,
} from "./testing/arbitraries.ts";

const SMALL = { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB };
const BIG = { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB };

/** A pod that fills most of a 4c-8Gi node, so that node is needed. */
function filler(name: string, node: string): Pod {
  return testPod(name, node, { containers: [{ cpu: 3000, memory: 6 * GiB }] });
}

function cluster(
  nodes: ReturnType<typeof managedNode>[],
  pods: Pod[] = [],
  extra: Partial<Snapshot> = {},
): Snapshot {
  return snapshotOf({
    nodes: nodes.map((n) => n.node),
    nodeClaims: nodes.map((n) => n.claim),
    pods,
    ...extra,
  });
}

function poolWith(over: Partial<NodePool> = {}, disruption: Partial<NodePool["disruption"]> = {}) {
  const base = testPool("general", over);
  return { ...base, disruption: { ...base.disruption, ...disruption } };
}

function cfg(pool: NodePool = poolWith()): Config {
  return testConfig({ nodePools: [pool] });
}

function disrupted(plan: ReturnType<typeof disrupt>): string[] {
  return plan.commands.flatMap((c) => c.candidates.map((n) => n.node)).sort();
}

function verdict(plan: ReturnType<typeof disrupt>, node: string) {
  const v = plan.verdicts.find((x) => x.node === node);
  assert.ok(v, `no verdict for ${node}`);
  return v;
}

Deno.test("an empty node is removed once consolidateAfter has passed", () => {
  const a = managedNode("a", "general");
  const b = managedNode("b", "general");
  const pods = [filler("web-1", "b")];
  const plan = disrupt(cluster([a, b], pods), cfg());
  assert.deepEqual(disrupted(plan), ["a"]);
  assert.equal(plan.commands[0]!.method, "Emptiness");
  assert.equal(plan.commands[0]!.reason.code, "Empty");
  assert.equal(verdict(plan, "a").disrupt, true);
});

Deno.test("a node whose last pod arrived inside consolidateAfter stays", () => {
  const a = managedNode("a", "general");
  const pods = [testPod("web-1", "a", { createdAt: T0 - 30_000 })];
  const plan = disrupt(
    cluster([a, managedNode("b", "general")], pods),
    cfg(poolWith({}, { consolidateAfter: 60_000 })),
  );
  assert.equal(verdict(plan, "a").disrupt, false);
  assert.equal(verdict(plan, "a").reason.code, "StabilizationWindow");
  assert.match(verdict(plan, "a").reason.message, /consolidateAfter/);
});

Deno.test("a node must stay unneeded for the whole stabilization window", () => {
  const a = managedNode("a", "general");
  const b = managedNode("b", "general");
  const snap = cluster([a, b], [filler("web-1", "b")]);
  const config = cfg(poolWith({
    scaleDown: { maxConcurrent: 10, drainTimeout: 600_000, stabilizationWindow: 600_000 },
  }));
  const first = disrupt(snap, config);
  assert.deepEqual(disrupted(first), []);
  assert.equal(verdict(first, "a").reason.code, "StabilizationWindow");
  assert.equal(first.state.unneededSince["a-claim"], T0);
  const early = disrupt({ ...snap, now: T0 + 300_000 }, config, first.state);
  assert.deepEqual(disrupted(early), []);
  assert.equal(early.state.unneededSince["a-claim"], T0);
  const late = disrupt({ ...snap, now: T0 + 600_000 }, config, early.state);
  assert.deepEqual(disrupted(late), ["a"]);
  // A node that became needed again forgets its start: the window starts over.
  const busy = cluster([a, b], [filler("web-1", "b"), testPod("api-1", "a")]);
  const reset = disrupt(
    { ...busy, now: T0 + 1000 },
    cfg(poolWith({}, { consolidationPolicy: "WhenEmpty" })),
    first.state,
  );
  assert.equal(reset.state.unneededSince["a-claim"], undefined);
});

Deno.test("an underutilized node's pods move to a node with room", () => {
  const a = managedNode("a", "general");
  const b = managedNode("b", "general");
  const keep = { "karpenter.sh/do-not-disrupt": "true" };
  const pods = [testPod("web-1", "a"), { ...filler("web-2", "b"), annotations: keep }];
  const plan = disrupt(cluster([a, b], pods), cfg());
  assert.equal(plan.commands.length, 1);
  const cmd = plan.commands[0]!;
  assert.equal(cmd.method, "SingleNodeConsolidation");
  assert.equal(cmd.reason.code, "Underutilized");
  assert.deepEqual(cmd.candidates.map((c) => c.node), ["a"]);
  assert.deepEqual(cmd.replacements, []);
  assert.deepEqual(cmd.evictions.map((e) => [e.pod, e.from, e.to]), [["default/web-1", "a", "b"]]);
  assert.ok(cmd.savings > 0);
});

Deno.test("a big node is replaced by a strictly cheaper one, a small one is not", () => {
  const big = managedNode("big", "general", { shape: BIG });
  const pods = [testPod("web-1", "big")];
  const plan = disrupt(cluster([big], pods), cfg());
  assert.equal(plan.commands.length, 1);
  assert.equal(plan.commands[0]!.replacements.length, 1);
  assert.equal(plan.commands[0]!.replacements[0]!.shape.name, "2c-4Gi");
  assert.equal(plan.commands[0]!.evictions[0]!.kind, "replacement");

  const small = managedNode("small", "general", { shape: SMALL });
  const keep = disrupt(cluster([small], [testPod("web-1", "small")]), cfg());
  assert.deepEqual(keep.commands, []);
  assert.equal(verdict(keep, "small").reason.code, "Unconsolidatable");
  assert.match(verdict(keep, "small").reason.message, /not less than/);
});

Deno.test("every do-not-disrupt spelling keeps the node and names its key", () => {
  const podKeys: [string, string][] = [
    ["proxscale.io/do-not-disrupt", "true"],
    ["karpenter.sh/do-not-disrupt", "true"],
    ["karpenter.sh/do-not-disrupt", "3h"],
    ["cluster-autoscaler.kubernetes.io/safe-to-evict", "false"],
  ];
  for (const [key, value] of podKeys) {
    const a = managedNode("a", "general");
    const b = managedNode("b", "general");
    const pods = [testPod("web-1", "a", { annotations: { [key]: value } }), filler("x-1", "b")];
    const plan = disrupt(cluster([a, b], pods), cfg());
    assert.equal(verdict(plan, "a").disrupt, false, key);
    assert.equal(verdict(plan, "a").reason.code, "DoNotDisrupt");
    assert.ok(verdict(plan, "a").reason.message.includes(key));
  }
  const nodeKeys = [
    "proxscale.io/do-not-disrupt",
    "karpenter.sh/do-not-disrupt",
    "cluster-autoscaler.kubernetes.io/scale-down-disabled",
  ];
  for (const key of nodeKeys) {
    const a = managedNode("a", "general", { node: { annotations: { [key]: "true" } } });
    const plan = disrupt(cluster([a]), cfg());
    assert.equal(verdict(plan, "a").disrupt, false, key);
    assert.ok(verdict(plan, "a").reason.message.includes(key));
  }
});

Deno.test("a do-not-disrupt duration ends on its own", () => {
  const a = managedNode("a", "general");
  const b = managedNode("b", "general");
  const pods = [
    testPod("web-1", "a", {
      annotations: { "karpenter.sh/do-not-disrupt": "30m" },
      createdAt: T0 - 3_600_000,
    }),
    filler("x-1", "b"),
  ];
  const plan = disrupt(cluster([a, b], pods), cfg());
  assert.equal(verdict(plan, "a").disrupt, true);
});

Deno.test("Cluster Autoscaler's pod rules keep nodes by default and can be turned off", () => {
  const cases: [Partial<Pod>, keyof NonNullable<Config["settings"]["scaleDownRules"]>][] = [
    [{ namespace: "kube-system" }, "skipNodesWithSystemPods"],
    [{ localStorage: true }, "skipNodesWithLocalStorage"],
    [{ ownerKind: undefined as unknown as string }, "skipNodesWithUnmanagedPods"],
  ];
  for (const [over, rule] of cases) {
    const a = managedNode("a", "general");
    const b = managedNode("b", "general");
    const pod = testPod("web-1", "a", over);
    if (over.ownerKind === undefined && "ownerKind" in over) delete pod.ownerKind;
    const snap = cluster([a, b], [pod, filler("x-1", "b")]);
    const kept = disrupt(snap, cfg());
    assert.equal(verdict(kept, "a").reason.code, "PodNotEvictable", rule);
    assert.match(verdict(kept, "a").reason.message, new RegExp(rule));
    const config = cfg();
    config.settings.scaleDownRules = {
      skipNodesWithSystemPods: true,
      skipNodesWithLocalStorage: true,
      skipNodesWithUnmanagedPods: true,
      [rule]: false,
    };
    assert.equal(verdict(disrupt(snap, config), "a").disrupt, true, rule);
    // safe-to-evict: "true" lifts the rule for that pod.
    pod.annotations = { "cluster-autoscaler.kubernetes.io/safe-to-evict": "true" };
    assert.equal(verdict(disrupt(snap, cfg()), "a").disrupt, true, rule);
  }
});

Deno.test("a PodDisruptionBudget is spent across the nodes of one pass", () => {
  const nodes = ["a", "b", "c"].map((n) => managedNode(n, "general"));
  const pods = [testPod("web-1", "a"), testPod("web-2", "b"), filler("big-1", "c")];
  const pdbs = [{
    name: "web",
    namespace: "default",
    selector: { matchLabels: { app: "web" } },
    disruptionsAllowed: 1,
  }];
  const plan = disrupt(cluster(nodes, pods, { pdbs }), cfg());
  const webNodes = disrupted(plan).filter((n) => n === "a" || n === "b");
  assert.equal(webNodes.length, 1);
  const other = webNodes[0] === "a" ? "b" : "a";
  assert.equal(verdict(plan, other).reason.code, "PdbBlocked");

  const zero = disrupt(
    cluster(nodes, pods, { pdbs: [{ ...pdbs[0]!, disruptionsAllowed: 0 }] }),
    cfg(),
  );
  assert.equal(verdict(zero, "a").reason.code, "PdbBlocked");
  assert.equal(verdict(zero, "b").reason.code, "PdbBlocked");
});

Deno.test("budgets: counts, percentages rounded up, schedules and reasons", () => {
  const nodes = ["a", "b", "c", "d", "e"].map((n) => managedNode(n, "general"));
  const run = (budgets: Budget[]) =>
    disrupted(disrupt(cluster(nodes), cfg(poolWith({}, { budgets }))));
  assert.equal(run([{ nodes: "0" }]).length, 0);
  assert.equal(run([{ nodes: "2" }]).length, 2);
  assert.equal(run([{ nodes: "30%" }]).length, 2); // ceil(1.5)
  assert.equal(run([{ nodes: "100%" }, { nodes: "1", reasons: ["Empty"] }]).length, 1);
  assert.equal(run([{ nodes: "100%" }, { nodes: "0", reasons: ["Drifted"] }]).length, 5);
  // A window closed now does not apply; one open now does.
  assert.equal(
    run([{ nodes: "100%" }, { nodes: "0", schedule: "0 0 1 1 *", duration: 3_600_000 }]).length,
    5,
  );
  assert.equal(
    run([{ nodes: "100%" }, { nodes: "0", schedule: "0 8 * * *", duration: 3_600_000 }]).length,
    0,
  );
  // An invalid schedule fails closed.
  assert.equal(
    run([{ nodes: "100%" }, { nodes: "5", schedule: "61 * * * *", duration: 60_000 }]).length,
    0,
  );
  const plan = disrupt(cluster(nodes), cfg(poolWith({}, { budgets: [{ nodes: "1" }] })));
  assert.equal(plan.verdicts.filter((v) => v.reason.code === "BudgetExhausted").length, 4);
});

Deno.test("in-flight disruptions and NotReady nodes spend the budget", () => {
  const nodes = ["a", "b", "c"].map((n) => managedNode(n, "general"));
  nodes[0]!.claim.deleting = true;
  const plan = disrupt(cluster(nodes), cfg(poolWith({}, { budgets: [{ nodes: "2" }] })));
  assert.equal(disrupted(plan).length, 1);
  assert.equal(verdict(plan, "a").reason.code, "DisruptionInProgress");
});

Deno.test("minNodes is re-checked for each deletion", () => {
  const nodes = ["a", "b", "c"].map((n) => managedNode(n, "general"));
  const plan = disrupt(cluster(nodes), cfg(poolWith({ minNodes: 2 })));
  assert.equal(disrupted(plan).length, 1);
  assert.equal(plan.verdicts.filter((v) => v.reason.code === "MinNodes").length, 2);
});

Deno.test("scaleDown.maxConcurrent counts disruptions already in flight", () => {
  const nodes = ["a", "b", "c"].map((n) => managedNode(n, "general"));
  nodes[0]!.node.taints = [{ key: "proxscale.io/disrupted", effect: "NoSchedule" }];
  const pool = poolWith({
    scaleDown: { maxConcurrent: 2, drainTimeout: 600_000, stabilizationWindow: 0 },
  });
  const plan = disrupt(cluster(nodes), cfg(pool));
  assert.equal(disrupted(plan).length, 1);
  assert.ok(!disrupted(plan).includes("a"));
  assert.ok(plan.verdicts.some((v) => v.reason.code === "MaxConcurrentReached"));
});

Deno.test("a drifted node is replaced first, with its pods simulated", () => {
  const a = managedNode("a", "general", { drifted: true, shape: SMALL });
  const pods = [testPod("web-1", "a", { containers: [{ cpu: 1500, memory: 2 * GiB }] })];
  const plan = disrupt(cluster([a], pods), cfg(poolWith({}, { consolidationPolicy: "WhenEmpty" })));
  assert.equal(plan.commands.length, 1);
  const cmd = plan.commands[0]!;
  assert.equal(cmd.method, "Drift");
  assert.equal(cmd.reason.code, "Drifted");
  assert.equal(cmd.replacements.length, 1);
  assert.equal(cmd.evictions[0]!.to, cmd.replacements[0]!.name);
});

Deno.test("an expired node is replaced within the Expired budget", () => {
  const a = managedNode("a", "general", { createdAt: T0 - 800 * 3_600_000 });
  const b = managedNode("b", "general");
  const pods = [testPod("web-1", "a"), testPod("web-2", "b")];
  const pool = poolWith({}, {
    expireAfter: 720 * 3_600_000,
    consolidationPolicy: "WhenEmpty",
    budgets: [{ nodes: "100%" }],
  });
  const plan = disrupt(cluster([a, b], pods), cfg(pool));
  assert.equal(plan.commands[0]?.method, "Expiration");
  assert.equal(plan.commands[0]?.reason.code, "Expired");
  const blocked = disrupt(
    cluster([a, b], pods),
    cfg({
      ...pool,
      disruption: { ...pool.disruption, budgets: [{ nodes: "0", reasons: ["Expired"] }] },
    }),
  );
  assert.deepEqual(blocked.commands, []);
  assert.equal(verdict(blocked, "a").reason.code, "BudgetExhausted");
  assert.match(verdict(blocked, "a").reason.message, /Expired/);
});

Deno.test("several underused nodes consolidate in one multi-node command", () => {
  const nodes = ["a", "b", "c", "d"].map((n) => managedNode(n, "general"));
  const pods = nodes.map((n, i) =>
    testPod(`web-${i}`, n.node.name, { containers: [{ cpu: 600, memory: 1 * GiB }] })
  );
  const plan = disrupt(cluster(nodes, pods), cfg());
  const multi = plan.commands.find((c) => c.method === "MultiNodeConsolidation");
  assert.ok(multi, JSON.stringify(plan.commands.map((c) => c.method)));
  assert.ok(multi.candidates.length >= 2);
  assert.ok(multi.replacements.length <= 1);
  // Every pod of every removed node has a destination that is not itself removed.
  const gone = new Set(disrupted(plan));
  for (const cmd of plan.commands) for (const e of cmd.evictions) assert.ok(!gone.has(e.to));
});

Deno.test("nodes being disrupted already are never picked again", () => {
  const a = managedNode("a", "general", { claim: { deleting: true } });
  const b = managedNode("b", "general", {
    node: { taints: [{ key: "proxscale.io/disrupted", effect: "NoSchedule" }] },
  });
  const plan = disrupt(cluster([a, b]), cfg());
  assert.deepEqual(plan.commands, []);
  assert.equal(verdict(plan, "a").reason.code, "DisruptionInProgress");
  assert.equal(verdict(plan, "b").reason.code, "DisruptionInProgress");
});

Deno.test("pods do not move onto a node with no room; DaemonSet pods do not count", () => {
  const a = managedNode("a", "general", { shape: SMALL });
  const b = managedNode("b", "general", { shape: SMALL });
  const pods = [
    testPod("web-1", "a", { containers: [{ cpu: 1500, memory: 3 * GiB }] }),
    testPod("web-2", "b", { containers: [{ cpu: 1500, memory: 3 * GiB }] }),
    testPod("ds-1", "a", { ownerKind: "DaemonSet", containers: [{ cpu: 10, memory: 10 * MiB }] }),
  ];
  const plan = disrupt(cluster([a, b], pods), cfg());
  assert.deepEqual(plan.commands, []);
  assert.equal(plan.verdicts.length, 2);
});

Deno.test("room promised to pending pods is not given to consolidation, and their node stays", () => {
  const a = managedNode("a", "general");
  const b = managedNode("b", "general");
  const pods = [
    testPod("web-1", "a"),
    filler("db-1", "b"),
    // Pending and pinned to b: it takes 800m of b's last 900m.
    testPod("job-1", undefined, {
      unschedulable: true,
      nodeSelector: { "kubernetes.io/hostname": "b" },
      containers: [{ cpu: 800, memory: 512 * MiB }],
    }),
  ];
  const noNewVm = cfg(poolWith({ limits: { nodes: 2 } }));
  const plan = disrupt(cluster([a, b], pods), noNewVm);
  assert.equal(verdict(plan, "b").disrupt, false);
  assert.match(verdict(plan, "b").reason.message, /about to receive 1 pending pod/);
  // Without the reservation web-1 (500m) would move into b's room and a would go.
  assert.equal(verdict(plan, "a").disrupt, false, JSON.stringify(plan.commands));
  const without = disrupt(cluster([a, b], pods.slice(0, 2)), noNewVm);
  assert.equal(verdict(without, "a").disrupt, true);
});
