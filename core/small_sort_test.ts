import assert from "node:assert/strict";
import fc from "fast-check";
import { SortMemo, sortSmall } from "./small_sort.ts";

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

Deno.test("SortMemo gives sortSmall's order on every call, whether the owner's items changed or not", () => {
  // Calls for a few owners with lists drawn from a small pool of items, so that repeats (the
  // remembered answer) and changes (a new item, a dropped one, a new input order) both occur.
  const pool: Item[] = Array.from({ length: 8 }, (_, id) => ({ key: id % 3, id }));
  const owners = [{}, {}, {}];
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          owner: fc.integer({ min: 0, max: owners.length - 1 }),
          picks: fc.array(fc.integer({ min: 0, max: pool.length - 1 }), { maxLength: 8 }),
          repeat: fc.boolean(),
        }),
        { maxLength: 40 },
      ),
      (calls) => {
        const memo = new SortMemo<object, Item>(byKey);
        const lastInput = new Map<number, Item[]>();
        for (const call of calls) {
          const input = call.repeat && lastInput.has(call.owner)
            ? [...lastInput.get(call.owner)!]
            : call.picks.map((i) => pool[i]!);
          lastInput.set(call.owner, [...input]);
          const expected = sortSmall([...input], byKey);
          const list = [...input];
          const got = memo.sort(owners[call.owner]!, list);
          assert.equal(got, list);
          assert.deepEqual(got.map((x) => x.id), expected.map((x) => x.id));
        }
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("SortMemo answers a repeat from memory: the comparator is not called again", () => {
  let calls = 0;
  const memo = new SortMemo<object, number>((a, b) => {
    calls++;
    return a - b;
  });
  const owner = {};
  const a = 5, b = 1, c = 3;
  assert.deepEqual(memo.sort(owner, [a, b, c]), [1, 3, 5]);
  const first = calls;
  assert.ok(first > 0);
  assert.deepEqual(memo.sort(owner, [a, b, c]), [1, 3, 5]);
  assert.equal(calls, first);
  // Another input order for the same owner is sorted afresh.
  assert.deepEqual(memo.sort(owner, [c, a, b]), [1, 3, 5]);
  assert.ok(calls > first);
});
