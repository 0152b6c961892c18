import assert from "node:assert/strict";
import { backoffDelay, sleep } from "./backoff.ts";

const b = { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0.5 };

Deno.test("backoff doubles from the initial delay and stops at the cap", () => {
  const noJitter = { ...b, jitter: 0 };
  assert.deepEqual([0, 1, 2, 3].map((n) => backoffDelay(n, noJitter, 0.7)), [100, 200, 400, 800]);
  assert.equal(backoffDelay(20, noJitter, 0.7), 10_000);
});

Deno.test("jitter stays within the configured fraction below the base delay", () => {
  assert.equal(backoffDelay(3, b, 0), 400);
  assert.equal(backoffDelay(3, b, 1), 800);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(30, b, i / 100);
    assert.ok(d >= 5000 && d <= 10_000, String(d));
  }
});

Deno.test("an aborted sleep ends at once and leaves no timer", async () => {
  const ctl = new AbortController();
  const p = sleep(60_000, ctl.signal);
  ctl.abort();
  await p;
  await sleep(1, ctl.signal);
});
