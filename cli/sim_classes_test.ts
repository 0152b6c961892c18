/**
 * `proxscale sim` with host classes: a world with reserved and preemptible hosts, prices per
 * class and reclaim events reports cost, node-hours, evictions and reclaims per class in --json,
 * and a world without classes reports none of it.
 */
import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { simCommand } from "./sim.ts";

const GiB = 2 ** 30;

async function run(args: string[]) {
  const io = captureIo();
  const code = await simCommand.run(args, io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

const WORLD = {
  hosts: [
    { name: "pve1", cpu: 32_000, memory: 128 * GiB, capacityType: "reserved" },
    { name: "pve2", cpu: 32_000, memory: 128 * GiB, capacityType: "reserved" },
    { name: "pve3", cpu: 32_000, memory: 128 * GiB, capacityType: "preemptible" },
    { name: "pve4", cpu: 32_000, memory: 128 * GiB, capacityType: "preemptible" },
  ],
  capacityTypes: {
    reserved: { perVcpuHour: 0.02, perGiBHour: 0.0025 },
    preemptible: { perVcpuHour: 0.006, perGiBHour: 0.00075 },
  },
  reclaims: {
    schedule: [{ at: 2 * 3_600_000, host: "pve3" }, { at: 30 * 3_600_000, host: "pve4" }],
    downFor: 30 * 60_000,
  },
};

type ClassSummary = {
  cost: number;
  nodeHours: number;
  evictions: number;
  reclaimEvictions: number;
  reclaims: number;
};

async function withWorld(world: unknown, args: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-sim-classes-" });
  try {
    await Deno.writeTextFile(`${dir}/world.json`, JSON.stringify(world));
    return await run(["--world", `${dir}/world.json`, ...args]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a world with a preemptible class and reclaim events reports cost and evictions per class", async () => {
  const r = await withWorld(WORLD, ["--json", "--policies", "proxscale"]);
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out);
  const s = report.policies[0].summary;
  // The cost bound takes the cheapest class's prices, so it stays below what any run pays.
  assert.ok(report.bound.cost > 0 && report.bound.cost <= s.cost, `${report.bound.cost}`);
  const by = s.byCapacityType as Record<string, ClassSummary>;
  assert.deepEqual(Object.keys(by), ["preemptible", "reserved"]);
  // Both scheduled reclaims hit preemptible hosts, and the VMs there lost their pods.
  assert.equal(by.preemptible!.reclaims, 2);
  assert.equal(by.reserved!.reclaims, 0);
  assert.ok(by.preemptible!.reclaimEvictions > 0, JSON.stringify(by));
  assert.ok(by.preemptible!.evictions >= by.preemptible!.reclaimEvictions);
  // The classes' cost and node-hours add up to the run's.
  const cost = by.preemptible!.cost + by.reserved!.cost;
  assert.ok(Math.abs(cost - s.cost) < 1e-6 * s.cost, `${cost} vs ${s.cost}`);
  const nh = by.preemptible!.nodeHours + by.reserved!.nodeHours;
  assert.ok(Math.abs(nh - s.nodeHours) < 1e-6 * s.nodeHours, `${nh} vs ${s.nodeHours}`);
  // proxscale takes the cheaper preemptible hosts first.
  assert.ok(by.preemptible!.nodeHours > by.reserved!.nodeHours, JSON.stringify(by));
  assert.equal(s.nodesRemovedByReason.Reclaimed > 0, true);
  // The table shows the same per class.
  const t = await withWorld(WORLD, ["--policies", "proxscale"]);
  assert.match(t.out, /CLASS\s+COST\s+NODE-H\s+EVICT\s+RECLAIMS/);
  assert.match(t.out, /proxscale\s+preemptible\s+[\d.]+\s+[\d.]+\s+\d+\s+2\s+\d+/);
});

Deno.test("reclaims at a rate per hour are drawn from the seed: same seed, same report", async () => {
  const world = { ...WORLD, reclaims: { ratePerHour: 0.1, downFor: 600_000 } };
  const a = await withWorld(world, ["--json", "--policies", "proxscale", "--seed", "3"]);
  const b = await withWorld(world, ["--json", "--policies", "proxscale", "--seed", "3"]);
  assert.equal(a.code, 0, a.err);
  assert.equal(a.out, b.out);
  const by = JSON.parse(a.out).policies[0].summary.byCapacityType;
  assert.ok(by.preemptible.reclaims > 0, JSON.stringify(by));
  assert.equal(by.reserved.reclaims, 0);
});

Deno.test("a world without host classes reports nothing per class", async () => {
  const r = await run(["--json", "--policies", "proxscale"]);
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).policies[0].summary.byCapacityType, undefined);
  assert.doesNotMatch(r.out, /capacityType|reclaim/i);
});

Deno.test("a world file with a bad reclaim schedule is refused and says why", async () => {
  const r = await withWorld({ ...WORLD, reclaims: { schedule: [{ at: -1 }] } }, ["--json"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /reclaims\.schedule must be a list of \{at \(ms\), host\}/);
});
