/**
 * `sim 30 days`: a 30-day synthetic trace of ~10,000 pods (diurnal services, bursts, nightly
 * batch jobs) replayed through the proxscale policy with the full core (provisioning and
 * disruption on every decision). Target: >= 100,000x real time, i.e. under 25.9 s for the
 * 2,592,000 simulated seconds. Run:
 *   npx -y deno@2.9.6 bench -A --frozen sim/engine/sim_bench.ts
 */
import { runSimulation } from "./engine.ts";
import { defaultWorld } from "./world_spec.ts";
import { proxscalePolicy } from "../policies/proxscale.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import { defaultSyntheticParams, synthesize } from "../trace/synthetic.ts";

const trace = synthesize(defaultSyntheticParams(30, 0.45, 20260901));
const config = defaultSimConfig();

Deno.bench({
  name: "sim 30 days",
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
