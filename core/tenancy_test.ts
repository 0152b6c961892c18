import assert from "node:assert/strict";
import fc from "fast-check";
import { provision } from "./provisioning.ts";
import { disrupt } from "./disruption.ts";
import type { NodePool, Pod, Tenant } from "./model.ts";
import { GiB } from "./quantity.ts";
import { managedNode, snapshotOf, testConfig, testPod, testPool } from "./testing/arbitraries.ts";
import { poolRefusesNamespace, tenancyLabels, tenancyTaint } from "./tenancy.ts";
import { claimUsage, tenantUsages } from "./tenant_quota.ts";

/** A pool as the configuration loader makes it: owner, label and NoSchedule taint. */
function tenantPool(name: string, tenant: string, shared = false, over: Partial<NodePool> = {}) {
  const tenancy = { tenant, shared };
  return testPool(name, {
    tenancy,
    labels: tenancyLabels(tenancy),
    taints: [tenancyTaint(tenancy)],
    ...over,
  });
}

const tenant = (name: string, ns: string[], over: Partial<Tenant> = {}): Tenant => ({
  name,
  namespaces: ns,
  quota: {},
  sharing: [],
  ...over,
});

/** A pending pod of `namespace` tolerating the taints of the given (key, tenant) pairs. */
function pendingPod(name: string, namespace: string, tolerate: [string, string][] = []): Pod {
  return testPod(name, undefined, {
    namespace,
    unschedulable: true,
    tolerations: tolerate.map(([key, value]) => ({
      key,
      operator: "Equal" as const,
      value,
      effect: "NoSchedule" as const,
    })),
  });
}

const TEAMS = [tenant("team-a", ["a"]), tenant("team-b", ["b"])];
const POOLS = [tenantPool("pool-a", "team-a"), tenantPool("pool-b", "team-b")];

Deno.test("a tenant's pool makes no node for another tenant's pod, even one copying the toleration", () => {
  const copycat = pendingPod("copy-1", "b", [["proxscale.io/tenant", "team-a"]]);
  const plan = provision(
    snapshotOf({ pods: [copycat] }),
    testConfig({ nodePools: POOLS, tenants: TEAMS }),
  );
  assert.deepEqual(plan.claims, []);
  assert.equal(plan.unhelped.length, 1);
  assert.match(
    plan.unhelped[0]!.reason.message,
    /pool 'pool-a' belongs to tenant 'team-a'; namespace 'b' belongs to tenant 'team-b'/,
  );
  // The tenant's own pod with the same toleration gets a node of its pool.
  const own = provision(
    snapshotOf({ pods: [pendingPod("own-1", "a", [["proxscale.io/tenant", "team-a"]])] }),
    testConfig({ nodePools: POOLS, tenants: TEAMS }),
  );
  assert.deepEqual(own.claims.map((c) => c.nodePool), ["pool-a"]);
  assert.deepEqual(own.claims[0]!.labels["proxscale.io/tenant"], "team-a");
});

Deno.test("a shared pool takes the pods of the tenants its owner shares with, and no others", () => {
  const shared = tenantPool("shared", "team-a", true);
  const b = pendingPod("burst-1", "b", [["proxscale.io/tenant-shared", "team-a"]]);
  const sharing = [tenant("team-a", ["a"], { sharing: ["team-b"] }), TEAMS[1]!];
  const plan = provision(
    snapshotOf({ pods: [b] }),
    testConfig({ nodePools: [...POOLS, shared], tenants: sharing }),
  );
  assert.deepEqual(plan.claims.map((c) => c.nodePool), ["shared"]);
  const notShared = provision(
    snapshotOf({ pods: [b] }),
    testConfig({ nodePools: [...POOLS, shared], tenants: TEAMS }),
  );
  assert.deepEqual(notShared.claims, []);
  assert.equal(notShared.unhelped[0]?.reason.code, "TenantNotAllowed");
});

Deno.test("a tenant at its node quota gets TenantQuotaReached and no new VM, across its pools", () => {
  const existing = managedNode("a-1", "pool-a");
  const second = tenantPool("pool-a2", "team-a");
  const teams = [tenant("team-a", ["a"], { quota: { nodes: 1 } }), TEAMS[1]!];
  const pod = pendingPod("web-1", "a", [["proxscale.io/tenant", "team-a"]]);
  pod.containers = [{ cpu: 6_000, memory: 1 * GiB }]; // fits no existing node
  const plan = provision(
    snapshotOf({ pods: [pod], nodes: [existing.node], nodeClaims: [existing.claim] }),
    testConfig({ nodePools: [...POOLS, second], tenants: teams }),
  );
  assert.deepEqual(plan.claims, []);
  assert.equal(plan.unhelped[0]?.reason.code, "TenantQuotaReached");
  assert.match(
    plan.unhelped[0]!.reason.message,
    /tenant 'team-a' node quota 1 reached \(in use 1 VMs/,
  );
  // Tenant B is not held back by A's quota.
  const b = pendingPod("web-2", "b", [["proxscale.io/tenant", "team-b"]]);
  b.containers = pod.containers;
  const other = provision(
    snapshotOf({ pods: [b], nodes: [existing.node], nodeClaims: [existing.claim] }),
    testConfig({ nodePools: [...POOLS, second], tenants: teams }),
  );
  assert.deepEqual(other.claims.map((c) => c.nodePool), ["pool-b"]);
});

Deno.test("a cost quota counts each VM at its price and stops the one that would pass it", () => {
  const teams = [tenant("team-a", ["a"], { quota: { costPerHour: 0.0001 } }), TEAMS[1]!];
  const plan = provision(
    snapshotOf({ pods: [pendingPod("web-1", "a", [["proxscale.io/tenant", "team-a"]])] }),
    testConfig({ nodePools: POOLS, tenants: teams }),
  );
  assert.deepEqual(plan.claims, []);
  assert.match(plan.unhelped[0]!.reason.message, /tenant 'team-a' cost quota 0\.0001\/h reached/);
});

Deno.test("a pod of another tenant is never placed on a tenant's existing node with room", () => {
  const n = managedNode("a-1", "pool-a", {
    node: { labels: { "proxscale.io/nodepool": "pool-a", "proxscale.io/tenant": "team-a" } },
  });
  const copycat = pendingPod("copy-1", "b", [
    ["proxscale.io/tenant", "team-a"],
    ["proxscale.io/tenant", "team-b"],
  ]);
  const plan = provision(
    snapshotOf({ pods: [copycat], nodes: [n.node], nodeClaims: [n.claim] }),
    testConfig({ nodePools: POOLS, tenants: TEAMS }),
  );
  assert.deepEqual(plan.placements, []);
  assert.deepEqual(plan.claims.map((c) => c.nodePool), ["pool-b"]);
});

Deno.test("a namespace whose labels match a tenant's namespaceSelector belongs to that tenant", () => {
  const teams = [tenant("team-a", [], { namespaceSelector: { team: "a" } }), TEAMS[1]!];
  const pod = pendingPod("web-1", "a-dev", [["proxscale.io/tenant", "team-a"]]);
  const labelled = provision(
    snapshotOf({ pods: [pod], namespaceLabels: { "a-dev": { team: "a" } } }),
    testConfig({ nodePools: POOLS, tenants: teams }),
  );
  assert.deepEqual(labelled.claims.map((c) => c.nodePool), ["pool-a"]);
  const unlabelled = provision(
    snapshotOf({ pods: [pod], namespaceLabels: { "a-dev": { team: "x" } } }),
    testConfig({ nodePools: POOLS, tenants: teams }),
  );
  assert.deepEqual(unlabelled.claims, []);
  assert.match(unlabelled.unhelped[0]!.reason.message, /namespace 'a-dev' belongs to no tenant/);
});

// ---- property: no plan breaks tenancy or a quota --------------------------------------------

const NAMES = ["team-a", "team-b", "team-c"];
const NS = ["a", "b", "c", "free"];

const arbQuota = fc.record({
  nodes: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
  cpu: fc.option(fc.integer({ min: 0, max: 24 }).map((c) => c * 1000), { nil: undefined }),
  memory: fc.option(fc.integer({ min: 0, max: 64 }).map((g) => g * GiB), { nil: undefined }),
  costPerHour: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
}).map((q) => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)));

const arbWorld = fc.record({
  quotas: fc.tuple(arbQuota, arbQuota, arbQuota),
  sharing: fc.tuple(
    fc.subarray(NAMES),
    fc.subarray(NAMES),
    fc.subarray(NAMES),
  ),
  pools: fc.array(
    fc.record({
      owner: fc.option(fc.constantFrom(...NAMES), { nil: undefined }),
      shared: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  existing: fc.array(fc.nat(3), { maxLength: 4 }),
  pods: fc.array(
    fc.record({
      ns: fc.constantFrom(...NS),
      cpu: fc.integer({ min: 1, max: 12 }).map((c) => c * 500),
      tolerate: fc.subarray([
        ...NAMES.map((n) => ["proxscale.io/tenant", n] as [string, string]),
        ...NAMES.map((n) => ["proxscale.io/tenant-shared", n] as [string, string]),
      ]),
      all: fc.boolean(),
    }),
    { minLength: 1, maxLength: 10 },
  ),
});

Deno.test("property: no plan launches a VM in a pool for a pod of a tenant not allowed there, nor past a tenant's quota", () => {
  fc.assert(
    fc.property(arbWorld, (w) => {
      // team-c holds its namespace by label, the others by name.
      const tenants = NAMES.map((n, i) =>
        i === 2
          ? tenant(n, [], {
            namespaceSelector: { team: "c" },
            quota: w.quotas[i]!,
            sharing: w.sharing[i]!,
          })
          : tenant(n, [NS[i]!], { quota: w.quotas[i]!, sharing: w.sharing[i]! })
      );
      const namespaceLabels = { c: { team: "c" }, free: { team: "none" } };
      const pools = w.pools.map((p, i) =>
        p.owner ? tenantPool(`p${i}`, p.owner, p.shared) : testPool(`p${i}`)
      );
      const claims = w.existing.map((at, j) =>
        managedNode(`old-${j}`, pools[at % pools.length]!.name).claim
      );
      const pods = w.pods.map((p, i) => {
        const pod = pendingPod(`pod-${i}`, p.ns, p.tolerate);
        pod.containers = [{ cpu: p.cpu, memory: 512 * 1024 * 1024 }];
        if (p.all) pod.tolerations = [{ operator: "Exists" }];
        return pod;
      });
      const config = testConfig({ nodePools: pools, tenants });
      const plan = provision(snapshotOf({ pods, nodeClaims: claims, namespaceLabels }), config);
      const byPool = new Map(pools.map((p) => [p.name, p]));
      for (const c of plan.claims) {
        for (const key of c.pods) {
          const ns = key.slice(0, key.indexOf("/"));
          assert.equal(
            poolRefusesNamespace(byPool.get(c.nodePool)!, { tenants, namespaceLabels }, ns),
            undefined,
          );
        }
      }
      const before = tenantUsages(config, claims);
      const after = tenantUsages(config, [...claims, ...plan.claims]);
      for (const t of tenants) {
        const added = plan.claims.filter((c) => byPool.get(c.nodePool)?.tenancy?.tenant === t.name);
        if (added.length === 0) continue;
        const u = after.get(t.name)!;
        const q = t.quota;
        assert.ok(q.nodes === undefined || u.nodes <= q.nodes, `${t.name} nodes`);
        assert.ok(q.cpu === undefined || u.cpu <= q.cpu, `${t.name} cpu`);
        assert.ok(q.memory === undefined || u.memory <= q.memory, `${t.name} memory`);
        assert.ok(
          q.costPerHour === undefined || u.costPerHour <= q.costPerHour + 1e-9,
          `${t.name} cost`,
        );
        assert.ok(before.get(t.name)!.nodes + added.length === u.nodes);
        assert.ok(added.every((c) => claimUsage(config, c).nodes === 1));
      }
    }),
    { numRuns: 1000, seed: 21 },
  );
});

Deno.test("consolidation never moves a pod onto another tenant's node, even one tolerating it", () => {
  const taintA = { key: "proxscale.io/tenant", value: "team-a", effect: "NoSchedule" as const };
  const taintB = { ...taintA, value: "team-b" };
  const nodeOf = (name: string, pool: string, tenantName: string, taint: typeof taintA) => {
    const n = managedNode(name, pool);
    n.node.labels = { ...n.node.labels, "proxscale.io/tenant": tenantName };
    n.node.taints = [taint];
    n.claim.labels = n.node.labels;
    n.claim.taints = [taint];
    return n;
  };
  const a = nodeOf("a-1", "pool-a", "team-a", taintA);
  const b = nodeOf("b-1", "pool-b", "team-b", taintB);
  // A's node runs a small pod and has room; B's node runs one small pod tolerating both taints.
  const podA = testPod("a-web-1", "a-1", { namespace: "a", tolerations: [{ ...taintA }] });
  const podB = testPod("b-web-1", "b-1", {
    namespace: "b",
    tolerations: [{ ...taintA }, { ...taintB }],
  });
  const snap = snapshotOf({
    nodes: [a.node, b.node],
    nodeClaims: [a.claim, b.claim],
    pods: [podA, podB],
  });
  const consolidating = { consolidateAfter: 0 };
  const pools = POOLS.map((p) => ({ ...p, disruption: { ...p.disruption, ...consolidating } }));
  const commands = (tenants: Tenant[] | undefined) =>
    disrupt(snap, testConfig({ nodePools: pools, ...(tenants ? { tenants } : {}) })).commands;
  // Without tenants the toleration lets B's pod move onto A's node: B's node simply goes.
  assert.ok(
    commands(undefined).some((c) =>
      c.replacements.length === 0 && c.candidates.some((x) => x.node === "b-1")
    ),
  );
  // With tenants B's pod stays on B's nodes: B's node goes only for a replacement in B's pool.
  const withTenants = commands(TEAMS).filter((c) => c.candidates.some((x) => x.node === "b-1"));
  for (const c of withTenants) {
    assert.ok(c.replacements.length > 0, "B's node is not emptied onto A's node");
    assert.ok(c.replacements.every((r) => r.nodePool === "pool-b"), JSON.stringify(c.replacements));
  }
});
