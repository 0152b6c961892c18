import assert from "node:assert/strict";
import fc from "fast-check";
import { runSimulation } from "./engine.ts";
import { defaultWorld } from "./world_spec.ts";
import { buildPolicy, POLICY_NAMES } from "../policies/registry.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import { GiB, MiB } from "../../core/quantity.ts";

const H = 3_600_000;

const podArb = fc.record({
  arrival: fc.integer({ min: 0, max: 3 * H }),
  life: fc.integer({ min: 1000, max: 2 * H }),
  cpu: fc.constantFrom(100, 500, 1000, 2000, 4000),
  mem: fc.constantFrom(128, 1024, 4096, 16_384),
  // Time-sliced GPU units (10 per GPU): none, shares, one GPU, two GPUs, more than any shape.
  gpu: fc.constantFrom(0, 0, 1, 3, 5, 10, 20, 30),
});

Deno.test("with GPU pods and few devices, no policy overfills a node's GPUs or a host's devices, and every pod is counted once", () => {
  fc.assert(
    fc.property(
      fc.array(podArb, { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 1000 }),
      (raw, hosts, gpusPerHost, seed) => {
        const pods: TracePod[] = raw.map((p, i) => ({
          namespace: "p",
          name: `p${i}`,
          arrival: p.arrival,
          departure: p.arrival + p.life,
          cpu: p.cpu,
          memory: p.mem * MiB,
          owner: "Job/x",
          ...(p.gpu > 0 ? { extended: { "nvidia.com/gpu": p.gpu } } : {}),
        }));
        pods.sort((a, b) => a.arrival - b.arrival || (a.name < b.name ? -1 : 1));
        const trace: Trace = {
          name: "prop",
          source: "",
          duration: 4 * H,
          pods,
          nodes: [],
          pdbs: [],
          notes: [],
        };
        const config = defaultSimConfig({ hosts, gpu: { replicas: 10, maxGpus: 2 } });
        const world = defaultWorld();
        world.defaultHost = {
          cpu: 32_000,
          memory: 128 * GiB,
          gpus: [{ mapping: "gpu", count: gpusPerHost }],
        };
        world.cloneFailure = 0.05;
        for (const name of POLICY_NAMES) {
          const r = runSimulation({
            trace,
            policy: buildPolicy(name, config),
            world,
            seed,
            checkInvariants: true,
          });
          const s = r.summary;
          assert.equal(s.podsScheduled + s.podsNeverScheduled, pods.length, name);
          assert.ok(s.vmDeletes <= s.vmCreates, name);
          const u = s.utilization.gpu!;
          assert.ok(u >= 0 && u <= 1 + 1e-9, `${name}: GPU utilisation ${u}`);
        }
      },
    ),
    { numRuns: 1000 },
  );
});
