import assert from "node:assert/strict";
import { timeTicks } from "./chart_axis.ts";

Deno.test("time ticks stay few and readable from hours to months", () => {
  for (const span of [0.5, 3, 24, 72, 200, 720, 3000, 20_000]) {
    const ticks = timeTicks(span);
    assert.ok(ticks.length >= 1 && ticks.length <= 11, `${span} h: ${ticks.length} ticks`);
    assert.equal(ticks[0]!.hours, 0);
    if (span >= 2) assert.ok(ticks.length >= 3, `${span} h: only ${ticks.length} ticks`);
  }
  assert.deepEqual(timeTicks(72).map((t) => t.label), [
    "0",
    "12h",
    "24h",
    "36h",
    "48h",
    "60h",
    "72h",
  ]);
  assert.deepEqual(timeTicks(720).map((t) => t.label).slice(0, 4), ["0", "3d", "6d", "9d"]);
  assert.deepEqual(timeTicks(1500).map((t) => t.label).slice(0, 3), ["0", "1w", "2w"]);
  assert.deepEqual(timeTicks(3000).map((t) => t.label).slice(0, 3), ["0", "2w", "4w"]);
  assert.deepEqual(timeTicks(200).map((t) => t.label).slice(0, 3), ["0", "1d", "2d"]);
});
