/** The seasonal demand model: its error bounds on generated diurnal series, and its switch-off. */
import assert from "node:assert/strict";
import {
  DAY_BUCKETS,
  forecastSeries,
  meanAbsoluteError,
  MIN_HISTORY,
  RIVALS,
  WEEK_BUCKETS,
} from "./forecast_model.ts";
import { seededRng } from "./testing/rng.ts";

/** A diurnal series: base + amplitude x a daily sine, plus uniform noise of +-noise. */
function diurnal(days: number, seed: number, base = 40_000, amplitude = 25_000, noise = 1_500) {
  const rng = seededRng(seed);
  return Array.from(
    { length: days * DAY_BUCKETS },
    (_, b) =>
      base + amplitude * Math.sin((2 * Math.PI * b) / DAY_BUCKETS) + (rng.next() * 2 - 1) * noise,
  );
}

Deno.test("on generated diurnal series the one-bucket-ahead error stays within twice the noise", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const y = diurnal(6, seed);
    let worst = 0;
    for (let b = MIN_HISTORY; b < y.length; b += 7) {
      const f = forecastSeries(y.slice(0, b), 1)!;
      worst = Math.max(worst, Math.abs(f.peak - y[b]!));
      assert.ok(f.error < 0.2, `seed ${seed}, bucket ${b}: error ${f.error} judged low`);
    }
    // The noise is +-1.5 cores; the daily swing is 50 cores.
    assert.ok(worst < 3_000, `seed ${seed}: worst miss ${worst}m CPU`);
  }
});

Deno.test("the predicted peak over a rising stretch is above the last value, and below it when falling", () => {
  const y = diurnal(4, 9, 40_000, 25_000, 0);
  // The sine rises fastest where a day starts and falls fastest half a day later.
  const rising = y.slice(0, 3 * DAY_BUCKETS + 1);
  const f = forecastSeries(rising, 3)!;
  assert.ok(f.peak > rising[rising.length - 1]! + 1_000, `peak ${f.peak}`);
  const falling = y.slice(0, 3 * DAY_BUCKETS + DAY_BUCKETS / 2 + 1);
  const g = forecastSeries(falling, 3)!;
  assert.ok(g.peak < falling[falling.length - 1]!, `peak ${g.peak}`);
});

Deno.test("on a random series with no season the error is judged high enough to switch off", () => {
  for (const seed of [1, 2, 3]) {
    const rng = seededRng(seed);
    const y = Array.from({ length: 4 * DAY_BUCKETS }, () => 40_000 + rng.next() * 20_000);
    const f = forecastSeries(y, 2)!;
    assert.ok(f.error > 0.8, `seed ${seed}: error ${f.error}`);
  }
});

Deno.test("less than two days of history predicts nothing", () => {
  assert.equal(forecastSeries(diurnal(1, 1), 1), undefined);
  assert.notEqual(forecastSeries(diurnal(3, 1), 1), undefined);
});

Deno.test("with quiet weekends and two weeks of history the weekly season is chosen", () => {
  const y = diurnal(16, 4).map((v, b) => Math.floor(b / DAY_BUCKETS) % 7 >= 5 ? v * 0.3 : v);
  // Monday morning of the third week: a daily season would expect Sunday's low level.
  const monday = 2 * WEEK_BUCKETS + DAY_BUCKETS / 4;
  const f = forecastSeries(y.slice(0, monday), 1)!;
  assert.equal(f.season, "weekly");
  assert.ok(f.error < 0.2, `error ${f.error}`);
});

Deno.test("the seasonal model misses less than the last-value and moving-average rivals on a diurnal series", () => {
  const y = diurnal(5, 11, 40_000, 25_000, 500);
  const from = 4 * DAY_BUCKETS;
  const ours = meanAbsoluteError(y, from, RIVALS["seasonal profile + level"]!);
  assert.ok(ours < meanAbsoluteError(y, from, RIVALS["last value"]!));
  assert.ok(ours < meanAbsoluteError(y, from, RIVALS["moving average (1 h)"]!));
});
