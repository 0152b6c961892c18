/**
 * The embedded default trace: what `proxscale sim` replays with no --trace. It is the synthetic
 * generator's output for fixed parameters and seed (three days, ~3,000 pods), produced at load
 * time instead of committed as data: the generator is deterministic, so the bytes are pinned by
 * a digest test (default_trace_test.ts) and any change to them is deliberate.
 *
 * May import: sim/trace/.
 */
import type { Trace } from "./format.ts";
import { defaultSyntheticParams, synthesize } from "./synthetic.ts";

/** The default trace (a fresh copy each call; callers may not share it mutably). */
export function defaultTrace(): Trace {
  return synthesize(defaultSyntheticParams());
}
