/**
 * Tests of world_classes.ts: reclaim times from a schedule and a seeded rate, the world's
 * classes reaching the configuration, and a world file's classes and reclaims read or refused.
 */
import assert from "node:assert/strict";
import { classesFrom, reclaimTimes, withWorldClasses, type WorldClasses } from "./world_classes.ts";
import { defaultSimConfig } from "../policies/default_config.ts";

const HOUR = 3_600_000;
const HOSTS = [
  { name: "pve1", capacityType: "reserved" },
  { name: "pve2", capacityType: "preemptible" },
  { name: "pve3", capacityType: "preemptible" },
];

Deno.test("a rate of reclaims hits only preemptible hosts, from the seed, never while a host is down", () => {
  const spec = { schedule: [], ratePerHour: 1, downFor: HOUR / 2 };
  const a = reclaimTimes(spec, HOSTS, 7, 100 * HOUR);
  assert.deepEqual(a, reclaimTimes(spec, HOSTS, 7, 100 * HOUR));
  assert.notDeepEqual(a, reclaimTimes(spec, HOSTS, 8, 100 * HOUR));
  assert.ok(a.every((r) => r.host !== "pve1"));
  // About one per hour per host, less the time spent down: far more than 50, far fewer than 200.
  assert.ok(a.length > 50 && a.length < 200, String(a.length));
  for (const h of ["pve2", "pve3"]) {
    const times = a.filter((r) => r.host === h).map((r) => r.at);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= HOUR / 2);
  }
  for (let i = 1; i < a.length; i++) assert.ok(a[i]!.at >= a[i - 1]!.at);
});

Deno.test("scheduled reclaims come in time order and stop at the horizon", () => {
  const spec = {
    schedule: [{ at: 3 * HOUR, host: "pve1" }, { at: HOUR, host: "pve2" }, {
      at: 9 * HOUR,
      host: "pve3",
    }],
    ratePerHour: 0,
    downFor: 0,
  };
  assert.deepEqual(reclaimTimes(spec, HOSTS, 1, 5 * HOUR), [
    { at: HOUR, host: "pve2" },
    { at: 3 * HOUR, host: "pve1" },
  ]);
  assert.deepEqual(reclaimTimes(undefined, HOSTS, 1, 5 * HOUR), []);
});

Deno.test("the world's classes and prices reach every provider host; a world without them changes nothing", () => {
  const config = defaultSimConfig();
  const prices = { preemptible: { perVcpuHour: 0.001, perGiBHour: 0.0001 } };
  const c = withWorldClasses(config, {
    hosts: [{ name: "pve2", capacityType: "preemptible" }],
    capacityTypes: prices,
  });
  const hosts = c.providers[0]!.hosts;
  assert.equal(hosts.find((h) => h.name === "pve2")!.capacityType, "preemptible");
  assert.ok(hosts.filter((h) => h.name !== "pve2").every((h) => h.capacityType === "standard"));
  assert.deepEqual(c.providers[0]!.capacityTypes, prices);
  assert.equal(withWorldClasses(config, { hosts: [] }), config);
});

Deno.test("a world file's classes and reclaims are read, with downFor defaulting to 30 minutes", () => {
  const into: WorldClasses = {};
  assert.equal(
    classesFrom({
      capacityTypes: { preemptible: { perVcpuHour: 0.1, perGiBHour: 0.01 } },
      reclaims: { schedule: [{ at: 5, host: "pve2" }] },
    }, into),
    undefined,
  );
  assert.deepEqual(into.reclaims, {
    schedule: [{ at: 5, host: "pve2" }],
    ratePerHour: 0,
    downFor: 30 * 60_000,
  });
  assert.match(
    classesFrom({ capacityTypes: { x: { perVcpuHour: -1, perGiBHour: 0 } } }, {})!,
    /capacityTypes\.x needs perVcpuHour and perGiBHour/,
  );
  assert.match(classesFrom({ reclaims: { every: 3 } }, {})!, /unknown field "reclaims\.every"/);
});
