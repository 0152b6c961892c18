/**
 * Canonical JSON for reports: object keys sorted, numbers rounded to a fixed number of decimals,
 * two-space indent with short number arrays kept on one line. Same value, same bytes — the
 * property `proxscale sim --json` promises for the same seed, trace and config.
 *
 * May import: nothing.
 */

/** Rounds to `d` decimals, turning -0 into 0 so the text never differs by a sign. */
export function round(x: number, d = 6): number {
  if (!Number.isFinite(x)) return 0;
  const f = 10 ** d;
  const r = Math.round(x * f) / f;
  return r === 0 ? 0 : r;
}

function enc(v: unknown, indent: string): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number") return JSON.stringify(round(v));
  if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v);
  const inner = indent + "  ";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    if (v.every((x) => typeof x === "number")) return `[${v.map((x) => enc(x, inner)).join(",")}]`;
    return `[\n${v.map((x) => inner + enc(x, inner)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return "{}";
  return `{\n${
    entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${enc(x, inner)}`).join(",\n")
  }\n${indent}}`;
}

/** Canonical text of `value`, ending in a newline. */
export function canonicalJson(value: unknown): string {
  return enc(value, "") + "\n";
}
