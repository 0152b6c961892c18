/**
 * Tests of breaker.ts: retry delays (exponential, capped, equal jitter) and the per-host circuit
 * breaker's closed, open and half-open states on an injected clock.
 *
 * May import: this folder.
 */
import assert from "node:assert/strict";
import { backoffDelay, CircuitBreakers, seededRng } from "./breaker.ts";

Deno.test("retry delays double from the base up to the cap, with half of each delay fixed", () => {
  const policy = { attempts: 6, baseMs: 100, maxMs: 1_000 };
  const low = () => 0;
  const high = () => 0.999999;
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, low)), [
    50,
    100,
    200,
    400,
    500,
  ]);
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, high)), [
    100,
    200,
    400,
    800,
    1_000,
  ]);
  // Retry 0 (or below) is treated as the first.
  assert.equal(backoffDelay(policy, 0, low), 50);
});

Deno.test("the seeded generator repeats for one seed, differs across seeds and stays in [0, 1)", () => {
  const a = seededRng(42);
  const b = seededRng(42);
  const xs = Array.from({ length: 1_000 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 1_000 }, () => b()));
  assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, seededRng(43)));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(new Set(xs).size > 990, "values should not repeat in a short run");
});

Deno.test("a breaker opens after the threshold of consecutive failures, for that host only", () => {
  let now = 1_000;
  const b = new CircuitBreakers({ failureThreshold: 3, cooldownMs: 5_000, now: () => now });
  b.failure("pve1");
  b.failure("pve1");
  assert.deepEqual(b.admit("pve1"), { ok: true });
  assert.equal(b.isOpen("pve1"), false);
  b.failure("pve1");
  assert.deepEqual(b.admit("pve1"), { ok: false, retryAt: 6_000 });
  assert.equal(b.isOpen("pve1"), true);
  assert.deepEqual(b.admit("pve2"), { ok: true });
  assert.equal(b.isOpen("never-seen"), false);
  now = 5_999;
  assert.equal(b.admit("pve1").ok, false);
});

Deno.test("a success in between resets the count: only consecutive failures open a breaker", () => {
  const b = new CircuitBreakers({ failureThreshold: 2, cooldownMs: 1_000, now: () => 0 });
  b.failure("pve1");
  b.success("pve1");
  b.failure("pve1");
  assert.deepEqual(b.admit("pve1"), { ok: true });
});

Deno.test("after the cooldown exactly one probe goes out; its result closes or reopens the breaker", () => {
  let now = 0;
  const b = new CircuitBreakers({ failureThreshold: 1, cooldownMs: 1_000, now: () => now });
  b.failure("pve1");
  now = 1_000;
  assert.equal(b.isOpen("pve1"), false, "the cooldown is over");
  assert.deepEqual(b.admit("pve1"), { ok: true }, "the probe");
  assert.equal(b.admit("pve1").ok, false, "a second call waits for the probe's answer");
  // The probe fails: open again for a full cooldown from now.
  b.failure("pve1");
  assert.deepEqual(b.admit("pve1"), { ok: false, retryAt: 2_000 });
  now = 2_000;
  assert.equal(b.admit("pve1").ok, true);
  // This probe succeeds: closed, every call goes out.
  b.success("pve1");
  assert.equal(b.admit("pve1").ok, true);
  assert.equal(b.admit("pve1").ok, true);
  assert.equal(b.isOpen("pve1"), false);
});
