import assert from "node:assert/strict";
import fc from "fast-check";
import type { Host, PlacementStrategy, Resources } from "./model.ts";
import { chooseHost, hostFree, hostLimit, type PlacementInput } from "./placement.ts";
import { GiB } from "./quantity.ts";
import { testHost } from "./testing/arbitraries.ts";

const RUNS = 1000;

const host = (i: number) =>
  fc.record({
    zone: fc.constantFrom("a", "b", "c"),
    online: fc.boolean(),
    cpus: fc.integer({ min: 1, max: 128 }),
    memGiB: fc.integer({ min: 1, max: 1024 }),
    cpuOvercommit: fc.constantFrom(1, 1.5, 2, 4, 16),
    memoryOvercommit: fc.constantFrom(1, 1.25, 2, 4),
    reservedCpu: fc.integer({ min: 0, max: 4000 }),
    reservedMem: fc.integer({ min: 0, max: 8 * GiB }),
    usedCpuFrac: fc.double({ min: 0, max: 1.2, noNaN: true }),
    usedMemFrac: fc.double({ min: 0, max: 1.2, noNaN: true }),
  }).map((h): Host => {
    const capacity = { cpu: h.cpus * 1000, memory: h.memGiB * GiB };
    const reserved = { cpu: h.reservedCpu, memory: h.reservedMem };
    const base: Host = {
      name: `pve${i}`,
      provider: "p",
      zone: h.zone,
      online: h.online,
      capacity,
      cpuOvercommit: h.cpuOvercommit,
      memoryOvercommit: h.memoryOvercommit,
      reserved,
      committed: { cpu: 0, memory: 0 },
    };
    const limit = hostLimit(base);
    // Committed may already exceed the limit (an operator lowered the ratio): must stay full.
    return {
      ...base,
      committed: {
        cpu: Math.floor(limit.cpu * h.usedCpuFrac),
        memory: Math.floor(limit.memory * h.usedMemFrac),
      },
    };
  });

const hosts = fc.integer({ min: 0, max: 6 }).chain((n) =>
  n === 0 ? fc.constant([] as Host[]) : fc.tuple(...Array.from({ length: n }, (_, i) => host(i)))
);

const footprint = fc.record({
  cpu: fc.integer({ min: 1, max: 32 }).map((c) => c * 1000),
  memory: fc.integer({ min: 1, max: 256 }).map((g) => g * GiB / 2),
});

const strategy = fc.constantFrom<PlacementStrategy>("leastAllocated", "mostAllocated", "spread");

const input = fc.record({
  hosts,
  footprint,
  strategy,
  zones: fc.option(fc.subarray(["a", "b", "c"]), { nil: undefined }),
  zoneCounts: fc.record({
    a: fc.integer({ min: 0, max: 5 }),
    b: fc.integer({ min: 0, max: 5 }),
    c: fc.integer({ min: 0, max: 5 }),
  }),
  plannedFrac: fc.double({ min: 0, max: 0.5, noNaN: true }),
}).map((s): PlacementInput => {
  const planned = new Map<string, Resources>();
  for (const h of s.hosts) {
    const l = hostLimit(h);
    planned.set(h.name, {
      cpu: Math.floor(l.cpu * s.plannedFrac),
      memory: Math.floor(l.memory * s.plannedFrac),
    });
  }
  return {
    hosts: s.hosts,
    footprint: s.footprint,
    strategy: s.strategy,
    planned,
    ...(s.zones ? { zones: new Set(s.zones) } : {}),
    zoneCounts: new Map(Object.entries(s.zoneCounts)),
  };
});

function fits(h: Host, inp: PlacementInput): boolean {
  const free = hostFree(h, inp.planned?.get(h.name));
  return h.online && (!inp.zones || inp.zones.has(h.zone)) &&
    free.cpu >= inp.footprint.cpu && free.memory >= inp.footprint.memory;
}

Deno.test("placement never overcommits a host beyond its configured ratio", () => {
  fc.assert(
    fc.property(input, (inp) => {
      const r = chooseHost(inp);
      if (!r.ok) return;
      const h = r.value;
      const planned = inp.planned?.get(h.name) ?? { cpu: 0, memory: 0 };
      const cpuCeiling = (h.capacity.cpu - h.reserved.cpu) * h.cpuOvercommit;
      const memCeiling = (h.capacity.memory - h.reserved.memory) * h.memoryOvercommit;
      assert.ok(h.committed.cpu + planned.cpu + inp.footprint.cpu <= cpuCeiling, "cpu overcommit");
      assert.ok(
        h.committed.memory + planned.memory + inp.footprint.memory <= memCeiling,
        "memory overcommit",
      );
    }),
    { numRuns: RUNS },
  );
});

Deno.test("placement never picks an offline host or one outside the allowed zones", () => {
  fc.assert(
    fc.property(input, (inp) => {
      const r = chooseHost(inp);
      if (!r.ok) return;
      assert.ok(r.value.online);
      if (inp.zones) assert.ok(inp.zones.has(r.value.zone));
    }),
    { numRuns: RUNS },
  );
});

Deno.test("placement fails only when no host fits, and then says why", () => {
  fc.assert(
    fc.property(input, (inp) => {
      const r = chooseHost(inp);
      const anyFits = inp.hosts.some((h) => fits(h, inp));
      assert.equal(r.ok, anyFits);
      if (!r.ok) {
        assert.equal(r.error.code, "HostCapacityExhausted");
        assert.match(r.error.message, /no Proxmox host can take the VM/);
      }
    }),
    { numRuns: RUNS },
  );
});

Deno.test("placement is deterministic and independent of host order", () => {
  fc.assert(
    fc.property(input, (inp) => {
      const a = chooseHost(inp);
      const b = chooseHost({ ...inp, hosts: [...inp.hosts].reverse() });
      assert.equal(a.ok, b.ok);
      if (a.ok && b.ok) assert.equal(a.value.name, b.value.name);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("placing VMs one after another with planned load never overcommits any host", () => {
  fc.assert(
    fc.property(hosts, fc.array(footprint, { maxLength: 30 }), strategy, (hs, fps, strat) => {
      const planned = new Map<string, Resources>();
      for (const fp of fps) {
        const r = chooseHost({ hosts: hs, footprint: fp, strategy: strat, planned });
        if (!r.ok) continue;
        const p = planned.get(r.value.name) ?? { cpu: 0, memory: 0 };
        planned.set(r.value.name, { cpu: p.cpu + fp.cpu, memory: p.memory + fp.memory });
      }
      for (const h of hs) {
        const p = planned.get(h.name);
        if (!p) continue;
        const l = hostLimit(h);
        assert.ok(h.committed.cpu + p.cpu <= l.cpu, `${h.name} cpu`);
        assert.ok(h.committed.memory + p.memory <= l.memory, `${h.name} memory`);
      }
    }),
    { numRuns: RUNS },
  );
});

const mk = (name: string, zone: string, usedCpu: number, usedMem: number): Host => ({
  name,
  provider: "p",
  zone,
  online: true,
  capacity: { cpu: 16_000, memory: 64 * GiB },
  cpuOvercommit: 1,
  memoryOvercommit: 1,
  reserved: { cpu: 0, memory: 0 },
  committed: { cpu: usedCpu, memory: usedMem },
});

Deno.test("least-allocated picks the emptiest host, most-allocated the fullest that fits", () => {
  const hs = [mk("a", "z1", 12_000, 48 * GiB), mk("b", "z1", 2_000, 8 * GiB)];
  const fp = { cpu: 2000, memory: 4 * GiB };
  const least = chooseHost({ hosts: hs, footprint: fp, strategy: "leastAllocated" });
  const most = chooseHost({ hosts: hs, footprint: fp, strategy: "mostAllocated" });
  assert.ok(least.ok && least.value.name === "b");
  assert.ok(most.ok && most.value.name === "a");
});

Deno.test("spread prefers the zone with fewer of the pool's VMs", () => {
  const hs = [mk("a", "z1", 0, 0), mk("b", "z2", 8_000, 32 * GiB)];
  const r = chooseHost({
    hosts: hs,
    footprint: { cpu: 1000, memory: GiB },
    strategy: "spread",
    zoneCounts: new Map([["z1", 3], ["z2", 0]]),
  });
  assert.ok(r.ok && r.value.name === "b");
});

Deno.test("in-flight VMs counted as planned load can make a host full", () => {
  const hs = [mk("a", "z1", 0, 60 * GiB)];
  const fp = { cpu: 1000, memory: 2 * GiB };
  assert.ok(chooseHost({ hosts: hs, footprint: fp, strategy: "leastAllocated" }).ok);
  const r = chooseHost({
    hosts: hs,
    footprint: fp,
    strategy: "leastAllocated",
    planned: new Map([["a", { cpu: 0, memory: 3 * GiB }]]),
  });
  assert.ok(!r.ok && /1 without room/.test(r.error.message));
});

Deno.test("a host whose inventory figures are not numbers counts as full", () => {
  const broken = { ...mk("a", "z1", 0, 0), committed: { cpu: Number.NaN, memory: 0 } };
  const r = chooseHost({
    hosts: [broken],
    footprint: { cpu: 1000, memory: GiB },
    strategy: "leastAllocated",
  });
  assert.equal(r.ok, false);
});

Deno.test("placement skips cordoned and draining hosts and counts them in the no-host reason", () => {
  const hosts = [
    testHost("pve1", "zone-a", { maintenance: "cordon" }),
    testHost("pve2", "zone-a", { maintenance: "drain" }),
    testHost("pve3", "zone-a"),
  ];
  const fp = { cpu: 2000, memory: 4 * GiB };
  const picked = chooseHost({ hosts, footprint: fp, strategy: "leastAllocated" });
  assert.ok(picked.ok);
  assert.equal(picked.value.name, "pve3");
  const none = chooseHost({ hosts: hosts.slice(0, 2), footprint: fp, strategy: "leastAllocated" });
  assert.ok(!none.ok);
  assert.equal(none.error.code, "HostCapacityExhausted");
  assert.match(none.error.message, /2 cordoned for maintenance/);
});
