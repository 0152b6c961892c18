import assert from "node:assert/strict";
import { HOST_MAINTENANCE } from "./disruption_method_host_maintenance.ts";
import { DisruptionPass } from "./disruption_pass.ts";
import { disrupt, initialDisruptionState } from "./disruption.ts";
import type { HostMaintenance, NodePool, Pod, PodDisruptionBudget } from "./model.ts";
import { GiB } from "./quantity.ts";
import { managedNode, snapshotOf, testConfig, testHost, testPod } from "./testing/arbitraries.ts";
import { generalPool, summary } from "./testing/disruption_fixture.ts";

const SMALL = { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB };
const web = (name: string, node: string, annotations?: Record<string, string>) =>
  testPod(name, node, {
    labels: { app: "web" },
    containers: [{ cpu: 1500, memory: 2 * GiB }],
    ...(annotations ? { annotations } : {}),
  });

/** A pass where pve1 (holding every node) is in `state` and pve2 is free. */
function passWith(
  state: HostMaintenance | undefined,
  names: string[],
  pods: Pod[],
  opts: { pool?: NodePool; pdbs?: PodDisruptionBudget[]; pve2?: HostMaintenance } = {},
): DisruptionPass {
  const nodes = names.map((n) => managedNode(n, "general", { shape: SMALL }));
  const snapshot = snapshotOf({
    nodes: nodes.map((n) => n.node),
    nodeClaims: nodes.map((n) => n.claim),
    pods,
    pdbs: opts.pdbs ?? [],
    hosts: [
      testHost("pve1", "zone-a", state ? { maintenance: state } : {}),
      testHost("pve2", "zone-b", opts.pve2 ? { maintenance: opts.pve2 } : {}),
    ],
  });
  return new DisruptionPass(
    snapshot,
    testConfig({ nodePools: [opts.pool ?? generalPool()] }),
    initialDisruptionState(),
  );
}

Deno.test("a node whose VM is on a draining host is replaced on another host before it goes", () => {
  const made = HOST_MAINTENANCE.decide(passWith("drain", ["a"], [web("web-1", "a")]));
  assert.deepEqual(summary(made), [["HostMaintenance", "HostMaintenance", ["a"]]]);
  assert.equal(made[0]!.replacements.length, 1);
  assert.equal(made[0]!.replacements[0]!.host, "pve2");
  assert.equal(made[0]!.evictions[0]!.to, made[0]!.replacements[0]!.name);
  assert.match(made[0]!.reason.message, /host pve1 .* is being drained/);
});

Deno.test("host maintenance leaves the nodes of a host that is only cordoned, or not in maintenance", () => {
  assert.deepEqual(HOST_MAINTENANCE.decide(passWith("cordon", ["a"], [web("web-1", "a")])), []);
  assert.deepEqual(HOST_MAINTENANCE.decide(passWith(undefined, ["a"], [web("web-1", "a")])), []);
});

Deno.test("host maintenance honours do-not-disrupt however long the drain has waited", () => {
  const keep = { "karpenter.sh/do-not-disrupt": "true" };
  const pool = generalPool({}, { terminationGracePeriod: 60_000 });
  const pass = passWith("drain", ["a"], [web("web-1", "a", keep)], { pool });
  assert.deepEqual(HOST_MAINTENANCE.decide(pass), []);
});

Deno.test("host maintenance waits for a PodDisruptionBudget that allows no eviction", () => {
  const pdb = {
    name: "web",
    namespace: "default",
    selector: { matchLabels: { app: "web" } },
    disruptionsAllowed: 0,
  };
  const pass = passWith("drain", ["a"], [web("web-1", "a")], { pdbs: [pdb] });
  assert.deepEqual(HOST_MAINTENANCE.decide(pass), []);
  const open = passWith("drain", ["a"], [web("web-1", "a")], {
    pdbs: [{ ...pdb, disruptionsAllowed: 1 }],
  });
  assert.equal(HOST_MAINTENANCE.decide(open).length, 1);
});

Deno.test("host maintenance spends the Drifted budget: one node at a time under a budget of 1", () => {
  const pool = generalPool({}, { budgets: [{ nodes: "1" }] });
  const pods = [web("web-1", "a"), web("web-2", "b"), web("web-3", "c")];
  const made = HOST_MAINTENANCE.decide(passWith("drain", ["a", "b", "c"], pods, { pool }));
  assert.equal(made.length, 1);
  const driftOnly = generalPool({}, { budgets: [{ nodes: "0", reasons: ["Drifted"] }] });
  assert.deepEqual(
    HOST_MAINTENANCE.decide(passWith("drain", ["a"], [web("web-1", "a")], { pool: driftOnly })),
    [],
  );
});

Deno.test("a draining host's node stays when no other host can take its replacement", () => {
  const pass = passWith("drain", ["a"], [web("web-1", "a")], { pve2: "cordon" });
  assert.deepEqual(HOST_MAINTENANCE.decide(pass), []);
});

Deno.test("a full disruption pass drains a host's nodes with reason HostMaintenance", () => {
  const nodes = ["a", "b"].map((n) => managedNode(n, "general", { shape: SMALL }));
  const plan = disrupt(
    snapshotOf({
      nodes: nodes.map((n) => n.node),
      nodeClaims: nodes.map((n) => n.claim),
      pods: [web("web-1", "a"), web("web-2", "b")],
      hosts: [testHost("pve1", "zone-a", { maintenance: "drain" }), testHost("pve2", "zone-b")],
    }),
    testConfig({ nodePools: [generalPool({}, { consolidationPolicy: "WhenEmpty" })] }),
  );
  assert.deepEqual(plan.commands.map((c) => [c.method, c.reason.code]), [
    ["HostMaintenance", "HostMaintenance"],
    ["HostMaintenance", "HostMaintenance"],
  ]);
});
