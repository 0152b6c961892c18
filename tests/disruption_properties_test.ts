/**
 * Properties of the disruption core in generated clusters (core/testing/arbitraries.ts): small
 * pools with budgets (counts, percentages, open, closed and invalid schedules), minNodes,
 * maxConcurrent, PDBs, every do-not-disrupt spelling, CA pod rules, drifted and in-flight nodes.
 * Each property re-derives its rule independently of core/disruption.ts; consolidation is checked
 * by re-running placement of every evicted pod with core/provisioning.ts.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { disrupt, type DisruptionPlan } from "../core/disruption.ts";
import type {
  Config,
  Node,
  NodeClaim,
  NodePool,
  Pod,
  ScaleDownRules,
  Snapshot,
} from "../core/model.ts";
import { podKey } from "../core/model.ts";
import { provision } from "../core/provisioning.ts";
import { matchesSelector } from "../core/requirements.ts";
import { disruptionWorld, T0 } from "../core/testing/arbitraries.ts";

const RUNS = { numRuns: 1000 };

const DND_POD_KEYS = ["proxscale.io/do-not-disrupt", "karpenter.sh/do-not-disrupt"];
const DND_NODE_KEYS = [
  "proxscale.io/do-not-disrupt",
  "karpenter.sh/do-not-disrupt",
  "cluster-autoscaler.kubernetes.io/scale-down-disabled",
];

function claimNode(snap: Snapshot, c: NodeClaim): Node | undefined {
  return snap.nodes.find((n) => n.name === c.nodeName);
}

function disrupting(snap: Snapshot, c: NodeClaim): boolean {
  const n = claimNode(snap, c);
  return c.deleting === true || n?.deleting === true ||
    (n?.taints ?? []).some((t) => t.key === "proxscale.io/disrupted");
}

function initialized(c: NodeClaim): boolean {
  return c.conditions.some((x) =>
    (x.type === "Initialized" || x.type === "Ready") &&
    x.status === "True"
  );
}

/** Pods that must move when their node goes (what an eviction touches). */
function evictedFrom(snap: Snapshot, node: string): Pod[] {
  return snap.pods.filter((p) =>
    p.nodeName === node && !p.deleting && p.phase !== "Succeeded" && p.phase !== "Failed" &&
    p.ownerKind !== "DaemonSet" && p.ownerKind !== "Node"
  );
}

function protectedPod(p: Pod): boolean {
  const a = p.annotations ?? {};
  for (const k of DND_POD_KEYS) {
    const v = a[k];
    if (v === undefined || v === "false") continue;
    if (v === "30m") {
      if (T0 < p.createdAt + 30 * 60_000) return true;
      continue;
    }
    return true; // "true" or anything unparsable
  }
  return a["cluster-autoscaler.kubernetes.io/safe-to-evict"] === "false";
}

function ruleBlocks(p: Pod, rules: ScaleDownRules, covered: boolean): boolean {
  if (p.annotations?.["cluster-autoscaler.kubernetes.io/safe-to-evict"] === "true") return false;
  return (rules.skipNodesWithUnmanagedPods && !p.ownerKind) ||
    (rules.skipNodesWithLocalStorage && p.localStorage === true) ||
    (rules.skipNodesWithSystemPods && p.namespace === "kube-system" && !covered);
}

function removedNodes(plan: DisruptionPlan): string[] {
  return plan.commands.flatMap((c) => c.candidates.map((n) => n.node));
}

Deno.test("no pod is evicted against its PDB, a do-not-disrupt annotation or a CA pod rule", () => {
  fc.assert(
    fc.property(disruptionWorld(), ({ snapshot, config, state }) => {
      const plan = disrupt(snapshot, config, state);
      const rules = config.settings.scaleDownRules!;
      const spent = new Map<string, number>();
      for (const name of removedNodes(plan)) {
        const node = snapshot.nodes.find((n) => n.name === name)!;
        for (const k of DND_NODE_KEYS) assert.notEqual(node.annotations?.[k], "true", k);
        const here = new Map<string, number>();
        for (const p of evictedFrom(snapshot, name)) {
          assert.ok(!protectedPod(p), `evicted protected pod ${podKey(p)}`);
          const pdbs = snapshot.pdbs.filter((b) =>
            b.namespace === p.namespace && matchesSelector(p.labels, b.selector)
          );
          assert.ok(!ruleBlocks(p, rules, pdbs.length > 0), `rule keeps ${podKey(p)}`);
          assert.ok(pdbs.length <= 1, `pod ${podKey(p)} has ${pdbs.length} PDBs`);
          for (const b of pdbs) {
            // A budget is entered only while it allows an eviction now (the drain is paced).
            assert.ok(
              (spent.get(b.name) ?? 0) < b.disruptionsAllowed,
              `PDB ${b.name} allowed no eviction when node ${name} was chosen`,
            );
            here.set(b.name, (here.get(b.name) ?? 0) + 1);
          }
        }
        for (const [b, n] of here) spent.set(b, (spent.get(b) ?? 0) + n);
      }
    }),
    RUNS,
  );
});

/** Independent budget rule: schedules in the generator are open ("* * * * *"), closed or invalid. */
function budgetLimit(pool: NodePool, reason: string, total: number): number {
  let min = Infinity;
  for (const b of pool.disruption.budgets) {
    if (b.reasons && !b.reasons.includes(reason as never)) continue;
    let n: number;
    if (b.schedule === "0 0 1 1 *") continue;
    if (b.schedule === "not a cron") n = 0;
    else if (b.nodes.endsWith("%")) n = Math.ceil(total * Number(b.nodes.slice(0, -1)) / 100);
    else n = Number(b.nodes);
    min = Math.min(min, n);
  }
  return min;
}

Deno.test("budgets and scaleDown.maxConcurrent are never exceeded", () => {
  fc.assert(
    fc.property(disruptionWorld(), ({ snapshot, config, state }) => {
      const plan = disrupt(snapshot, config, state);
      const deleted = new Map<string, number>();
      for (const cmd of plan.commands) {
        const per = new Map<string, number>();
        for (const n of cmd.candidates) per.set(n.nodePool, (per.get(n.nodePool) ?? 0) + 1);
        for (const [poolName, k] of per) {
          const pool = config.nodePools.find((p) => p.name === poolName)!;
          const claims = snapshot.nodeClaims.filter((c) => c.nodePool === poolName);
          const busy = claims.filter((c) => disrupting(snapshot, c)).length;
          const steady = claims.filter((c) => !disrupting(snapshot, c) && initialized(c));
          const notReady = steady.filter((c) => claimNode(snapshot, c)?.ready === false).length;
          const total = steady.length;
          const before = deleted.get(poolName) ?? 0;
          assert.ok(
            busy + before + k <= pool.scaleDown.maxConcurrent,
            `maxConcurrent ${pool.scaleDown.maxConcurrent} < ${busy}+${before}+${k}`,
          );
          const allowed = Math.max(0, budgetLimit(pool, cmd.reason.code, total) - busy - notReady);
          assert.ok(before + k <= allowed, `${cmd.reason.code} budget ${allowed} < ${before}+${k}`);
          deleted.set(poolName, before + k);
        }
      }
    }),
    RUNS,
  );
});

Deno.test("no pool goes below minNodes", () => {
  fc.assert(
    fc.property(disruptionWorld(), ({ snapshot, config, state }) => {
      const plan = disrupt(snapshot, config, state);
      for (const pool of config.nodePools) {
        const live = snapshot.nodeClaims.filter((c) =>
          c.nodePool === pool.name && !disrupting(snapshot, c)
        ).length;
        let after = live;
        for (const cmd of plan.commands) {
          after -= cmd.candidates.filter((n) => n.nodePool === pool.name).length;
          after += cmd.replacements.filter((r) => r.nodePool === pool.name).length;
        }
        assert.ok(after >= Math.min(pool.minNodes, live), `${pool.name}: ${live} -> ${after}`);
      }
    }),
    RUNS,
  );
});

/**
 * Replays the plan command by command with the provisioning core: the evicted pods become
 * pending, the removed nodes are gone, the replacements are launching claims, and no new VM
 * may be opened. Every evicted pod must find a place.
 */
function replay(snapshot: Snapshot, config: Config, plan: DisruptionPlan): string | undefined {
  const noNewVms: Config = {
    ...config,
    nodePools: config.nodePools.map((p) => ({ ...p, minNodes: 0, limits: { nodes: 0 } })),
  };
  const gone = new Set<string>();
  const claims: NodeClaim[] = [...snapshot.nodeClaims];
  let pods = snapshot.pods;
  for (const cmd of plan.commands) {
    for (const n of cmd.candidates) gone.add(n.node);
    for (const r of cmd.replacements) {
      claims.push({
        name: r.name,
        nodePool: r.nodePool,
        machineTemplate: r.machineTemplate,
        provider: r.provider,
        shape: r.shape,
        host: r.host,
        createdAt: T0,
        labels: r.labels,
        taints: r.taints,
        startupTaints: r.startupTaints,
        conditions: [],
      });
    }
    const moving = new Set(cmd.evictions.map((e) => e.uid));
    pods = pods.map((p) => {
      if (!moving.has(p.uid)) return p;
      const { nodeName: _, ...rest } = p;
      return { ...rest, phase: "Pending", unschedulable: true, pendingSince: T0 };
    });
    // Not-ready and cordoned nodes take no pods from kube-scheduler either.
    const nodes = snapshot.nodes.map((n) =>
      gone.has(n.name) ? { ...n, deleting: true } : n.ready ? n : { ...n, unschedulable: true }
    );
    const check = provision({ ...snapshot, nodes, nodeClaims: claims, pods }, noNewVms);
    const stuck = check.unhelped.find((u) => cmd.evictions.some((e) => e.pod === u.pod));
    if (stuck) return `${cmd.method}: ${stuck.pod} unschedulable: ${stuck.reason.message}`;
    // Bind the pods where the check put them, so the next command sees them there.
    const to = new Map(check.placements.map((pl) => [pl.pod, pl]));
    pods = pods.map((p) => {
      const pl = moving.has(p.uid) ? to.get(podKey(p)) : undefined;
      if (!pl) return p;
      return { ...p, nodeName: pl.target, phase: "Running", unschedulable: false };
    });
    // Pods bound to a launching claim use that claim's room: shrink it by binding a node.
    for (const c of claims) {
      if (c.nodeName !== undefined || !pods.some((p) => p.nodeName === c.name)) continue;
      const i = claims.indexOf(c);
      const t = config.machineTemplates.find((x) => x.name === c.machineTemplate);
      claims[i] = { ...c, nodeName: c.name };
      snapshot = {
        ...snapshot,
        nodes: [...snapshot.nodes, {
          name: c.name,
          labels: c.labels,
          taints: c.taints,
          allocatable: {
            cpu: c.shape.cpu - (t?.reserved.cpu ?? 0),
            memory: c.shape.memory - (t?.reserved.memory ?? 0),
            pods: t?.maxPods ?? 110,
          },
          ready: true,
          createdAt: T0,
        }],
      };
    }
  }
  return undefined;
}

Deno.test("consolidation never leaves a pod that was running unschedulable", () => {
  fc.assert(
    fc.property(disruptionWorld(), ({ snapshot, config, state }) => {
      const plan = disrupt(snapshot, config, state);
      const problem = replay(snapshot, config, plan);
      assert.equal(problem, undefined);
      // And the plan's own destinations are never nodes it removes.
      const gone = new Set(removedNodes(plan));
      for (const cmd of plan.commands) {
        for (const e of cmd.evictions) assert.ok(!gone.has(e.to), `${e.pod} -> removed ${e.to}`);
      }
    }),
    RUNS,
  );
});

Deno.test("no node is disrupted twice at once, across passes too", () => {
  fc.assert(
    fc.property(disruptionWorld(), ({ snapshot, config, state }) => {
      const plan = disrupt(snapshot, config, state);
      const names = plan.commands.flatMap((c) => c.candidates.map((n) => n.nodeClaim));
      assert.equal(new Set(names).size, names.length, "a NodeClaim in two commands");
      for (const n of names) {
        const c = snapshot.nodeClaims.find((x) => x.name === n)!;
        assert.ok(!disrupting(snapshot, c), `${n} was already being disrupted`);
      }
      // Every NodeClaim gets exactly one verdict.
      assert.deepEqual(
        plan.verdicts.map((v) => v.nodeClaim),
        snapshot.nodeClaims.map((c) => c.name).sort(),
      );
      // The next pass, with the chosen nodes tainted as termination does, picks none of them.
      const taken = new Set(names);
      const next: Snapshot = {
        ...snapshot,
        now: snapshot.now + 10_000,
        nodes: snapshot.nodes.map((n) =>
          plan.commands.some((c) => c.candidates.some((x) => x.node === n.name))
            ? {
              ...n,
              taints: [...(n.taints ?? []), {
                key: "proxscale.io/disrupted",
                effect: "NoSchedule" as const,
              }],
            }
            : n
        ),
      };
      const again = disrupt(next, config, plan.state);
      for (const cmd of again.commands) {
        for (const n of cmd.candidates) assert.ok(!taken.has(n.nodeClaim), `${n.nodeClaim} again`);
      }
    }),
    RUNS,
  );
});

Deno.test("disrupt is pure: the same inputs give the same plan and are left unchanged", () => {
  fc.assert(
    fc.property(disruptionWorld(), ({ snapshot, config, state }) => {
      const before = JSON.stringify([snapshot, config, state]);
      const a = disrupt(snapshot, config, state);
      assert.equal(JSON.stringify([snapshot, config, state]), before, "inputs were modified");
      const shuffled: Snapshot = {
        ...snapshot,
        nodes: [...snapshot.nodes].reverse(),
        nodeClaims: [...snapshot.nodeClaims].reverse(),
        pods: [...snapshot.pods].reverse(),
      };
      const b = disrupt(shuffled, config, state);
      assert.deepEqual(b, a);
    }),
    RUNS,
  );
});

/** A generated world where some untainted nodes belong to a command still waiting on a VM. */
function withHeld() {
  return fc.tuple(disruptionWorld(), fc.array(fc.boolean(), { maxLength: 8 })).map(
    ([w, mask]) => {
      const held = w.snapshot.nodeClaims.filter((c, i) =>
        mask[i] === true && !disrupting(w.snapshot, c)
      ).map((c) => c.name);
      if (held.length === 0) return { ...w, held };
      const pool = w.config.nodePools[0]!;
      const shape = w.config.machineTemplates[0]!.shapes[1]!;
      // The replacement those nodes wait for: a launching NodeClaim without a Node.
      const replacement: NodeClaim = {
        name: "replacement-0",
        nodePool: pool.name,
        machineTemplate: pool.machineTemplate,
        provider: "pve",
        shape,
        host: "pve1",
        createdAt: T0 - 10_000,
        labels: {},
        taints: [],
        startupTaints: [],
        conditions: [],
      };
      return {
        snapshot: { ...w.snapshot, nodeClaims: [...w.snapshot.nodeClaims, replacement] },
        config: w.config,
        state: {
          ...w.state,
          inFlight: [{ nodeClaims: held, replacements: [replacement.name], since: T0 - 10_000 }],
        },
        held,
      };
    },
  );
}

/**
 * The pods of nodes already being disrupted (tainted, deleting, or held by a command in flight)
 * go first, placed by the provisioning core on the room of the other nodes, as kube-scheduler
 * will place them when their drain evicts them. Pods that find no room there would get a new
 * VM, which takes no existing room; they leave the snapshot.
 */
function leavingFirst(snapshot: Snapshot, config: Config, held: readonly string[]): Snapshot {
  const leaving = new Set(
    snapshot.nodeClaims.filter((c) => disrupting(snapshot, c) || held.includes(c.name))
      .map((c) => c.nodeName),
  );
  for (const n of snapshot.nodes) {
    if (n.deleting || (n.taints ?? []).some((t) => t.key === "proxscale.io/disrupted")) {
      leaving.add(n.name);
    }
  }
  const moving = new Set<Pod>();
  for (const name of leaving) {
    if (name) {
      for (const p of evictedFrom(snapshot, name)) moving.add(p);
    }
  }
  const nodes = snapshot.nodes.map((n) => leaving.has(n.name) ? { ...n, unschedulable: true } : n);
  const pods = snapshot.pods.map((p): Pod => {
    if (!moving.has(p)) return p;
    const { nodeName: _, ...rest } = p;
    return { ...rest, phase: "Pending", unschedulable: true, pendingSince: T0 };
  });
  const noNewVms: Config = {
    ...config,
    nodePools: config.nodePools.map((p) => ({ ...p, minNodes: 0, limits: { nodes: 0 } })),
  };
  const plan = provision({ ...snapshot, nodes, pods }, noNewVms);
  const to = new Map(
    plan.placements.filter((pl) => pl.kind === "node").map((pl) => [pl.pod, pl.target]),
  );
  const placed: Pod[] = [];
  for (const p of pods) {
    if (!moving.has(snapshot.pods[pods.indexOf(p)]!)) placed.push(p);
    else if (to.has(podKey(p))) {
      placed.push({ ...p, nodeName: to.get(podKey(p))!, phase: "Running" });
    }
  }
  // Launching claims only matter to pending pods; consolidation never counts on them.
  const nodeClaims = snapshot.nodeClaims.filter((c) =>
    c.nodeName !== undefined || c.providerID !== undefined
  );
  return { ...snapshot, nodes, pods: placed, nodeClaims };
}

Deno.test("evicted pods still fit once the pods of nodes already being disrupted have their room", () => {
  let exercised = 0;
  fc.assert(
    fc.property(withHeld(), ({ snapshot, config, state, held }) => {
      const plan = disrupt(snapshot, config, state);
      const taken = new Set(held);
      for (const cmd of plan.commands) {
        for (const n of cmd.candidates) assert.ok(!taken.has(n.nodeClaim), `${n.nodeClaim} again`);
      }
      const first = leavingFirst(snapshot, config, held);
      if (first.pods.length !== snapshot.pods.length || held.length > 0) exercised += 1;
      assert.equal(replay(first, config, plan), undefined);
    }),
    RUNS,
  );
  // The generator must produce worlds with disruptions under way for this to mean anything.
  assert.ok(exercised > RUNS.numRuns / 4, `only ${exercised} worlds had disruptions under way`);
});
