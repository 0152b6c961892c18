import assert from "node:assert/strict";
import { defaultTrace } from "./default_trace.ts";
import { traceDigest, writeTrace } from "./format.ts";
import { defaultSyntheticParams, synthesize } from "./synthetic.ts";

Deno.test("the embedded default trace is pinned: same generator, same bytes", () => {
  const a = defaultTrace();
  const b = defaultTrace();
  assert.equal(writeTrace(a), writeTrace(b));
  // Changing the generator or its parameters changes this digest: update it deliberately,
  // together with the figures in docs/performance.md.
  assert.equal(traceDigest(a), "61d59c6d");
  assert.equal(a.pods.length, 2220);
  assert.equal(a.duration, 3 * 24 * 3_600_000);
});

Deno.test("the default trace stays modest and mixes services, bursts and batch jobs", () => {
  const t = defaultTrace();
  assert.ok(writeTrace(t).length < 600_000);
  const owners = new Set(t.pods.map((p) => p.owner?.split("/")[0]));
  assert.deepEqual([...owners].sort(), ["Deployment", "Job", "ReplicaSet"]);
  assert.ok(t.pods.some((p) => p.runFor !== undefined), "batch pods run a fixed time");
});

Deno.test("a different seed gives a different trace, the same seed the same one", () => {
  const p = defaultSyntheticParams(1, 1, 5);
  assert.equal(traceDigest(synthesize(p)), traceDigest(synthesize(p)));
  assert.notEqual(traceDigest(synthesize(p)), traceDigest(synthesize({ ...p, seed: 6 })));
});
