/**
 * `sim 30 days proxscale`: a 30-day synthetic trace of ~10,000 pods (diurnal services, bursts,
 * nightly batch jobs) replayed through the proxscale policy with the full core (provisioning and
 * disruption on every decision). `sim 30 days 4 policies` replays the same trace with every
 * policy, one after another, as `proxscale sim` does; its speed is the span once over the total
 * wall time. Figures and load in docs/performance.md. Run:
 *   npx -y deno@2.9.6 bench -A --frozen sim/engine/sim_bench.ts
 */
import { runSimulation } from "./engine.ts";
import { defaultWorld } from "./world_spec.ts";
import { proxscalePolicy } from "../policies/proxscale.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import { buildPolicy, POLICY_NAMES } from "../policies/registry.ts";
import { defaultSyntheticParams, synthesize } from "../trace/synthetic.ts";

const trace = synthesize(defaultSyntheticParams(30, 0.45, 20260901));
const config = defaultSimConfig();

Deno.bench({
  name: "sim 30 days proxscale",
  n: 1,
  warmup: 0,
  fn() {
    const r = runSimulation({
      trace,
      policy: proxscalePolicy(config),
      world: defaultWorld(),
      seed: 1,
    });
    if (r.summary.podsScheduled === 0) throw new Error("nothing was scheduled");
  },
});

Deno.bench({
  name: "sim 30 days 4 policies",
  n: 1,
  warmup: 0,
  fn() {
    for (const name of POLICY_NAMES) {
      const r = runSimulation({
        trace,
        policy: buildPolicy(name, config),
        world: defaultWorld(),
        seed: 1,
      });
      if (r.summary.podsScheduled === 0) throw new Error(`${name} scheduled nothing`);
    }
  },
});
