import assert from "node:assert/strict";
import { reason } from "../core/reason.ts";
import type { NodeClaim } from "../core/model.ts";
import { GiB, MiB } from "../core/quantity.ts";
import { parseConfigText } from "../adapters/config/load.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { buildStatus, DecisionLog, poolStatuses } from "./status_report.ts";

const parsed = parseConfigText(
  `
providers:
  - name: demo
    spec:
      endpoint: https://pve.example:8006
      tokenId: t@pve!a
      tokenSecret: { env: X }
      hosts: [{ name: a, zone: a }]
      vmidRange: { lower: 1000, upper: 1999 }
machineTemplates:
  - name: worker
    spec:
      provider: demo
      shapes: [{ cpu: 2, memory: 4Gi }, { cpu: 4, memory: 8Gi }]
      vmMemOverheadMiB: 256
      source: { clone: { templateVmid: 9000 } }
nodePools:
  - name: general
    spec: { machineTemplate: worker, limits: { nodes: 20 } }
`,
  "test.yaml",
);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
const config = parsed.value;

function claim(name: string, cpu: number, memory: number, pool = "general"): NodeClaim {
  return {
    name,
    nodePool: pool,
    machineTemplate: "worker",
    provider: "demo",
    shape: { name: `${cpu / 1000}c`, cpu, memory },
    createdAt: 0,
    labels: {},
    taints: [],
    startupTaints: [],
    conditions: [{
      type: "Launched",
      status: "True",
      reason: "Launched",
      message: "vm 1000 on a",
      lastTransitionTime: 0,
    }],
  };
}

Deno.test("pool usage counts each VM's memory overhead, as the limits do", () => {
  const [p] = poolStatuses(config, [
    claim("a", 2000, 4 * GiB),
    claim("b", 4000, 8 * GiB),
    claim("c", 4000, 8 * GiB, "other"),
  ]);
  assert.equal(p!.usage.nodes, 2);
  assert.equal(p!.usage.cpu, 6000);
  assert.equal(p!.usage.memory, 12 * GiB + 2 * 256 * MiB);
  assert.equal(p!.vmMemOverhead, 256 * MiB);
  assert.deepEqual(p!.limits, { nodes: 20 });
});

Deno.test("the decision log keeps the newest entries", () => {
  const log = new DecisionLog(3);
  for (let i = 0; i < 5; i++) log.push({ time: i, what: "X", reason: reason("Empty", `${i}`) });
  assert.deepEqual(log.list().map((d) => d.time), [2, 3, 4]);
});

Deno.test("the status document: claims sorted with conditions, jobs without payload", async () => {
  const queue = new MemoryJobQueue<unknown>();
  try {
    await queue.enqueue({ id: "launch-b", name: "launch", data: { kind: "launch", claim: "b" } });
    const decisions = new DecisionLog();
    decisions.push({ time: 5, what: "LaunchClaim", reason: reason("PodsPending", "1 pod") });
    const s = await buildStatus({
      config: () => config,
      claims: () => [claim("b", 2000, 4 * GiB), claim("a", 2000, 4 * GiB)],
      queue,
      decisions,
      isLeader: () => true,
      maintenance: () => ({ paused: false, local: false }),
      now: () => 42,
    });
    assert.equal(s.time, 42);
    assert.deepEqual(s.claims.map((c) => c.name), ["a", "b"]);
    assert.equal(s.claims[0]!.conditions[0]!.type, "Launched");
    assert.equal(s.jobs.counts.waiting, 1);
    assert.equal(s.jobs.list[0]!.kind, "launch");
    assert.ok(!("data" in s.jobs.list[0]!));
    assert.equal(s.decisions[0]!.reason.code, "PodsPending");
  } finally {
    await queue.close();
  }
});

Deno.test("the status document shows each IP pool's held, foreign and free addresses", async () => {
  const pooled = parseConfigText(
    `
providers:
  - name: demo
    spec:
      endpoint: https://pve.example:8006
      tokenId: t@pve!a
      tokenSecret: { env: X }
      hosts: [{ name: a, zone: a }]
      vmidRange: { lower: 1000, upper: 1999 }
      ipPools: [{ name: nodes, cidr: 10.0.20.0/24, ranges: [10.0.20.10-10.0.20.19] }]
machineTemplates:
  - name: worker
    spec:
      provider: demo
      shapes: [{ cpu: 2, memory: 4Gi }]
      source: { clone: { templateVmid: 9000 } }
      network: [{ bridge: vmbr0, ipPool: nodes }]
nodePools:
  - name: general
    spec: { machineTemplate: worker }
`,
    "test.yaml",
  );
  assert.ok(pooled.ok, JSON.stringify(!pooled.ok && pooled.error));
  const queue = new MemoryJobQueue<unknown>();
  try {
    const holder = {
      ...claim("a", 2000, 4 * GiB),
      addresses: [{ slot: "net0", pool: "nodes", address: "10.0.20.10" }],
    };
    const s = await buildStatus({
      config: () => pooled.value,
      claims: () => [holder],
      queue,
      decisions: new DecisionLog(),
      isLeader: () => true,
      maintenance: () => ({ paused: false, local: false }),
      vmAddresses: () => ["10.0.20.11", "10.0.20.12"],
    });
    assert.deepEqual(s.ipPools, [
      { provider: "demo", pool: "nodes", size: 10, held: 1, foreign: 2, free: 7 },
    ]);
    const plain = await buildStatus({
      config: () => config,
      claims: () => [],
      queue,
      decisions: new DecisionLog(),
      isLeader: () => true,
      maintenance: () => ({ paused: false, local: false }),
    });
    assert.equal(plain.ipPools, undefined, "no pools, no section");
  } finally {
    await queue.close();
  }
});
