import assert from "node:assert/strict";
import fc from "fast-check";
import { runSimulation } from "./engine.ts";
import { defaultWorld } from "./world_spec.ts";
import { buildPolicy, POLICY_NAMES } from "../policies/registry.ts";
import { defaultSimConfig, shapeOf } from "../policies/default_config.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import { GiB, MiB } from "../../core/quantity.ts";

const H = 3_600_000;

const podArb = fc.record({
  arrival: fc.integer({ min: 0, max: 3 * H }),
  life: fc.integer({ min: 1000, max: 2 * H }),
  cpu: fc.constantFrom(100, 250, 500, 1000, 2000, 3500),
  mem: fc.constantFrom(128, 512, 1024, 4096, 7000),
  batch: fc.boolean(),
});

Deno.test("for any trace, no policy overfills a node or a host, and every pod is counted once", () => {
  fc.assert(
    fc.property(
      fc.array(podArb, { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 1000 }),
      (raw, hosts, seed) => {
        const pods: TracePod[] = raw.map((p, i) => ({
          namespace: "p",
          name: `p${i}`,
          arrival: p.arrival,
          ...(p.batch ? { runFor: p.life } : { departure: p.arrival + p.life }),
          cpu: p.cpu,
          memory: p.mem * MiB,
          owner: "Deployment/x",
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
        const config = defaultSimConfig({ hosts, shapes: [shapeOf(2, 4), shapeOf(4, 8)] });
        const world = defaultWorld();
        world.defaultHost = { cpu: 8000, memory: 24 * GiB };
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
          assert.ok(s.pendingSeconds.max >= 0 && s.nodeHours >= 0, name);
        }
      },
    ),
    { numRuns: 1000 },
  );
});
