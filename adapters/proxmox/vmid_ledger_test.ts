/**
 * Tests of vmid_ledger.ts: reservations that refuse a second holder and expire with their TTL,
 * and a quarantine that keeps a freed id out until its latest deadline.
 *
 * May import: this folder.
 */
import assert from "node:assert/strict";
import { VmidLedger } from "./vmid_ledger.ts";

Deno.test("a reserved id cannot be reserved again until it is released or its TTL ends", () => {
  let now = 0;
  const l = new VmidLedger(() => now);
  assert.equal(l.reserve(100, 1_000), true);
  assert.equal(l.reserve(100, 1_000), false);
  assert.equal(l.reserve(101, 500), true);
  assert.deepEqual(l.reserved().sort(), [100, 101]);
  l.release(101);
  assert.deepEqual(l.reserved(), [100]);
  now = 999;
  assert.equal(l.reserve(100, 1_000), false);
  now = 1_000;
  assert.deepEqual(l.reserved(), [], "a crashed launch's hold expires");
  assert.equal(l.reserve(100, 1_000), true);
});

Deno.test("a quarantined id stays out until its latest deadline, never shortened", () => {
  let now = 0;
  const l = new VmidLedger(() => now);
  l.quarantine(200, 10_000);
  l.quarantine(200, 1_000); // a shorter, later call does not shorten it
  now = 5_000;
  assert.deepEqual(l.quarantined(), [200]);
  l.quarantine(200, 10_000); // a longer one extends it to 15 000
  now = 14_999;
  assert.deepEqual(l.quarantined(), [200]);
  now = 15_000;
  assert.deepEqual(l.quarantined(), []);
  // Quarantine and reservation are separate lists.
  assert.deepEqual(l.reserved(), []);
});
