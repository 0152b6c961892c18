import assert from "node:assert/strict";
import { Rng } from "./rng.ts";
import { sample } from "./distribution.ts";

Deno.test("the same seed gives the same draws; another seed other draws", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xs = Array.from({ length: 50 }, () => a.nextU32());
  assert.deepEqual(xs, Array.from({ length: 50 }, () => b.nextU32()));
  assert.notDeepEqual(xs, Array.from({ length: 50 }, () => c.nextU32()));
});

Deno.test("draws stay in range and spread over it", () => {
  const r = new Rng(7);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 10_000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]++;
  }
  for (const n of buckets) assert.ok(n > 850 && n < 1150, `bucket ${n}`);
});

Deno.test("derived generators do not depend on how much the parent was used", () => {
  assert.equal(Rng.derive(1, "delays").nextU32(), Rng.derive(1, "delays").nextU32());
  assert.notEqual(Rng.derive(1, "delays").nextU32(), Rng.derive(1, "failures").nextU32());
});

Deno.test("distributions respect their bounds and whole milliseconds", () => {
  const r = new Rng(3);
  for (let i = 0; i < 1000; i++) {
    const u = sample({ kind: "uniform", min: 100, max: 200 }, r);
    assert.ok(u >= 100 && u <= 200 && Number.isInteger(u));
    const l = sample({ kind: "lognormal", median: 1000, sigma: 1, max: 5000 }, r);
    assert.ok(l >= 0 && l <= 5000 && Number.isInteger(l));
  }
  assert.equal(sample({ kind: "constant", value: 12.4 }, r), 12);
});
