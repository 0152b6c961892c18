/** The hashes' memoised forms answer exactly what the direct computations do. */
import assert from "node:assert/strict";
import { base36, fnv1a, fnv1aMemo } from "./hash.ts";

Deno.test("a memoised hash equals the direct one, the first time and again", () => {
  for (const t of ["", "default/web-00001", "kube-system/a", "x".repeat(300)]) {
    assert.equal(fnv1aMemo(t), fnv1a(t));
    assert.equal(fnv1aMemo(t), fnv1a(t));
  }
  assert.notEqual(fnv1aMemo("a"), fnv1aMemo("b"));
});

Deno.test("the memoised base-36 text equals Number.toString(36), the first time and again", () => {
  for (const n of [0, 1, 35, 36, 1295, 2 ** 31, 2 ** 32 - 1]) {
    assert.equal(base36(n), n.toString(36));
    assert.equal(base36(n), n.toString(36));
  }
});
