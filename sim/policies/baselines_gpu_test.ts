import assert from "node:assert/strict";
import { runSimulation } from "../engine/engine.ts";
import { defaultWorld } from "../engine/world_spec.ts";
import { defaultSimConfig } from "./default_config.ts";
import { withDefaultGpus } from "./gpu_defaults.ts";
import { buildPolicy, POLICY_NAMES } from "./registry.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import { GiB } from "../../core/quantity.ts";

const S = 1000;
const H = 3_600_000;

function world() {
  const w = withDefaultGpus(defaultWorld());
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

function pod(name: string, arrival: number, gpus: number): TracePod {
  return {
    namespace: "t",
    name,
    arrival,
    departure: arrival + H,
    cpu: 2000,
    memory: 4 * GiB,
    owner: "Job/x",
    ...(gpus > 0 ? { extended: { "nvidia.com/gpu": gpus } } : {}),
  };
}

const trace = (pods: TracePod[]): Trace => ({
  name: "t",
  source: "",
  duration: 3 * H,
  pods,
  nodes: [],
  pdbs: [],
  notes: [],
});

/** Every VM shape each policy opened for `t`, with the run's summary. */
function run(t: Trace) {
  // Time-sliced: 10 replicas per GPU; shapes up to 2 GPUs.
  const config = defaultSimConfig({ gpu: { replicas: 10, maxGpus: 2 } });
  return POLICY_NAMES.map((name) => {
    const shapes = new Map<string, number>();
    const r = runSimulation({
      trace: t,
      policy: buildPolicy(name, config),
      world: world(),
      seed: 1,
      checkInvariants: true,
      observe: (_now, nodes) => {
        for (const n of nodes) shapes.set(n.name, n.claim!.shape.gpus?.count ?? 0);
      },
    });
    return { name, gpusPerVm: [...shapes.values()], summary: r.summary };
  });
}

Deno.test("no policy opens a CPU-only VM for GPU pods, and every GPU pod runs", () => {
  // Shares of 3, 5 and 10 replicas, and one pod of two whole GPUs (20 replicas).
  const pods = [
    pod("s3", 0, 3),
    pod("s5", 0, 5),
    pod("w10", 60 * S, 10),
    pod("w20", 120 * S, 20),
    pod("s3b", 600 * S, 3),
  ];
  for (const r of run(trace(pods))) {
    assert.ok(r.gpusPerVm.length > 0, r.name);
    assert.ok(r.gpusPerVm.every((g) => g > 0), `${r.name} opened ${r.gpusPerVm}`);
    assert.ok(r.gpusPerVm.includes(2), `${r.name}: the 20-replica pod needs a 2-GPU VM`);
    assert.equal(r.summary.podsNeverScheduled, 0, r.name);
    assert.equal(r.summary.podsScheduled, pods.length, r.name);
    assert.ok(r.summary.utilization.gpu! > 0, r.name);
  }
});

Deno.test("no policy spends a GPU on CPU pods when a CPU shape holds them", () => {
  const pods = Array.from({ length: 6 }, (_, i) => pod(`c${i}`, i * 30 * S, 0));
  for (const r of run(trace(pods))) {
    assert.ok(r.gpusPerVm.length > 0, r.name);
    assert.ok(r.gpusPerVm.every((g) => g === 0), `${r.name} opened ${r.gpusPerVm}`);
    assert.equal(r.summary.podsNeverScheduled, 0, r.name);
  }
});
