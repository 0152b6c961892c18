import assert from "node:assert/strict";
import fc from "fast-check";
import { sortSmall } from "./small_sort.ts";

type Item = { key: number; id: number };
const byKey = (a: Item, b: Item) => a.key - b.key;

Deno.test("sortSmall gives exactly the order Array.prototype.sort gives, equal keys kept in input order", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 60 }), (keys) => {
      const items = keys.map((key, id) => ({ key, id }));
      const expected = [...items].sort(byKey);
      const got = sortSmall([...items], byKey);
      assert.deepEqual(got, expected);
    }),
    { numRuns: 300 },
  );
});

Deno.test("sortSmall sorts in place and returns the same array", () => {
  const list = [3, 1, 2];
  const out = sortSmall(list, (a, b) => a - b);
  assert.equal(out, list);
  assert.deepEqual(list, [1, 2, 3]);
});
