/**
 * Time-axis ticks for the report's charts, readable for any span: the step is the smallest of
 * 1, 2, 3, 6 and 12 hours, 1, 2 and 3 days, 1, 2 and 4 weeks (then multiples of 4 weeks) that
 * keeps the axis at most `maxTicks` labels, and labels read "6h", "2d" or "3w".
 *
 * May import: nothing.
 */

const STEPS_H = [1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 672];

/** One tick: its position in hours and its label. */
export type Tick = { hours: number; label: string };

/** A tick label for `h` hours on an axis whose step is `step` hours. */
function label(h: number, step: number): string {
  if (h === 0) return "0";
  if (step % 168 === 0) return `${h / 168}w`;
  if (step % 24 === 0) return `${h / 24}d`;
  return `${h}h`;
}

/** Ticks from 0 to `spanHours`, at most `maxTicks` of them (plus the one at 0). */
export function timeTicks(spanHours: number, maxTicks = 10): Tick[] {
  if (!(spanHours > 0)) return [{ hours: 0, label: "0" }];
  let step = STEPS_H.find((s) => spanHours / s <= maxTicks);
  if (step === undefined) step = 672 * Math.ceil(spanHours / (672 * maxTicks));
  const out: Tick[] = [];
  for (let h = 0; h <= spanHours + 1e-9; h += step) out.push({ hours: h, label: label(h, step) });
  return out;
}
