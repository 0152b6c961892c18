import assert from "node:assert/strict";
import { runSimulation } from "./engine.ts";
import { defaultWorld, worldFrom, type WorldSpec } from "./world_spec.ts";
import type { Launch, Policy } from "./policy.ts";
import type { SimNode } from "./world.ts";
import { defaultSimConfig, shapeOf } from "../policies/default_config.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import { reason } from "../../core/reason.ts";
import type { Shape, Snapshot } from "../../core/model.ts";
import { GiB } from "../../core/quantity.ts";

const S = 1000;
const H = 3_600_000;

/** Constant delays, no clone failures, and every host with `gpus` GPUs of mapping "gpu". */
function gpuWorld(gpus: number): WorldSpec {
  const w = defaultWorld();
  w.delays = {
    clone: { kind: "constant", value: 10 * S },
    boot: { kind: "constant", value: 20 * S },
    join: { kind: "constant", value: 10 * S },
    drainPerPod: { kind: "constant", value: 0 },
    destroy: { kind: "constant", value: 5 * S },
  };
  w.cloneFailure = 0;
  w.defaultHost = { ...w.defaultHost, gpus: [{ mapping: "gpu", count: gpus, model: "L4" }] };
  return w;
}

function pod(name: string, arrival: number, gpus: number, extra: Partial<TracePod> = {}) {
  const p: TracePod = {
    namespace: "t",
    name,
    arrival,
    departure: H,
    cpu: 1000,
    memory: GiB,
    owner: "Job/x",
    ...extra,
  };
  if (gpus > 0) p.extended = { "nvidia.com/gpu": gpus };
  return p;
}

function trace(pods: TracePod[]): Trace {
  return { name: "t", source: "test", duration: 2 * H, pods, nodes: [], pdbs: [], notes: [] };
}

const GPU1: Shape = { ...shapeOf(8, 32), name: "8c-32Gi-1gpu", gpus: { count: 1, mapping: "gpu" } };

/**
 * A policy that launches the given VMs at its first call, deletes every claim from 1 h on, and
 * records what each snapshot's hosts show.
 */
function scripted(
  launches: (snap: Snapshot) => Launch[],
  seen: { now: number; claims: number; free: number }[],
): Policy<boolean> {
  const config = defaultSimConfig({ hosts: 1, gpu: { replicas: 4, maxGpus: 1 } });
  return {
    name: "scripted",
    description: "",
    config,
    trigger: { kind: "batch", idle: 1000, max: 1000 },
    initialState: () => false,
    decide: (snap, _c, done) => {
      const free = snap.hosts[0]!.devices?.[0]?.free ?? -1;
      seen.push({ now: snap.now, claims: snap.nodeClaims.length, free });
      const deletions = snap.now < H ? [] : snap.nodeClaims.filter((c) => !c.deleting).map((c) => ({
        claim: c.name,
        reason: reason("Empty", "test"),
      }));
      return { launches: done ? [] : launches(snap), deletions, state: true, wakeAt: H };
    },
  };
}

function launch(name: string, shape: Shape): Launch {
  return {
    name,
    nodePool: "general",
    machineTemplate: "worker",
    provider: "sim",
    shape,
    host: "pve1",
    labels: { "kubernetes.io/hostname": name },
    taints: [],
    startupTaints: [],
    reason: reason("PodsPending", "test"),
  };
}

Deno.test("a GPU VM holds its host's device from clone to destroy; a launch without free devices is refused", () => {
  const seen: { now: number; claims: number; free: number }[] = [];
  const nodes = new Map<string, SimNode>();
  const r = runSimulation({
    trace: trace([pod("g1", 0, 1), pod("g2", 0, 1)]),
    policy: scripted(() => [launch("vm-a", GPU1), launch("vm-b", GPU1)], seen),
    world: gpuWorld(1),
    seed: 1,
    checkInvariants: true,
    observe: (_t, ns) => {
      for (const n of ns) nodes.set(n.name, n);
    },
  });
  // One device on the only host: the second VM is refused as Proxmox would refuse to start it.
  assert.equal(r.summary.vmCreates, 1);
  assert.equal(r.summary.launchFailures, 1);
  assert.deepEqual([...nodes.keys()], ["vm-a"]);
  // Free before the launch, held while the VM exists, free again once it is destroyed.
  assert.deepEqual(seen[0], { now: 1000, claims: 0, free: 1 });
  assert.ok(seen.some((s) => s.claims === 1 && s.free === 0));
  for (const s of seen.slice(1)) assert.equal(s.free, s.claims > 0 ? 0 : 1, JSON.stringify(s));
  assert.deepEqual(seen[seen.length - 1]!, { ...seen[seen.length - 1]!, claims: 0, free: 1 });
  assert.equal(r.summary.vmDeletes, 1);
});

Deno.test("a Ready GPU node advertises count x replicas GPUs, and the scheduler binds only that many GPU units", () => {
  let extended: Record<string, number> | undefined;
  let bound: string[] = [];
  // Replicas 4: one GPU is 4 units; three pods of 2 units fit two on it, the third stays pending.
  const r = runSimulation({
    trace: trace([pod("a", 0, 2), pod("b", 0, 2), pod("c", 0, 2), pod("cpu", 0, 0)]),
    policy: scripted(() => [launch("vm-a", GPU1)], []),
    world: gpuWorld(2),
    seed: 1,
    checkInvariants: true,
    observe: (now, ns) => {
      // While the pods run: after the node is Ready at 41 s, before they leave at 1 h.
      if (now <= 41 * S || now >= H) return;
      for (const n of ns) {
        extended = { ...n.node!.allocatable.extended };
        bound = [...n.pods].map((p) => p.tp.name).sort();
      }
    },
  });
  assert.deepEqual(extended, { "nvidia.com/gpu": 4 });
  assert.equal(bound.filter((n) => n !== "cpu").length, 2, bound.join(","));
  assert.ok(bound.includes("cpu"), "a CPU pod may run on a GPU node");
  assert.equal(r.summary.podsNeverScheduled, 1);
  // All 4 units requested from Ready (41 s) until the pods leave (1 h), when the node is
  // deleted: time-weighted GPU utilisation all but the last second or so.
  const u = r.summary.utilization.gpu!;
  assert.ok(u > 0.999 && u <= 1, `${u}`);
});

Deno.test("a CPU-only node never takes a GPU pod", () => {
  const r = runSimulation({
    trace: trace([pod("g", 0, 1)]),
    policy: scripted(() => [launch("vm-cpu", shapeOf(4, 8))], []),
    world: gpuWorld(1),
    seed: 1,
    checkInvariants: true,
  });
  assert.equal(r.summary.vmCreates, 1);
  assert.equal(r.summary.podsScheduled, 0);
  assert.equal(r.summary.podsNeverScheduled, 1);
});

Deno.test("the world file gives hosts GPUs and refuses malformed ones", () => {
  const ok = worldFrom({
    hosts: [{
      name: "pve1",
      cpu: 64_000,
      memory: 256 * GiB,
      gpus: [{ mapping: "a100", count: 4 }],
    }],
    defaultHost: {
      cpu: 32_000,
      memory: 128 * GiB,
      gpus: [{ mapping: "t4", count: 2, model: "T4" }],
    },
  });
  assert.ok(ok.ok);
  assert.deepEqual(ok.value.hosts[0]!.gpus, [{ mapping: "a100", count: 4 }]);
  assert.deepEqual(ok.value.defaultHost.gpus, [{ mapping: "t4", count: 2, model: "T4" }]);
  const bad = worldFrom({ hosts: [{ name: "pve1", cpu: 1, memory: 1, gpus: [{ count: 1 }] }] });
  assert.ok(!bad.ok);
  assert.match(bad.error, /host pve1: gpus must be a list of \{mapping/);
});
