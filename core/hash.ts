/**
 * Small deterministic hashes for names and drift detection. Not cryptographic: they only need
 * to be stable across runs and processes, and short enough for a Kubernetes name.
 */

/** FNV-1a 32-bit of a string. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const memo = new Map<string, number>();

/**
 * `fnv1a` of a string seen before answered from a bounded memo (a pure function's cache: same
 * text, same value). For ids hashed again on every pass, such as pod uids.
 */
export function fnv1aMemo(text: string): number {
  let h = memo.get(text);
  if (h === undefined) {
    if (memo.size >= 100_000) memo.clear();
    memo.set(text, h = fnv1a(text));
  }
  return h;
}

const base36Memo = new Map<number, string>();

/** `n.toString(36)`, from a bounded memo: the conversion is slow and digests repeat pass after pass. */
export function base36(n: number): string {
  let t = base36Memo.get(n);
  if (t === undefined) {
    if (base36Memo.size >= 100_000) base36Memo.clear();
    base36Memo.set(n, t = n.toString(36));
  }
  return t;
}

/** Five lowercase base-36 characters, padded: usable inside DNS labels. */
export function shortHash(text: string): string {
  return fnv1a(text).toString(36).padStart(7, "0").slice(-5);
}

/** Stable JSON: object keys sorted, so equal values hash equally whatever their key order. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
}
