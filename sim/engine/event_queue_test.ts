import assert from "node:assert/strict";
import fc from "fast-check";
import { EventClass, EventQueue } from "./event_queue.ts";

Deno.test("equal times pop departures, world, arrivals, controller; then key; then insertion", () => {
  const q = new EventQueue<string>();
  q.push(5, EventClass.Controller, "a", "wake");
  q.push(5, EventClass.Arrival, "b", "arrive-b");
  q.push(5, EventClass.Arrival, "a", "arrive-a");
  q.push(5, EventClass.Departure, "z", "depart");
  q.push(5, EventClass.World, "n", "ready-1");
  q.push(5, EventClass.World, "n", "ready-2");
  q.push(1, EventClass.Controller, "x", "early");
  const out: string[] = [];
  for (let e = q.pop(); e; e = q.pop()) out.push(e.payload);
  assert.deepEqual(out, ["early", "depart", "ready-1", "ready-2", "arrive-a", "arrive-b", "wake"]);
});

Deno.test("the heap pops events in (time, class, key, seq) order for any insertion order", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: 20 }),
          fc.integer({ min: 0, max: 3 }),
          fc.constantFrom("a", "b", "c"),
        ),
        { maxLength: 200 },
      ),
      (items) => {
        const q = new EventQueue<number>();
        items.forEach(([t, c, k], i) => q.push(t, c as EventClass, k, i));
        const popped: number[] = [];
        for (let e = q.pop(); e; e = q.pop()) popped.push(e.payload);
        const expected = items.map((x, i) => ({ x, i })).sort((p, r) =>
          p.x[0] - r.x[0] || p.x[1] - r.x[1] || (p.x[2] < r.x[2] ? -1 : p.x[2] > r.x[2] ? 1 : 0) ||
          p.i - r.i
        ).map((p) => p.i);
        assert.deepEqual(popped, expected);
      },
    ),
    { numRuns: 1000 },
  );
});
