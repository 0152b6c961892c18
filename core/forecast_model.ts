/**
 * The seasonal demand model behind predictive scale-up, and the simpler rivals it was chosen
 * against. A series is one resource's per-bucket peak demand (core/forecast_history.ts).
 *
 * The model ("seasonal profile plus level"): the profile S(b) of a bucket is the mean of the
 * same bucket one, two, ... K seasons back (a season is a day or a week), smoothed over the
 * neighbouring buckets; the level is the mean gap between the actual series and its profile
 * over the last 15 minutes. A bucket is predicted as S(b) + level. This is additive Holt-Winters with
 * the seasonal component averaged over whole past seasons instead of smoothed exponentially:
 * it needs no fitted constants, follows a shifted day through the level within the hour, and
 * both seasons are tried, the one with the lower recent error kept.
 *
 * Its error is judged on the last day: the mean absolute error of its one-bucket-ahead
 * predictions divided by the mean absolute deviation of the series from its own mean over
 * that day (what a flat prediction would miss by). 0 predicts perfectly; 1 or more means the
 * seasons explain nothing, as on a flat or random trace, and predictive scale-up switches off.
 *
 * May import: core/forecast_history.ts.
 */
import { BUCKET_MS } from "./forecast_history.ts";

/** Buckets per day and per week. */
export const DAY_BUCKETS = (24 * 3_600_000) / BUCKET_MS;
export const WEEK_BUCKETS = 7 * DAY_BUCKETS;
/** Buckets the error is judged over (one day), and the level's span (15 minutes). */
export const ERROR_WINDOW = DAY_BUCKETS;
export const LEVEL_WINDOW = 3;
/** Seasons averaged at most, and the profile's smoothing half-width in buckets. */
const MAX_SEASONS = 4;
const SMOOTH = 1;

/** The model's answer for one series: predicted peak up to the horizon, and its recent error. */
export type SeriesForecast = {
  /** Highest predicted bucket peak among the buckets after the last complete one, up to the horizon. */
  peak: number;
  /** Mean absolute one-bucket-ahead error over the last day ÷ the series' own mean deviation. */
  error: number;
  /** Mean absolute one-bucket-ahead error over the last day, in the series' unit. */
  mae: number;
  season: "daily" | "weekly";
  /** The profile's change from the last complete bucket to the predicted peak (+ = rising). */
  trend: number;
};

/** Buckets of history the model needs before it predicts anything (two days). */
export const MIN_HISTORY = DAY_BUCKETS + ERROR_WINDOW + LEVEL_WINDOW + 2 * SMOOTH;

/**
 * Predicts the peak of the `steps` buckets after the last one of `y` and judges the model on
 * the last day; undefined when `y` is shorter than MIN_HISTORY.
 */
export function forecastSeries(y: readonly number[], steps: number): SeriesForecast | undefined {
  let best: SeriesForecast | undefined;
  for (const [season, period] of [["daily", DAY_BUCKETS], ["weekly", WEEK_BUCKETS]] as const) {
    if (y.length < period + ERROR_WINDOW + LEVEL_WINDOW + 2 * SMOOTH) continue;
    const f = forecastWith(y, period, Math.max(1, steps), season);
    if (!best || f.error < best.error) best = f;
  }
  return best;
}

function forecastWith(
  y: readonly number[],
  period: number,
  steps: number,
  season: "daily" | "weekly",
): SeriesForecast {
  const n = y.length;
  const from = n - ERROR_WINDOW - LEVEL_WINDOW; // first bucket whose profile is needed
  const profile = (b: number): number => {
    let sum = 0;
    let count = 0;
    for (let k = 1; k <= MAX_SEASONS; k++) {
      const c = b - k * period;
      if (c - SMOOTH < 0) break;
      for (let j = c - SMOOTH; j <= c + SMOOTH; j++) {
        if (j < n) {
          sum += y[j]!;
          count++;
        }
      }
    }
    return count === 0 ? y[Math.min(b, n) - 1]! : sum / count;
  };
  const s: number[] = [];
  for (let b = from; b < n + steps; b++) s.push(profile(b));
  const sAt = (b: number) => s[b - from]!;
  // Residuals y - S over the judged day and the hour before it; the level is their running mean.
  const resid: number[] = [];
  for (let b = from; b < n; b++) resid.push(y[b]! - sAt(b));
  let levelSum = 0;
  for (let i = 0; i < LEVEL_WINDOW; i++) levelSum += resid[i]!;
  let err = 0;
  let mean = 0;
  for (let b = n - ERROR_WINDOW; b < n; b++) mean += y[b]!;
  mean /= ERROR_WINDOW;
  let dev = 0;
  for (let b = n - ERROR_WINDOW; b < n; b++) {
    const i = b - from;
    err += Math.abs(y[b]! - (sAt(b) + levelSum / LEVEL_WINDOW));
    dev += Math.abs(y[b]! - mean);
    levelSum += resid[i]! - resid[i - LEVEL_WINDOW]!;
  }
  const level = levelSum / LEVEL_WINDOW;
  let peak = -Infinity;
  const mae = err / ERROR_WINDOW;
  for (let b = n; b < n + steps; b++) peak = Math.max(peak, sAt(b) + level);
  const error = dev === 0 ? (err === 0 ? 0 : Infinity) : err / dev;
  return { peak: Math.max(0, peak), error, mae, season, trend: peak - (sAt(n - 1) + level) };
}

/**
 * One-bucket-ahead predictors the model was compared with: each gives the prediction of
 * y[b] from y[0..b-1] (b >= one week), for the comparison table in docs/simulation.md.
 */
export const RIVALS: Record<string, (y: readonly number[], b: number) => number> = {
  /** The last bucket again: what a reactive autoscaler effectively assumes. */
  "last value": (y, b) => y[b - 1]!,
  /** The mean of the last hour. */
  "moving average (1 h)": (y, b) => {
    let sum = 0;
    for (let j = 1; j <= 12; j++) sum += y[b - j]!;
    return sum / 12;
  },
  /** The same bucket one week earlier. */
  "last week, same time": (y, b) => y[b - WEEK_BUCKETS]!,
  /** The same bucket one day earlier. */
  "yesterday, same time": (y, b) => y[b - DAY_BUCKETS]!,
  /** The last value moved by the daily profile's change (Holt-Winters with the level at the last value). */
  "last value + profile change": (y, b) => {
    const profile = (c: number) => {
      let sum = 0;
      let k = 0;
      for (let j = 1; j <= MAX_SEASONS && c - j * DAY_BUCKETS >= 0; j++, k++) {
        sum += y[c - j * DAY_BUCKETS]!;
      }
      return k === 0 ? 0 : sum / k;
    };
    return y[b - 1]! + profile(b) - profile(b - 1);
  },
  /** The seasonal model of this file, refitted at every bucket. */
  "seasonal profile + level": (y, b) => forecastSeries(y.slice(0, b), 1)?.peak ?? y[b - 1]!,
};

/** Mean absolute error of a one-bucket-ahead predictor over buckets `from`..end of `y`. */
export function meanAbsoluteError(
  y: readonly number[],
  from: number,
  predict: (y: readonly number[], b: number) => number,
): number {
  let err = 0;
  for (let b = from; b < y.length; b++) err += Math.abs(y[b]! - predict(y, b));
  return err / Math.max(1, y.length - from);
}
