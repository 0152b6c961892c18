/**
 * Tests of semaphore.ts: at most `permits` holders at once, waiters served in arrival order,
 * and a release function that counts once however often it is called.
 *
 * May import: this folder.
 */
import assert from "node:assert/strict";
import { Semaphore } from "./semaphore.ts";

/** True once `p` has settled (after the microtasks queued so far ran). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 0));
  return done;
}

Deno.test("no more than the permits are held at once; waiters get a permit in arrival order", async () => {
  const s = new Semaphore(2);
  const r1 = await s.acquire();
  const r2 = await s.acquire();
  const order: string[] = [];
  const w3 = s.acquire().then((r) => (order.push("third"), r));
  const w4 = s.acquire().then((r) => (order.push("fourth"), r));
  assert.equal(await settled(w3), false);
  r2();
  const r3 = await w3;
  assert.equal(await settled(w4), false);
  r1();
  const r4 = await w4;
  assert.deepEqual(order, ["third", "fourth"]);
  r3();
  r4();
  // Both permits are free again.
  const a = await s.acquire();
  assert.equal(await settled(s.acquire()), true);
  a();
});

Deno.test("releasing twice frees one permit, not two", async () => {
  const s = new Semaphore(1);
  const r = await s.acquire();
  r();
  r();
  const held = await s.acquire();
  assert.equal(await settled(s.acquire()), false, "only one permit exists");
  held();
});

Deno.test("a semaphore asked for zero permits still lets one holder through", async () => {
  const s = new Semaphore(0);
  const r = await s.acquire();
  assert.equal(await settled(s.acquire()), false);
  r();
});
