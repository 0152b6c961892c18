import assert from "node:assert/strict";
import { reason } from "../../core/reason.ts";
import {
  backoffDelay,
  deleteVmJobId,
  failureLine,
  launchJobId,
  parseFailureLine,
  validateJobId,
} from "./queue.ts";

Deno.test("backoff doubles from the base and stops at the cap", () => {
  const p = { attempts: 10, baseDelayMs: 500, maxDelayMs: 5_000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(p, n)), [
    500,
    1_000,
    2_000,
    4_000,
    5_000,
    5_000,
  ]);
});

Deno.test("job ids BullMQ would refuse are rejected with the reason", () => {
  const cases: [string, string][] = [["101", "integer"], ["a:b", "':'"], ["", "empty"], [
    "a b",
    "white",
  ]];
  for (const [id, why] of cases) {
    const r = validateJobId(id);
    assert.equal(r.ok, false, id);
    if (!r.ok) assert.match(r.error.message, new RegExp(why));
  }
  assert.ok(validateJobId(launchJobId("general-x7k2p")).ok);
  assert.ok(validateJobId(deleteVmJobId("pve", 101)).ok);
  assert.equal(launchJobId("c", 2), "launch-c-2");
});

Deno.test("a failure line keeps its reason code and message, and a line with no known code is the queue's", () => {
  const why = reason("ProviderError", "PVE said: VM 101 is locked: clone");
  assert.deepEqual(parseFailureLine(failureLine(why)), why);
  assert.deepEqual(
    parseFailureLine("job stalled more than allowable limit"),
    reason("QueueError", "job stalled more than allowable limit"),
  );
  // A word before a colon that is not a reason code is part of the message.
  assert.deepEqual(parseFailureLine("Error: boom"), reason("QueueError", "Error: boom"));
});
