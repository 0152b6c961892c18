/**
 * Durations as written in Kubernetes and Karpenter objects ("30s", "1h30m", "720h", "250ms")
 * to milliseconds. `Never` is a separate value because it means "no timer", not "very long".
 */
import { err, ok, type Result } from "./result.ts";

const PART = /(\d+)(ms|s|m|h|d)/g;
const WHOLE = /^(\d+(ms|s|m|h|d))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Accepted duration text, for schemas: one or more number+unit pairs, or `Never` where allowed. */
export const DURATION_PATTERN = WHOLE.source;

/** Parses "1h30m" to 5_400_000; "Never" to null when `allowNever`. */
export function parseDuration(
  text: string,
  allowNever = false,
): Result<number | null, string> {
  if (allowNever && text === "Never") return ok(null);
  if (!WHOLE.test(text)) {
    return err(
      `"${text}" is not a duration (examples: 500ms, 30s, 5m, 1h30m${allowNever ? ", Never" : ""})`,
    );
  }
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ok(total);
}

/** Milliseconds back to the shortest text: 5_400_000 -> "1h30m". */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "Never";
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (let i = 0; i < FORMAT_UNITS.length; i++) {
    const size = FORMAT_SIZES[i]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${FORMAT_UNITS[i]}`;
      rest %= size;
    }
  }
  return out;
}

/** formatDuration's units, largest first (one table, not rebuilt per call: reasons format often). */
const FORMAT_UNITS = ["h", "m", "s", "ms"] as const;
const FORMAT_SIZES = [3_600_000, 60_000, 1000, 1] as const;
