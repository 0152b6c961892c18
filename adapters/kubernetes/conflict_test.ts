/**
 * Tests of conflict.ts: a write that meets 409 Conflict is redone from a fresh read, any other
 * outcome ends the retries at once, and the attempts and the abort signal bound them.
 *
 * May import: this folder, core/result.ts.
 */
import assert from "node:assert/strict";
import { err, ok, type Result } from "../../core/result.ts";
import type { KubeError } from "./client.ts";
import { retryOnConflict } from "./conflict.ts";

const conflict: KubeError = {
  kind: "Status",
  code: 409,
  reason: "Conflict",
  message: "the object has been modified; please apply your changes to the latest version",
  causes: [],
};
const exists: KubeError = { ...conflict, reason: "AlreadyExists", message: "already exists" };
const fast = { backoff: { initialMs: 0, maxMs: 0, factor: 2, jitter: 0 }, random: () => 0 };

/** A read-modify-write whose attempts answer from `outcomes` in turn, counting its calls. */
function script(outcomes: Result<string, KubeError>[]) {
  let calls = 0;
  const rmw = () => Promise.resolve(outcomes[calls++] ?? err(conflict));
  return { rmw, calls: () => calls };
}

Deno.test("a conflict re-runs the read-modify-write until it succeeds, reporting each conflict", async () => {
  const s = script([err(conflict), err(conflict), ok("written")]);
  const seen: number[] = [];
  const r = await retryOnConflict(s.rmw, { ...fast, onConflict: (n) => seen.push(n) });
  assert.deepEqual(r, ok("written"));
  assert.equal(s.calls(), 3);
  assert.deepEqual(seen, [1, 2]);
});

Deno.test("any error but a Conflict ends at once, a 409 AlreadyExists included", async () => {
  for (const e of [exists, { kind: "Transport", message: "refused" } as KubeError]) {
    const s = script([err(e), ok("never")]);
    assert.deepEqual(await retryOnConflict(s.rmw, fast), err(e));
    assert.equal(s.calls(), 1);
  }
});

Deno.test("after the last attempt the conflict is returned, not retried", async () => {
  const s = script([]);
  const seen: number[] = [];
  const r = await retryOnConflict(s.rmw, { ...fast, attempts: 3, onConflict: (n) => seen.push(n) });
  assert.deepEqual(r, err(conflict));
  assert.equal(s.calls(), 3);
  assert.deepEqual(seen, [1, 2]);
  const d = script([]);
  await retryOnConflict(d.rmw, fast);
  assert.equal(d.calls(), 5, "five attempts by default");
});

Deno.test("an aborted signal stops the retries after the attempt in flight", async () => {
  const ac = new AbortController();
  let calls = 0;
  const r = await retryOnConflict(() => {
    calls++;
    ac.abort();
    return Promise.resolve(err(conflict));
  }, { ...fast, signal: ac.signal });
  assert.deepEqual(r, err(conflict));
  assert.equal(calls, 1);
});
