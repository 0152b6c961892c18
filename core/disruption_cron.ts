/**
 * A small cron matcher for disruption budget schedules. Budgets follow Karpenter: five fields
 * (minute hour day-of-month month day-of-week) or a macro (@yearly ... @hourly), UTC only. A
 * scheduled budget is active while its most recent trigger lies within `duration` of now, so
 * the only question asked here is "when did this schedule last fire, looking back at most so far".
 */
import { err, ok, type Result } from "./result.ts";

/** A parsed schedule: the allowed values of each field, and whether a day field was `*`. */
export type CronSchedule = {
  minutes: readonly boolean[];
  hours: readonly boolean[];
  daysOfMonth: readonly boolean[];
  months: readonly boolean[];
  daysOfWeek: readonly boolean[];
  /** Day-of-month or day-of-week given as `*`/`?`: the day matches when both fields match. */
  dayStar: boolean;
};

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

type FieldSpec = { name: string; min: number; max: number; names?: string[]; nameBase?: number };
const FIELDS: FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, nameBase: 1 },
  // 7 is accepted as Sunday and folded onto 0 after parsing.
  { name: "day of week", min: 0, max: 7, names: DAYS, nameBase: 0 },
];

function value(text: string, f: FieldSpec): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= f.min && n <= f.max ? n : undefined;
  }
  const i = f.names?.indexOf(text.toUpperCase()) ?? -1;
  return i >= 0 ? i + (f.nameBase ?? 0) : undefined;
}

function parseField(text: string, f: FieldSpec): Result<boolean[], string> {
  const out = new Array<boolean>(f.max + 1).fill(false);
  for (const item of text.split(",")) {
    const [range, stepText, extra] = item.split("/");
    if (range === undefined || extra !== undefined) return err(`bad ${f.name} item "${item}"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
        return err(`bad ${f.name} step "${stepText}"`);
      }
      step = Number(stepText);
    }
    let lo: number | undefined;
    let hi: number | undefined;
    if (range === "*" || range === "?") {
      lo = f.min;
      hi = f.max === 7 ? 6 : f.max;
    } else if (range.includes("-")) {
      const [a, b, more] = range.split("-");
      if (a === undefined || b === undefined || more !== undefined) {
        return err(`bad ${f.name} range "${range}"`);
      }
      lo = value(a, f);
      hi = value(b, f);
    } else {
      lo = value(range, f);
      // "5/15" means from 5 to the end in steps of 15, as in Vixie cron.
      hi = stepText !== undefined ? f.max : lo;
    }
    if (lo === undefined || hi === undefined || lo > hi) {
      return err(`bad ${f.name} "${range}" (allowed ${f.min}-${f.max})`);
    }
    for (let v = lo; v <= hi; v += step) out[v] = true;
  }
  if (f.max === 7 && out[7]) out[0] = true;
  return ok(out);
}

/** Parses a five-field cron expression or macro; the error names the field at fault. */
export function parseCron(expr: string): Result<CronSchedule, string> {
  const text = MACROS[expr.trim()] ?? expr.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5) return err(`"${expr}" needs five fields or a macro such as @daily`);
  const fields: boolean[][] = [];
  for (let i = 0; i < 5; i++) {
    const r = parseField(parts[i]!, FIELDS[i]!);
    if (!r.ok) return err(`"${expr}": ${r.error}`);
    fields.push(r.value);
  }
  const star = (s: string) => s.startsWith("*") || s.startsWith("?");
  return ok({
    minutes: fields[0]!,
    hours: fields[1]!,
    daysOfMonth: fields[2]!,
    months: fields[3]!,
    daysOfWeek: fields[4]!,
    dayStar: star(parts[2]!) || star(parts[4]!),
  });
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  if (!s.months[d.getUTCMonth() + 1]) return false;
  const dom = s.daysOfMonth[d.getUTCDate()] === true;
  const dow = s.daysOfWeek[d.getUTCDay()] === true;
  return s.dayStar ? dom && dow : dom || dow;
}

/** Does the schedule fire in the minute that contains `epochMs`? */
export function cronMatches(s: CronSchedule, epochMs: number): boolean {
  const d = new Date(epochMs);
  return dayMatches(s, d) && s.hours[d.getUTCHours()] === true &&
    s.minutes[d.getUTCMinutes()] === true;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/**
 * The start of the latest minute at or before `now` in which the schedule fires, if it is no
 * earlier than `now - lookback`; undefined otherwise. Walks back day by day, then hour and
 * minute within a matching day, so a long lookback costs days, not minutes.
 */
export function lastTrigger(s: CronSchedule, now: number, lookback: number): number | undefined {
  const floor = now - lookback;
  const nowMinute = Math.floor(now / MINUTE) * MINUTE;
  for (let day = Math.floor(now / DAY) * DAY; day + DAY > floor; day -= DAY) {
    if (!dayMatches(s, new Date(day))) continue;
    for (let h = 23; h >= 0; h--) {
      if (!s.hours[h]) continue;
      for (let m = 59; m >= 0; m--) {
        if (!s.minutes[m]) continue;
        const t = day + h * 3_600_000 + m * MINUTE;
        if (t > nowMinute) continue;
        return t >= floor ? t : undefined;
      }
    }
  }
  return undefined;
}

/**
 * Is a scheduled window open at `now`: did the schedule fire in (now - duration, now]?
 * This is Karpenter's rule; an unparsable schedule is reported by the caller (fails closed).
 */
export function windowOpen(s: CronSchedule, duration: number, now: number): boolean {
  const t = lastTrigger(s, now, duration);
  return t !== undefined && now - t < duration;
}
