/**
 * Invariants of the provisioning decision over generated clusters (fast-check, 1000 runs each).
 * Each check recomputes the fact from the plan and the input, not from the planner's internals.
 */
import fc from "fast-check";
import assert from "node:assert/strict";
import { provision, type ProvisionPlan } from "./provisioning.ts";
import { type Cluster, clusterArb } from "./testing/cluster_arbitrary.ts";
import { podRequests } from "./pod_requests.ts";
import { allocatable, cheapestShape } from "./shapes.ts";
import { footprint, poolUsage } from "./limits.ts";
import { untoleratedTaint } from "./taints.ts";
import { matchesNodeConstraints, matchesSelector } from "./requirements.ts";
import { hostLimit } from "./placement.ts";
import { podKey } from "./model.ts";
import type { Pod, Resources } from "./model.ts";
import { isClaimReady } from "./claim_state.ts";

const RUNS = { numRuns: 1000 };

function podsByKey(c: Cluster): Map<string, Pod> {
  return new Map(c.snapshot.pods.map((p) => [podKey(p), p]));
}

function dsOverhead(c: Cluster): Resources {
  let cpu = 0;
  let memory = 0;
  for (const d of c.snapshot.daemonSets ?? []) {
    const r = podRequests(d);
    cpu += r.cpu;
    memory += r.memory;
  }
  return { cpu, memory };
}

Deno.test("pool limits are never exceeded, VM memory overhead included", () => {
  fc.assert(
    fc.property(clusterArb(), (c) => {
      const plan = provision(c.snapshot, c.config);
      const templates = new Map(c.config.machineTemplates.map((t) => [t.name, t]));
      for (const pool of c.config.nodePools) {
        const before = poolUsage(pool, c.snapshot.nodeClaims, templates);
        const t = templates.get(pool.machineTemplate)!;
        const mine = plan.claims.filter((x) => x.nodePool === pool.name);
        if (mine.length === 0) continue;
        let cpu = before.cpu;
        let memory = before.memory;
        for (const x of mine) {
          const f = footprint(x.shape, t);
          cpu += f.cpu;
          memory += f.memory;
        }
        if (pool.limits.cpu !== undefined) {
          assert.ok(cpu <= pool.limits.cpu, `${pool.name} cpu ${cpu} > ${pool.limits.cpu}`);
        }
        if (pool.limits.memory !== undefined) {
          assert.ok(
            memory <= pool.limits.memory,
            `${pool.name} memory ${memory} > ${pool.limits.memory}`,
          );
        }
        if (pool.limits.nodes !== undefined) {
          assert.ok(before.nodes + mine.length <= pool.limits.nodes);
        }
      }
    }),
    RUNS,
  );
});

Deno.test("hosts are never committed beyond their overcommit ratio", () => {
  fc.assert(
    fc.property(clusterArb(), (c) => {
      const plan = provision(c.snapshot, c.config);
      const templates = new Map(c.config.machineTemplates.map((t) => [t.name, t]));
      for (const h of c.snapshot.hosts) {
        const limit = hostLimit(h);
        let cpu = h.committed.cpu;
        let memory = h.committed.memory;
        const mine = plan.claims.filter((x) => x.host === h.name);
        for (const x of mine) {
          const f = footprint(x.shape, templates.get(x.machineTemplate)!);
          cpu += f.cpu;
          memory += f.memory;
        }
        if (mine.length) {
          assert.ok(cpu <= limit.cpu && memory <= limit.memory, `host ${h.name} overcommitted`);
        }
      }
    }),
    RUNS,
  );
});

Deno.test("every pod placed on a claim fits it: resources, taints, requirements, anti-affinity, spread", () => {
  fc.assert(
    fc.property(clusterArb(), (c) => {
      const plan = provision(c.snapshot, c.config);
      const pods = podsByKey(c);
      const templates = new Map(c.config.machineTemplates.map((t) => [t.name, t]));
      const ds = dsOverhead(c);
      const claimOf = new Map<string, string>();
      for (const x of plan.claims) {
        const t = templates.get(x.machineTemplate)!;
        const alloc = allocatable(t, x.shape);
        let cpu = ds.cpu;
        let memory = ds.memory;
        for (const k of x.pods) {
          const p = pods.get(k)!;
          claimOf.set(k, x.name);
          const r = podRequests(p);
          cpu += r.cpu;
          memory += r.memory;
          assert.equal(
            untoleratedTaint(x.taints, p.tolerations),
            undefined,
            `${k} does not tolerate ${x.name}`,
          );
          assert.ok(
            matchesNodeConstraints(x.labels, p.nodeSelector, p.requiredNodeAffinity),
            `${k} selector vs ${x.name}`,
          );
        }
        assert.ok(
          cpu <= alloc.cpu && memory <= alloc.memory,
          `${x.name} holds more than its allocatable`,
        );
      }
      // Anti-affinity and spread, judged over every pod's final node (existing, launching or new).
      const labelsOf = new Map<string, Record<string, string>>();
      for (const n of c.snapshot.nodes) labelsOf.set(n.name, n.labels);
      for (const x of c.snapshot.nodeClaims) labelsOf.set(x.name, x.labels);
      for (const x of plan.claims) labelsOf.set(x.name, x.labels);
      const where = new Map<string, Record<string, string>>();
      for (const p of c.snapshot.pods) {
        if (p.nodeName) where.set(podKey(p), labelsOf.get(p.nodeName)!);
      }
      for (const pl of plan.placements) where.set(pl.pod, labelsOf.get(pl.target)!);
      for (const [k, name] of claimOf) where.set(k, labelsOf.get(name)!);
      for (const [k, labels] of where) {
        const p = pods.get(k)!;
        for (const term of p.requiredPodAntiAffinity ?? []) {
          const d = labels[term.topologyKey];
          if (d === undefined) continue;
          for (const [k2, l2] of where) {
            if (k2 === k) continue;
            const q = pods.get(k2)!;
            if (
              q.namespace === p.namespace && l2[term.topologyKey] === d &&
              matchesSelector(q.labels, term.labelSelector)
            ) {
              // Only pods placed by this plan are its responsibility.
              assert.ok(
                !claimOf.has(k) && !claimOf.has(k2) && !isPlaced(plan, k) && !isPlaced(plan, k2),
                `${k} and ${k2} share ${d}`,
              );
            }
          }
        }
        for (const s of p.topologySpreadConstraints ?? []) {
          if (s.topologyKey !== "kubernetes.io/hostname" || !(claimOf.has(k))) continue;
          const loose = [...where.keys()].some((k2) => {
            const q = pods.get(k2)!;
            return q.labels?.app === p.labels?.app &&
              !(q.topologySpreadConstraints ?? []).some((x) => x.topologyKey === s.topologyKey);
          });
          if (loose) continue;
          let n = 0;
          for (const [k2, l2] of where) {
            const q = pods.get(k2)!;
            if (
              q.namespace === p.namespace && l2[s.topologyKey] === labels[s.topologyKey] &&
              matchesSelector(q.labels, s.labelSelector)
            ) n++;
          }
          assert.ok(
            n <= s.maxSkew,
            `${k}: ${n} matching pods on one new node, maxSkew ${s.maxSkew}`,
          );
        }
      }
      // Zone spread: among zones the pods could use, placed matching pods differ by at most maxSkew.
      const zones = new Set<string>([
        ...c.snapshot.hosts.filter((h) => h.online).map((h) => h.zone),
        ...c.snapshot.nodes.map((n) => n.labels["topology.kubernetes.io/zone"]!),
        ...c.snapshot.nodeClaims.map((x) => x.labels["topology.kubernetes.io/zone"]!),
      ]);
      const groups = new Map<string, Map<string, number>>();
      for (const [k, labels] of where) {
        const p = pods.get(k)!;
        const s = (p.topologySpreadConstraints ?? []).find((x) =>
          x.topologyKey === "topology.kubernetes.io/zone"
        );
        if (!s || !p.labels) continue;
        const g = groups.get(p.labels.app!) ?? new Map<string, number>();
        groups.set(p.labels.app!, g);
        const z = labels["topology.kubernetes.io/zone"]!;
        g.set(z, (g.get(z) ?? 0) + 1);
      }
      for (const [app, g] of groups) {
        // A pod with the same label but no constraint may land anywhere (kube-scheduler agrees):
        // the bound holds only for groups whose every member carries the constraint.
        const unconstrained = [...where.keys()].some((k) => {
          const q = pods.get(k)!;
          return q.labels?.app === app &&
            !(q.topologySpreadConstraints ?? []).some((x) =>
              x.topologyKey === "topology.kubernetes.io/zone"
            );
        });
        if (unconstrained) continue;
        const counts = [...zones].map((z) => g.get(z) ?? 0);
        assert.ok(
          Math.max(...counts) - Math.min(...counts) <= 1,
          `zone spread of app ${app}: ${counts.join(",")}`,
        );
      }
    }),
    RUNS,
  );
});

function isPlaced(plan: ProvisionPlan, k: string): boolean {
  return plan.placements.some((p) => p.pod === k);
}

Deno.test("batchSize and maxConcurrent are respected per pool", () => {
  fc.assert(
    fc.property(clusterArb(), (c) => {
      const plan = provision(c.snapshot, c.config);
      for (const pool of c.config.nodePools) {
        const opened = plan.claims.filter((x) => x.nodePool === pool.name).length;
        const inFlight = c.snapshot.nodeClaims.filter((x) =>
          x.nodePool === pool.name && !isClaimReady(x)
        ).length;
        assert.ok(opened <= pool.scaleUp.batchSize, `${pool.name} opened ${opened} > batchSize`);
        assert.ok(
          opened === 0 || inFlight + opened <= pool.scaleUp.maxConcurrent,
          `${pool.name} exceeds maxConcurrent`,
        );
      }
    }),
    RUNS,
  );
});

function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function canonical(plan: ProvisionPlan) {
  return {
    claims: [...plan.claims].sort((a, b) => (a.name < b.name ? -1 : 1)),
    placements: [...plan.placements].sort((a, b) => (a.pod < b.pod ? -1 : 1)),
    unhelped: [...plan.unhelped].sort((a, b) => (a.pod < b.pod ? -1 : 1)),
  };
}

Deno.test("determinism: same input gives the same plan, shuffled input an equivalent one", () => {
  fc.assert(
    fc.property(clusterArb(), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (c, seed) => {
      const a = provision(c.snapshot, c.config);
      const b = provision(structuredClone(c.snapshot), structuredClone(c.config));
      assert.deepEqual(a, b);
      const s = c.snapshot;
      const mixed = {
        ...s,
        pods: shuffled(s.pods, seed),
        nodes: shuffled(s.nodes, seed + 1),
        hosts: shuffled(s.hosts, seed + 2),
        nodeClaims: shuffled(s.nodeClaims, seed + 3),
      };
      const config = { ...c.config, nodePools: shuffled(c.config.nodePools, seed + 4) };
      assert.deepEqual(canonical(provision(mixed, config)), canonical(a));
    }),
    RUNS,
  );
});

Deno.test("no claim is opened for a pod that fits existing or launching capacity", () => {
  fc.assert(
    fc.property(clusterArb(), (c) => {
      const plan = provision(c.snapshot, c.config);
      const pods = podsByKey(c);
      // Free capacity left on existing nodes after the plan's own placements.
      const free = new Map<string, Resources>();
      for (const n of c.snapshot.nodes) free.set(n.name, { ...n.allocatable });
      for (const p of c.snapshot.pods) {
        if (!p.nodeName) continue;
        const f = free.get(p.nodeName)!;
        const r = podRequests(p);
        f.cpu -= r.cpu;
        f.memory -= r.memory;
      }
      for (const pl of plan.placements) {
        const f = free.get(pl.target);
        if (!f) continue;
        const r = podRequests(pods.get(pl.pod)!);
        f.cpu -= r.cpu;
        f.memory -= r.memory;
      }
      const repelled = new Set(
        c.snapshot.pods.filter((p) => p.requiredPodAntiAffinity?.length).map((p) =>
          p.labels?.app ?? ""
        ),
      );
      for (const x of plan.claims) {
        for (const k of x.pods) {
          const p = pods.get(k)!;
          if (p.requiredPodAntiAffinity?.length || p.topologySpreadConstraints?.length) continue;
          // Another pod's anti-affinity may forbid this one a node (the rule holds both ways).
          if (repelled.has(p.labels?.app ?? "")) continue;
          const r = podRequests(p);
          for (const n of c.snapshot.nodes) {
            const f = free.get(n.name)!;
            const fits = f.cpu >= r.cpu && f.memory >= r.memory &&
              !untoleratedTaint(n.taints, p.tolerations) &&
              matchesNodeConstraints(n.labels, p.nodeSelector, p.requiredNodeAffinity, n.name);
            assert.ok(!fits, `${k} got claim ${x.name} but fits node ${n.name}`);
          }
        }
      }
    }),
    RUNS,
  );
});

Deno.test("every claim holds a pod, and its shape is the cheapest allowed one that holds them", () => {
  fc.assert(
    fc.property(clusterArb(), (c) => {
      const plan = provision(c.snapshot, c.config);
      const pods = podsByKey(c);
      const templates = new Map(c.config.machineTemplates.map((t) => [t.name, t]));
      const ds = dsOverhead(c);
      for (const x of plan.claims) {
        assert.ok(x.pods.length >= 1, `${x.name} holds no pod`);
        const need = { ...ds };
        for (const k of x.pods) {
          const r = podRequests(pods.get(k)!);
          need.cpu += r.cpu;
          need.memory += r.memory;
        }
        const t = templates.get(x.machineTemplate)!;
        assert.equal(x.shape.name, cheapestShape(t, need, c.config.settings.cost)?.name);
        assert.ok(x.reason.message.length > 0);
      }
      for (const u of plan.unhelped) {
        assert.ok(u.reason.message.length > 0, `${u.pod} has no reason`);
      }
    }),
    RUNS,
  );
});
