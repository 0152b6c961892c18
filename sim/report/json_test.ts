import assert from "node:assert/strict";
import { canonicalJson } from "./json.ts";
import { nearestRank } from "./metrics.ts";

Deno.test("canonical JSON sorts keys, rounds numbers and never prints -0", () => {
  const a = canonicalJson({ b: 1.23456789, a: [1, 2], c: { z: -0, y: "s" }, u: undefined });
  const b = canonicalJson({ c: { y: "s", z: 0 }, a: [1, 2], b: 1.2345678901 });
  assert.equal(a, b);
  assert.equal(
    a,
    '{\n  "a": [1,2],\n  "b": 1.234568,\n  "c": {\n    "y": "s",\n    "z": 0\n  }\n}\n',
  );
});

Deno.test("percentiles are nearest rank: the ceil(q*n)-th smallest", () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(nearestRank(xs, 0.5), 5);
  assert.equal(nearestRank(xs, 0.95), 10);
  assert.equal(nearestRank(xs, 0.9), 9);
  assert.equal(nearestRank([], 0.5), 0);
  assert.equal(nearestRank([7], 0.99), 7);
});
