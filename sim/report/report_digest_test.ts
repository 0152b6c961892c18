/**
 * Pins the bytes of the default comparison: the embedded trace, the built-in config, seed 1,
 * every policy, canonical JSON. Speed work must not change a decision, so it must not change
 * this digest; a change of behaviour changes it on purpose, with the new value committed and
 * the reason in the commit message.
 */
import assert from "node:assert/strict";
import { compare } from "./compare.ts";
import { canonicalJson } from "./json.ts";
import { defaultTrace } from "../trace/default_trace.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import { defaultWorld } from "../engine/world_spec.ts";
import { buildPolicy, POLICY_NAMES } from "../policies/registry.ts";
import { fnv1a } from "../../core/hash.ts";

/** The committed digest of `proxscale sim --json` on the embedded default. */
const DEFAULT_REPORT_DIGEST = "379c77dd";

Deno.test("the default comparison's report bytes match the committed digest", () => {
  const config = defaultSimConfig();
  const report = compare({
    trace: defaultTrace(),
    config,
    world: defaultWorld(),
    seed: 1,
    policies: POLICY_NAMES.map((n) => buildPolicy(n, config)),
  });
  const digest = fnv1a(canonicalJson(report)).toString(16).padStart(8, "0");
  assert.equal(digest, DEFAULT_REPORT_DIGEST);
});
