import assert from "node:assert/strict";
import fc from "fast-check";
import { chooseVmid, vmidExhaustedReason, vmidStart } from "./vmid.ts";

const RUNS = 1000;

/** A range (sometimes a single id, sometimes huge) and id sets around and inside it. */
const scenario = fc.record({
  lower: fc.integer({ min: 100, max: 100_000 }),
  width: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 1_000_000 })),
  taken: fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 60 }),
  reserved: fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 10 }),
  quarantined: fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 10 }),
  outside: fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 5 }),
  fraction: fc.double({ min: 0, max: 1, noNaN: true }),
}).map((s) => {
  const upper = s.lower + s.width;
  // Offsets are mapped into the range so small ranges get crowded and full often.
  const into = (o: number) => s.lower + (o % (s.width + 1));
  return {
    range: { lower: s.lower, upper },
    taken: [...s.taken.map(into), ...s.outside.map((o) => s.lower - o), upper + 1],
    reserved: s.reserved.map(into),
    quarantined: s.quarantined.map(into),
    start: vmidStart({ lower: s.lower, upper }, s.fraction),
  };
});

Deno.test("VMID allocation never returns a taken, reserved, quarantined or out-of-range id", () => {
  fc.assert(
    fc.property(scenario, (input) => {
      const r = chooseVmid(input);
      if (!r.ok) return;
      const id = r.value.vmid;
      assert.ok(id >= input.range.lower && id <= input.range.upper, `out of range: ${id}`);
      assert.ok(!input.taken.includes(id), `taken: ${id}`);
      assert.ok(!input.reserved.includes(id), `reserved: ${id}`);
      assert.ok(!input.quarantined.includes(id), `quarantined: ${id}`);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("VMID allocation reports exhaustion exactly when every id in the range is blocked", () => {
  fc.assert(
    fc.property(scenario, (input) => {
      const r = chooseVmid(input);
      const blocked = new Set(
        [...input.taken, ...input.reserved, ...input.quarantined].filter((id) =>
          id >= input.range.lower && id <= input.range.upper
        ),
      );
      const size = input.range.upper - input.range.lower + 1;
      if (blocked.size === size) {
        assert.equal(r.ok, false);
        if (!r.ok) {
          assert.deepEqual(r.error, {
            kind: "VmidRangeExhausted",
            lower: input.range.lower,
            upper: input.range.upper,
            blocked: size,
          });
        }
      } else assert.equal(r.ok, true);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("VMID search terminates within blocked-count + 2 steps, even on a full range", () => {
  fc.assert(
    fc.property(scenario, (input) => {
      const r = chooseVmid(input);
      const blocked = new Set([...input.taken, ...input.reserved, ...input.quarantined]).size;
      if (r.ok) assert.ok(r.value.steps <= blocked + 2, `steps ${r.value.steps} > ${blocked + 2}`);
    }),
    { numRuns: RUNS },
  );
});

Deno.test("VMID allocation prefers the start id and walks upward, wrapping to lower", () => {
  const range = { lower: 100, upper: 104 };
  assert.deepEqual(chooseVmid({ range, taken: [], start: 102 }), {
    ok: true,
    value: { vmid: 102, steps: 1 },
  });
  assert.equal(chooseVmid({ range, taken: [102, 103, 104], start: 102 }).ok, true);
  const wrapped = chooseVmid({ range, taken: [102, 103, 104], start: 102 });
  assert.ok(wrapped.ok && wrapped.value.vmid === 100);
  const single = chooseVmid({ range: { lower: 500, upper: 500 }, taken: [] });
  assert.ok(single.ok && single.value.vmid === 500);
});

Deno.test("a full billion-id range is reported fast, without walking the range", () => {
  const range = { lower: 100, upper: 999_999_999 };
  // Only a handful of ids blocked: the answer comes from the blocked list, not the range width.
  const r = chooseVmid({ range, taken: [100, 101, 102], start: 100 });
  assert.ok(r.ok && r.value.vmid === 103 && r.value.steps === 4);
  const full = chooseVmid({ range: { lower: 1000, upper: 1002 }, taken: [1000, 1001, 1002] });
  assert.ok(!full.ok);
  assert.equal(vmidExhaustedReason(full.error).code, "VmidRangeExhausted");
  assert.match(vmidExhaustedReason(full.error).message, /\[1000, 1002\] is exhausted/);
});

Deno.test("an invalid range is a bug and throws", () => {
  assert.throws(() => chooseVmid({ range: { lower: 200, upper: 100 }, taken: [] }), /Invalid VMID/);
  assert.throws(() => chooseVmid({ range: { lower: 99, upper: 100 }, taken: [] }), /Invalid VMID/);
});
