import { deepEqual, equal, match, ok } from "node:assert/strict";
import fc from "fast-check";
import {
  decideHostPower,
  type HostPowerFact,
  type HostPowerInput,
  initialHostPowerState,
} from "./host_power.ts";
import type { Config, HostConfig, Snapshot, VM } from "./model.ts";
import { provision } from "./provisioning.ts";
import { GiB } from "./quantity.ts";
import { snapshotOf, T0, testConfig, testHost, testPod } from "./testing/arbitraries.ts";

const power = {
  bmc: {
    endpoint: "https://bmc.test",
    username: { env: "U" },
    password: { env: "P" },
    systemId: "1",
    tls: { insecureSkipVerify: true },
  },
  bootDelay: 120_000,
};

function hostConfig(name: string, managed: boolean): HostConfig {
  return {
    name,
    zone: "zone-a",
    cpuOvercommit: 1,
    memoryOvercommit: 1,
    reserved: { cpu: 0, memory: 0 },
    ...(managed ? { power } : {}),
  };
}

function configWith(names: string[], managed: string[], minOnlineHosts = 1): Config {
  const base = testConfig();
  return {
    ...base,
    providers: [{
      ...base.providers[0]!,
      hosts: names.map((n) => hostConfig(n, managed.includes(n))),
      hostPower: { powerOffAfter: 600_000, minOnlineHosts },
    }],
  };
}

/** Hosts of 8 cores / 16 GiB; `full` ones have no room left. */
function small(name: string, online: boolean, full: boolean) {
  return testHost(name, "zone-a", {
    online,
    capacity: { cpu: 8000, memory: 16 * GiB },
    committed: full ? { cpu: 8000, memory: 16 * GiB } : { cpu: 0, memory: 0 },
  });
}

function facts(
  hosts: { name: string; online: boolean; ha?: number; guests?: number }[],
): HostPowerFact[] {
  return hosts.map((h) => ({
    provider: "pve",
    host: h.name,
    votes: 1,
    online: h.online,
    power: h.online ? "on" : "off",
    haResources: h.ha ?? 0,
    guests: h.guests ?? 0,
  }));
}

function input(snapshot: Snapshot, config: Config, f: HostPowerFact[]): HostPowerInput {
  return {
    snapshot,
    config,
    plan: provision(snapshot, config),
    facts: f,
    state: initialHostPowerState(),
  };
}

const pending = (name: string) => testPod(name, undefined, { unschedulable: true });

const vm = (host: string, vmid: number): VM => ({
  vmid,
  host,
  provider: "pve",
  name: `foreign-${vmid}`,
  tags: [],
  status: "running",
  size: { cpu: 1000, memory: GiB },
});

Deno.test("pending pods that fit no online host but fit a powered-off one power it on, with the boot time in the reason", () => {
  const names = ["pve1", "pve2", "pve3", "pve4"];
  const snapshot = snapshotOf({
    hosts: [
      small("pve1", true, true),
      small("pve2", true, true),
      small("pve3", true, true),
      small("pve4", false, false),
    ],
    pods: [pending("web-1"), pending("web-2")],
    vms: [vm("pve1", 100), vm("pve2", 101), vm("pve3", 102)],
  });
  const config = configWith(names, ["pve4"]);
  const plan = decideHostPower(
    input(snapshot, config, facts(names.map((n) => ({ name: n, online: n !== "pve4" })))),
  );
  equal(plan.decisions.length, 1);
  equal(plan.decisions[0]!.kind, "PowerOn");
  equal(plan.decisions[0]!.host, "pve4");
  match(plan.decisions[0]!.reason.message, /2 pending pod\(s\) fit no online host; pve4/);
  match(plan.decisions[0]!.reason.message, /boot takes about 120 s/);
  ok(plan.state.poweringOn["pve/pve4"] === T0);
});

Deno.test("a powered-off host PVE shows without capacity is judged by the capacity its BMC reports", () => {
  const names = ["pve1", "pve2"];
  const off = { ...small("pve2", false, false), capacity: { cpu: 0, memory: 0 } };
  const snapshot = snapshotOf({
    hosts: [small("pve1", true, true), off],
    pods: [pending("web-1")],
  });
  const config = configWith(names, ["pve2"]);
  const f = facts([{ name: "pve1", online: true }, { name: "pve2", online: false }]);
  deepEqual(decideHostPower(input(snapshot, config, f)).decisions, []);
  const known = f.map((x) =>
    x.host === "pve2" ? { ...x, capacity: { cpu: 8000, memory: 16 * GiB } } : x
  );
  deepEqual(decideHostPower(input(snapshot, config, known)).decisions.map((d) => d.host), [
    "pve2",
  ]);
});

Deno.test("with many powered-off hosts provisioning runs a bounded number of times and the one that fits is powered on", () => {
  const names = ["pve1", "pve2", "pve3", "pve4", "pve5", "pve6", "pve7"];
  // pve2..pve7 are off; only pve6's BMC reports a capacity, so only pve6 can take the pod.
  const hosts = [
    small("pve1", true, true),
    ...names.slice(1).map((n) => ({ ...small(n, false, false), capacity: { cpu: 0, memory: 0 } })),
  ];
  const snapshot = snapshotOf({ hosts, pods: [pending("web-1")] });
  const config = configWith(names, names.slice(1));
  const f = facts(names.map((n) => ({ name: n, online: n === "pve1" }))).map((x) =>
    x.host === "pve6" ? { ...x, capacity: { cpu: 8000, memory: 16 * GiB } } : x
  );
  let calls = 0;
  const plan = decideHostPower({
    ...input(snapshot, config, f),
    provision: (s, c) => {
      calls++;
      return provision(s, c);
    },
  });
  deepEqual(plan.decisions.map((d) => d.host), ["pve6"]);
  ok(calls <= 4, `${calls} provisioning runs`);
});

Deno.test("a host that is booting is waited for, not doubled by powering on another", () => {
  const names = ["pve1", "pve2", "pve3", "pve4"];
  const snapshot = snapshotOf({
    hosts: [
      small("pve1", true, true),
      small("pve2", true, true),
      small("pve3", false, false),
      small("pve4", false, false),
    ],
    pods: [pending("web-1")],
  });
  const config = configWith(names, ["pve3", "pve4"]);
  const f = facts(names.map((n) => ({ name: n, online: n === "pve1" || n === "pve2" })));
  const first = decideHostPower(input(snapshot, config, f));
  deepEqual(first.decisions.map((d) => d.host), ["pve3"]);
  const f2 = f.map((x) => x.host === "pve3" ? { ...x, power: "on" as const } : x);
  const second = decideHostPower({
    ...input({ ...snapshot, now: T0 + 30_000 }, config, f2),
    state: first.state,
  });
  deepEqual(second.decisions, []);
  match(second.holds[0]!.reason.message, /wait for pve3, which is booting/);
});

Deno.test("after a restart a host its BMC reports on but PVE does not show yet is waited for as booting", () => {
  const names = ["pve1", "pve2", "pve3", "pve4"];
  const snapshot = snapshotOf({
    hosts: [
      small("pve1", true, true),
      small("pve2", true, true),
      small("pve3", false, false),
      small("pve4", false, false),
    ],
    pods: [pending("web-1")],
  });
  const config = configWith(names, ["pve3", "pve4"]);
  // No state: the daemon that asked for pve3's power-on is gone; its BMC says on.
  const f = facts(names.map((n) => ({ name: n, online: n === "pve1" || n === "pve2" })))
    .map((x) => x.host === "pve3" ? { ...x, power: "on" as const } : x);
  const r = decideHostPower(input(snapshot, config, f));
  deepEqual(r.decisions, []);
  match(r.holds[0]!.reason.message, /wait for pve3, which is booting/);
  deepEqual(Object.keys(r.state.poweringOn), ["pve/pve3"]);
});

Deno.test("pods that fit an online host power nothing on", () => {
  const names = ["pve1", "pve2"];
  const snapshot = snapshotOf({
    hosts: [small("pve1", true, false), small("pve2", false, false)],
    pods: [pending("web-1")],
  });
  const config = configWith(names, ["pve2"]);
  const plan = decideHostPower(
    input(
      snapshot,
      config,
      facts([{ name: "pve1", online: true }, { name: "pve2", online: false }]),
    ),
  );
  deepEqual(plan.decisions, []);
});

Deno.test("capacity being freed sooner than the boot takes the pods instead of a power-on", () => {
  const names = ["pve1", "pve2"];
  const snapshot = snapshotOf({
    hosts: [small("pve1", true, true), small("pve2", false, false)],
    pods: [pending("web-1")],
    nodeClaims: [{
      name: "old",
      nodePool: "general",
      machineTemplate: "tpl",
      provider: "pve",
      shape: { name: "8c-16Gi", cpu: 8000, memory: 16 * GiB },
      host: "pve1",
      createdAt: T0 - 3_600_000,
      labels: {},
      taints: [],
      startupTaints: [],
      conditions: [],
      deleting: true,
    }],
  });
  const config = configWith(names, ["pve2"]);
  const f = facts([{ name: "pve1", online: true }, { name: "pve2", online: false }]);
  const plan = decideHostPower({ ...input(snapshot, config, f), freeingEstimate: 30_000 });
  deepEqual(plan.decisions, []);
  match(plan.holds[0]!.reason.message, /sooner than pve2 boots \(120 s\)/);
  // A freeing slower than the boot does not hold the power-on back.
  const slow = decideHostPower({ ...input(snapshot, config, f), freeingEstimate: 600_000 });
  deepEqual(slow.decisions.map((d) => d.kind), ["PowerOn"]);
});

Deno.test("a host without any VM is powered off only after powerOffAfter", () => {
  const names = ["pve1", "pve2", "pve3", "pve4"];
  const hosts = names.map((n) => small(n, true, false));
  const config = configWith(names, ["pve4"]);
  const f = facts(names.map((n) => ({ name: n, online: true })));
  const vms = [vm("pve1", 100), vm("pve2", 101), vm("pve3", 102)];
  const first = decideHostPower(input(snapshotOf({ hosts, vms }), config, f));
  deepEqual(first.decisions, []);
  equal(first.state.idleSince["pve/pve4"], T0);
  const later = decideHostPower({
    ...input(snapshotOf({ hosts, vms, now: T0 + 600_000 }), config, f),
    state: first.state,
  });
  deepEqual(later.decisions.map((d) => [d.kind, d.host]), [["PowerOff", "pve4"]]);
  match(later.decisions[0]!.reason.message, /pve4 ran no VM for 600 s/);
});

Deno.test("a foreign VM, even stopped, keeps its host on and restarts the idle timer", () => {
  const names = ["pve1", "pve2", "pve3"];
  const hosts = names.map((n) => small(n, true, false));
  const config = configWith(names, names);
  const f = facts(names.map((n) => ({ name: n, online: true })));
  const state = { ...initialHostPowerState(), idleSince: { "pve/pve3": T0 - 3_600_000 } };
  const plan = decideHostPower({
    ...input(
      snapshotOf({
        hosts,
        vms: [vm("pve1", 100), vm("pve2", 101), { ...vm("pve3", 102), status: "stopped" }],
      }),
      config,
      f,
    ),
    state,
  });
  deepEqual(plan.decisions, []);
  equal(plan.state.idleSince["pve/pve3"], undefined);
});

Deno.test("a foreign guest PVE lists on a host, or guests that could not be listed, keep it on", () => {
  const names = ["pve1", "pve2", "pve3", "pve4"];
  const hosts = names.map((n) => small(n, true, false));
  const config = configWith(names, names);
  const idle = Object.fromEntries(names.map((n) => [`pve/${n}`, T0 - 3_600_000]));
  const f = facts(names.map((n) => ({ name: n, online: true, guests: n === "pve1" ? 1 : 0 })));
  f[1] = { ...f[1]!, guests: undefined } as unknown as HostPowerFact;
  delete f[1]!.guests;
  const plan = decideHostPower({
    ...input(snapshotOf({ hosts }), config, f),
    state: { ...initialHostPowerState(), idleSince: idle },
  });
  deepEqual(plan.decisions.map((d) => d.host), ["pve3"]);
});

Deno.test("a 3-host cluster with two empty hosts powers off only one: the PVE cluster keeps quorum", () => {
  const names = ["pve1", "pve2", "pve3"];
  const hosts = names.map((n) => small(n, true, false));
  const config = configWith(names, names);
  const f = facts(names.map((n) => ({ name: n, online: true })));
  const state = {
    ...initialHostPowerState(),
    idleSince: { "pve/pve2": T0 - 3_600_000, "pve/pve3": T0 - 3_600_000 },
  };
  const plan = decideHostPower({
    ...input(snapshotOf({ hosts, vms: [vm("pve1", 100)] }), config, f),
    state,
  });
  deepEqual(plan.decisions.map((d) => [d.kind, d.host]), [["PowerOff", "pve2"]]);
  equal(plan.holds.length, 1);
  match(plan.holds[0]!.reason.message, /pve3 stays on: .*1 of 3 quorum votes.*lose quorum/);
});

Deno.test("a host still shutting down counts as gone: a second empty host is not powered off past quorum", () => {
  const names = ["pve1", "pve2", "pve3", "pve4"];
  const hosts = names.map((n) => small(n, true, false));
  const config = configWith(names, names);
  const f = facts(
    names.map((n) => ({ name: n, online: true, guests: n === "pve1" || n === "pve2" ? 1 : 0 })),
  );
  const idle = T0 - 3_600_000;
  // pve4 was asked to power off a moment ago and still shows online; pve3 is empty too.
  const state = {
    ...initialHostPowerState(),
    idleSince: { "pve/pve3": idle },
    poweringOff: { "pve/pve4": T0 - 5_000 },
  };
  const plan = decideHostPower({ ...input(snapshotOf({ hosts }), config, f), state });
  deepEqual(plan.decisions, []);
  match(plan.holds[0]!.reason.message, /pve3 stays on: .*2 of 4 quorum votes/);
});

Deno.test("minOnlineHosts, HA resources and maintenance each keep an empty host on, with the reason", () => {
  const names = ["pve1", "pve2", "pve3", "pve4", "pve5"];
  const hosts = names.map((n) => small(n, true, false));
  hosts[3] = { ...hosts[3]!, maintenance: "cordon" };
  const config = configWith(names, ["pve3", "pve4", "pve5"], 4);
  const f = facts(names.map((n) => ({ name: n, online: true, ha: n === "pve3" ? 2 : 0 })));
  const idle = T0 - 3_600_000;
  const state = {
    ...initialHostPowerState(),
    idleSince: { "pve/pve3": idle, "pve/pve4": idle, "pve/pve5": idle },
  };
  const plan = decideHostPower({
    ...input(snapshotOf({ hosts, vms: [vm("pve1", 100), vm("pve2", 101)] }), config, f),
    state,
  });
  deepEqual(plan.decisions.map((d) => d.host), ["pve5"]);
  const messages = plan.holds.map((h) => h.reason.message);
  match(messages[0]!, /pve3 stays on: it holds 2 HA resource/);
  match(messages[1]!, /pve4 stays on: it is in maintenance/);
  // With pve5 off, a second pass refuses for minOnlineHosts.
  const f2 = f.map((x) => x.host === "pve5" ? { ...x, online: false, power: "off" as const } : x);
  const hosts2 = hosts.map((h) => h.name === "pve5" ? { ...h, online: false } : h);
  const again = decideHostPower({
    ...input(
      snapshotOf({ hosts: hosts2, vms: [vm("pve1", 100), vm("pve2", 101)] }),
      {
        ...config,
        providers: [{
          ...config.providers[0]!,
          hosts: config.providers[0]!.hosts.map((h) => h.name === "pve3" ? { ...h } : h),
        }],
      },
      f2.map((x) => x.host === "pve3" ? { ...x, haResources: 0 } : x),
    ),
    state,
  });
  deepEqual(again.decisions, []);
  match(again.holds[0]!.reason.message, /4 host\(s\) online and minOnlineHosts is 4/);
});

Deno.test("without a hostPower policy nothing is decided", () => {
  const snapshot = snapshotOf({ pods: [pending("web-1")] });
  const plan = decideHostPower(input(snapshot, testConfig(), []));
  deepEqual(plan, { decisions: [], holds: [], state: initialHostPowerState() });
});

Deno.test("no decision ever drops below quorum or minOnlineHosts, or powers off a host with a VM, HA resources or maintenance", () => {
  let poweredOff = 0;
  // Weighted towards hosts that could be powered off, so that the guards are exercised often.
  const hostArb = fc.record({
    online: fc.constantFrom(true, true, true, true, true, true, true, false),
    votes: fc.constantFrom(1, 1, 1, 2, 3),
    vms: fc.constantFrom(0, 0, 0, 1, 2),
    ha: fc.constantFrom(0, 0, 0, 1),
    maintenance: fc.constantFrom(
      undefined,
      undefined,
      undefined,
      "cordon" as const,
      "drain" as const,
    ),
    managed: fc.constantFrom(true, true, true, false),
    idleFor: fc.integer({ min: 0, max: 7_200_000 }),
    claimed: fc.constantFrom(false, false, false, true),
    guests: fc.constantFrom(0, 0, 0, undefined, 1),
    shuttingDown: fc.constantFrom(false, false, false, false, false, true),
  });
  fc.assert(
    fc.property(
      fc.array(hostArb, { minLength: 2, maxLength: 7 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 3_600_000 }),
      (spec, minOnlineHosts, powerOffAfter) => {
        const names = spec.map((_, i) => `pve${i + 1}`);
        const base = configWith(names, names.filter((_, i) => spec[i]!.managed), minOnlineHosts);
        const config: Config = {
          ...base,
          providers: [{ ...base.providers[0]!, hostPower: { powerOffAfter, minOnlineHosts } }],
        };
        const hosts = spec.map((s, i) => ({
          ...small(names[i]!, s.online, false),
          ...(s.maintenance ? { maintenance: s.maintenance } : {}),
        }));
        const vms: VM[] = [];
        spec.forEach((s, i) => {
          for (let v = 0; v < s.vms; v++) vms.push(vm(names[i]!, 100 + i * 10 + v));
        });
        const f: HostPowerFact[] = spec.map((s, i) => ({
          provider: "pve",
          host: names[i]!,
          votes: s.votes,
          online: s.online,
          power: s.online ? "on" : "off",
          haResources: s.ha,
          ...(s.guests !== undefined ? { guests: s.guests } : {}),
        }));
        const nodeClaims = spec.flatMap((s, i) =>
          s.claimed
            ? [{
              name: `c${i}`,
              nodePool: "general",
              machineTemplate: "tpl",
              provider: "pve",
              shape: { name: "2c-4Gi", cpu: 2000, memory: 4 * GiB },
              host: names[i]!,
              createdAt: T0,
              labels: {},
              taints: [],
              startupTaints: [],
              conditions: [],
            }]
            : []
        );
        const snapshot = snapshotOf({ hosts, vms, nodeClaims });
        const state = {
          ...initialHostPowerState(),
          idleSince: Object.fromEntries(spec.map((s, i) => [`pve/${names[i]}`, T0 - s.idleFor])),
          // Hosts asked to power off earlier that still show online (mid-shutdown).
          poweringOff: Object.fromEntries(
            spec.flatMap((s, i) => s.online && s.shuttingDown ? [[`pve/${names[i]}`, T0 - 1]] : []),
          ),
        };
        const plan = decideHostPower({
          snapshot,
          config,
          plan: { claims: [], placements: [], unhelped: [] },
          facts: f,
          state,
        });
        const off = new Set(plan.decisions.filter((d) => d.kind === "PowerOff").map((d) => d.host));
        let total = 0;
        let onlineVotes = 0;
        let onlineHosts = 0;
        let onlineBefore = 0;
        spec.forEach((s, i) => {
          total += s.votes;
          if (s.online) onlineBefore++;
          // A host shutting down is gone for quorum, whatever PVE shows for now.
          if (s.online && !s.shuttingDown && !off.has(names[i]!)) {
            onlineVotes += s.votes;
            onlineHosts++;
          }
        });
        if (off.size > 0) {
          ok(onlineVotes * 2 > total, "quorum kept");
          ok(onlineHosts >= minOnlineHosts, "minOnlineHosts kept");
        }
        spec.forEach((s, i) => {
          if (!off.has(names[i]!)) return;
          ok(s.online && s.managed, "only online managed hosts are powered off");
          equal(s.vms, 0);
          equal(s.ha, 0);
          equal(s.claimed, false);
          equal(s.guests, 0, "guests known and none");
          equal(s.maintenance, undefined);
          ok(s.idleFor >= powerOffAfter);
        });
        ok(onlineBefore >= onlineHosts);
        if (off.size > 0) poweredOff++;
        // Every decision and every hold says why.
        for (const d of [...plan.decisions, ...plan.holds]) ok(d.reason.message.length > 0);
      },
    ),
    { numRuns: 1000 },
  );
  // About 9 to 13 % of the unseeded runs power a host off; 5 % is far below any run seen.
  ok(poweredOff > 50, `only ${poweredOff} of 1000 runs powered a host off`);
});
