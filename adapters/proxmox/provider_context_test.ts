/**
 * Tests of provider_context.ts: `persist` repeats a read only while it fails for health
 * reasons (pausing between rounds, bounded), and `pveFail` names the step in its message.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { MiB } from "../../core/quantity.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { seededRng } from "./breaker.ts";
import type { PveClient } from "./client.ts";
import { localError, type PveError, type PveErrorKind } from "./errors.ts";
import { type Ctx, DEFAULT_TIMINGS, persist, pveFail } from "./provider_context.ts";
import { Semaphore } from "./semaphore.ts";
import { provider } from "./testing/fixtures.ts";
import { VmidLedger } from "./vmid_ledger.ts";

const fail = (kind: PveErrorKind, extra: Partial<PveError> = {}): PveError => ({
  ...localError(kind, "GET /x", kind),
  ...extra,
});

function ctxWithSleeps(): { ctx: Ctx; slept: number[] } {
  const slept: number[] = [];
  const ctx: Ctx = {
    client: {} as PveClient,
    provider,
    rng: seededRng(1),
    now: () => 0,
    sleep: (ms) => (slept.push(ms), Promise.resolve()),
    t: DEFAULT_TIMINGS,
    ledger: new VmidLedger(() => 0),
    overhead: 256 * MiB,
    maxAttempts: 3,
    inFlight: new Map(),
    backoff: (n) => n * 100,
    cloneGate: () => new Semaphore(1),
  };
  return { ctx, slept };
}

/** An operation answering from `answers` in turn, counting its calls. */
function op(answers: Result<string, PveError>[]) {
  let calls = 0;
  return { run: () => Promise.resolve(answers[calls++]!), calls: () => calls };
}

Deno.test("a read failing for health reasons is repeated with pauses until it answers", async () => {
  for (
    const e of [
      fail("timeout"),
      fail("circuitOpen"),
      fail("locked"),
      fail("permission", { ambiguous: true }),
    ]
  ) {
    const { ctx, slept } = ctxWithSleeps();
    const o = op([err(e), err(e), ok("data")]);
    assert.deepEqual(await persist(ctx, o.run), ok("data"), e.kind);
    assert.equal(o.calls(), 3);
    assert.deepEqual(slept, [100, 200]);
  }
});

Deno.test("a definite answer is returned at once, and the rounds are bounded", async () => {
  for (
    const e of [fail("notFound"), fail("permission"), fail("validation"), fail("nodeUnreachable")]
  ) {
    const { ctx, slept } = ctxWithSleeps();
    const o = op([err(e), ok("never")]);
    assert.deepEqual(await persist(ctx, o.run), err(e), e.kind);
    assert.equal(o.calls(), 1);
    assert.deepEqual(slept, []);
  }
  const { ctx } = ctxWithSleeps();
  const o = op(Array(10).fill(err(fail("transient"))));
  assert.equal((await persist(ctx, o.run)).ok, false);
  assert.equal(o.calls(), 4, "four rounds by default");
  const two = op(Array(10).fill(err(fail("transient"))));
  await persist(ctx, two.run, 2);
  assert.equal(two.calls(), 2);
});

Deno.test("a PVE failure at a step keeps PVE's error, says whether it is permanent, and names the step", () => {
  const e = fail("permission");
  assert.deepEqual(pveFail("list hosts", e), {
    kind: "Api",
    step: "list hosts",
    error: { ...e, api: "Pve", permanent: true },
    message: "list hosts: PVE GET /x: permission",
  });
});
