/**
 * Pins the bytes of the `sim 30 days proxscale` benchmark's replay (sim/engine/sim_bench.ts):
 * the 30-day synthetic trace, the built-in config, seed 1, the proxscale policy alone, reported
 * as `proxscale sim --json` reports it. Speed work on the engine or the core must leave every
 * decision, and so these bytes, as they were; a change of behaviour changes the digest on
 * purpose, with the new value committed and the reason in the commit message.
 */
import assert from "node:assert/strict";
import { compare } from "../report/compare.ts";
import { canonicalJson } from "../report/json.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import { buildPolicy } from "../policies/registry.ts";
import { defaultWorld } from "./world_spec.ts";
import { defaultSyntheticParams, synthesize } from "../trace/synthetic.ts";
import { fnv1a } from "../../core/hash.ts";

/** The committed digest of the benchmark replay's report. */
const BENCH_REPORT_DIGEST = "543b309e";

Deno.test("the 30-day benchmark replay's report bytes match the committed digest", () => {
  const config = defaultSimConfig();
  const report = compare({
    trace: synthesize(defaultSyntheticParams(30, 0.45, 20260901)),
    config,
    world: defaultWorld(),
    seed: 1,
    policies: [buildPolicy("proxscale", config)],
  });
  assert.equal(fnv1a(canonicalJson(report)).toString(16).padStart(8, "0"), BENCH_REPORT_DIGEST);
});
