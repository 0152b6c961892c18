import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "./duration.ts";

Deno.test("durations parse to milliseconds and print back", () => {
  assert.deepEqual(parseDuration("1h30m"), { ok: true, value: 5_400_000 });
  assert.deepEqual(parseDuration("250ms"), { ok: true, value: 250 });
  assert.deepEqual(parseDuration("720h"), { ok: true, value: 2_592_000_000 });
  assert.equal(formatDuration(5_400_000), "1h30m");
  assert.equal(formatDuration(null), "Never");
});

Deno.test("Never is only accepted where allowed, and junk is refused", () => {
  assert.deepEqual(parseDuration("Never", true), { ok: true, value: null });
  assert.equal(parseDuration("Never").ok, false);
  assert.equal(parseDuration("5 minutes").ok, false);
  assert.equal(parseDuration("-5m").ok, false);
});
