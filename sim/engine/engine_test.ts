import assert from "node:assert/strict";
import { runSimulation } from "./engine.ts";
import { defaultWorld, type WorldSpec } from "./world_spec.ts";
import type { Policy } from "./policy.ts";
import { proxscalePolicy } from "../policies/proxscale.ts";
import { defaultSimConfig, shapeOf } from "../policies/default_config.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import { reason } from "../../core/reason.ts";
import { GiB } from "../../core/quantity.ts";
import { hostLimit } from "../../core/placement.ts";

const S = 1000;
const H = 3_600_000;

function fixedWorld(): WorldSpec {
  const w = defaultWorld();
  w.delays = {
    clone: { kind: "constant", value: 10 * S },
    boot: { kind: "constant", value: 20 * S },
    join: { kind: "constant", value: 10 * S },
    drainPerPod: { kind: "constant", value: 0 },
    destroy: { kind: "constant", value: 5 * S },
  };
  w.cloneFailure = 0;
  return w;
}

function pod(name: string, arrival: number, extra: Partial<TracePod> = {}): TracePod {
  return {
    namespace: "t",
    name,
    arrival,
    departure: H,
    cpu: 1000,
    memory: GiB,
    owner: "Deployment/x",
    ...extra,
  };
}

function trace(pods: TracePod[], duration = 2 * H): Trace {
  return { name: "t", source: "test", duration, pods, nodes: [], pdbs: [], notes: [] };
}

Deno.test("pending pods get one VM; they bind when it is Ready and it goes once empty", () => {
  const r = runSimulation({
    trace: trace([pod("a", 0), pod("b", 0), pod("c", 0)]),
    // Windows set here (not the built-in ones) so that each term of the sum below shows.
    policy: proxscalePolicy(
      defaultSimConfig({ consolidateAfterMs: 60_000, stabilizationWindowMs: 300_000 }),
    ),
    world: fixedWorld(),
    seed: 1,
  });
  const s = r.summary;
  // Batch window 1 s, then clone 10 s + boot 20 s + join 10 s.
  assert.deepEqual(s.pendingSeconds, { p50: 41, p90: 41, p95: 41, p99: 41, max: 41 });
  assert.equal(s.vmCreates, 1);
  assert.equal(s.vmDeletes, 1);
  assert.deepEqual(s.nodesRemovedByReason, { Empty: 1 });
  assert.equal(s.podsNeverScheduled, 0);
  // Paid from the clone request (1 s) to destruction: departure at 1 h, seen after the 1 s
  // batch window; the departure is a pod event, so the node is unneeded once consolidateAfter
  // (1 min) has passed since, then removed after the 5 min stabilization window, destroyed 5 s
  // later.
  const expected = (H + 1 * S + 60 * S + 300 * S + 5 * S - 1 * S) / H;
  assert.ok(Math.abs(s.nodeHours - expected) < 1e-9, `${s.nodeHours} vs ${expected}`);
  assert.ok(Math.abs(s.nodeHoursProvisioning - 40 / 3600) < 1e-9);
});

Deno.test("a pod that fits no shape stays pending and is counted as never scheduled", () => {
  const huge = pod("huge", 0, { cpu: 64_000 });
  delete huge.departure;
  const r = runSimulation({
    trace: trace([huge, pod("gone", 0, { cpu: 64_000 })]),
    policy: proxscalePolicy(defaultSimConfig()),
    world: fixedWorld(),
    seed: 1,
  });
  assert.equal(r.summary.vmCreates, 0);
  // "huge" runs to the end of the trace and "gone" leaves while still pending.
  assert.equal(r.summary.podsNeverScheduled, 2);
  assert.equal(r.summary.podsPendingAtEnd, 1);
});

Deno.test("the world never commits a host beyond its limit, whatever a policy asks", () => {
  const config = defaultSimConfig({ hosts: 1, shapes: [shapeOf(8, 16)] });
  let launched = false;
  const greedy: Policy<null> = {
    name: "greedy",
    description: "asks for 100 VMs at once",
    config,
    trigger: { kind: "batch", idle: 1000, max: 10_000 },
    initialState: () => null,
    decide: (snap) => {
      if (launched) return { launches: [], deletions: [], state: null };
      launched = true;
      const h = snap.hosts[0]!;
      return {
        launches: Array.from({ length: 100 }, (_, i) => ({
          name: `vm-${i}`,
          nodePool: "general",
          machineTemplate: "worker",
          provider: "sim",
          shape: shapeOf(8, 16),
          host: h.name,
          labels: {},
          taints: [],
          startupTaints: [],
          reason: reason("PodsPending", "test"),
        })),
        deletions: [],
        state: null,
      };
    },
  };
  const r = runSimulation({
    trace: trace([pod("a", 0)]),
    policy: greedy,
    world: fixedWorld(),
    seed: 1,
  });
  const h = { ...config.providers[0]!.hosts[0]!, capacity: { cpu: 32_000, memory: 128 * GiB } };
  const limit = hostLimit({
    ...h,
    provider: "sim",
    online: true,
    committed: { cpu: 0, memory: 0 },
  });
  const perVm = 16 * GiB + 512 * 2 ** 20;
  const fit = Math.min(Math.floor(limit.cpu / 8000), Math.floor(limit.memory / perVm));
  assert.equal(r.summary.vmCreates, fit);
  assert.equal(r.summary.launchFailures, 100 - fit);
});

Deno.test("a drained node's pods are evicted, pend again and bind elsewhere", () => {
  const config = defaultSimConfig();
  let step = 0;
  const mover: Policy<null> = {
    name: "mover",
    description: "two VMs, then deletes the one with pods",
    config,
    trigger: { kind: "batch", idle: 1000, max: 10_000 },
    initialState: () => null,
    decide: (snap) => {
      const launch = (name: string) => ({
        name,
        nodePool: "general",
        machineTemplate: "worker",
        provider: "sim",
        shape: shapeOf(4, 8),
        host: "pve1",
        labels: {},
        taints: [],
        startupTaints: [],
        reason: reason("PodsPending", "test"),
      });
      if (step === 0) {
        step = 1;
        return { launches: [launch("one")], deletions: [], state: null };
      }
      const busy = snap.pods.find((p) => p.nodeName === "one");
      if (step === 1 && busy) {
        step = 2;
        return { launches: [launch("two")], deletions: [], state: null, wakeAt: snap.now + 60_000 };
      }
      if (step === 2 && snap.nodes.some((n) => n.name === "two")) {
        step = 3;
        return {
          launches: [],
          deletions: [{ claim: "one", reason: reason("Underutilized", "test") }],
          state: null,
        };
      }
      return { launches: [], deletions: [], state: null };
    },
  };
  const r = runSimulation({
    trace: trace([pod("a", 0), pod("b", 0)]),
    policy: mover,
    world: fixedWorld(),
    seed: 1,
  });
  assert.equal(r.summary.evictions, 2);
  assert.equal(r.summary.podsScheduled, 2);
  assert.deepEqual(r.summary.nodesRemovedByReason, { Underutilized: 1 });
  assert.equal(r.summary.vmCreates, 2);
});

Deno.test("same seed, same trace, same config: identical results; another seed differs", () => {
  const pods = Array.from(
    { length: 60 },
    (_, i) => pod(`p${i}`, i * 45 * S, { departure: i * 45 * S + H / 2 }),
  );
  const run = (seed: number) =>
    JSON.stringify(
      runSimulation({
        trace: trace(pods),
        policy: proxscalePolicy(defaultSimConfig()),
        world: defaultWorld(),
        seed,
      }),
    );
  assert.equal(run(9), run(9));
  assert.notEqual(run(9), run(10));
});
