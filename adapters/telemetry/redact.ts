/**
 * The redaction guard every telemetry output passes through. Secrets (the PVE token secret, the
 * Redis password, bootstrap tokens) are registered once at startup; from then on every log
 * line, audit record, metric label, span attribute and error message the telemetry layer
 * writes is scrubbed, even when a caller passes the secret by mistake (defence in depth: the
 * adapters already keep secrets out of their messages).
 *
 * adapters/telemetry/ may be imported by daemon/, main.ts and other adapters; it imports only
 * core/ types and the OpenTelemetry packages.
 */

/** What a secret becomes in every output. */
export const REDACTED = "<redacted>";

/** How deep `scrubValue` walks nested objects; deeper values become a marker, not a leak. */
const MAX_DEPTH = 8;

/** Holds the known secrets and scrubs them out of text and values. */
export interface Redactor {
  /**
   * Remembers a secret (and the encodings it may travel in: URL-encoded, JSON-escaped,
   * base64).
   * Surrounding whitespace is ignored (a file's trailing newline); an empty value is ignored.
   */
  registerSecret(value: string): void;
  /** Replaces every registered secret in `text` with `<redacted>`. */
  scrub(text: string): string;
  /**
   * Deep copy of `value` with every string scrubbed: objects, arrays, Errors (name, message,
   * stack, cause and own fields such as `code`), keys included. Cycles become "[Circular]".
   */
  scrubValue(value: unknown): unknown;
  /** True when `text` contains a registered secret (used by tests and by assertions). */
  contains(text: string): boolean;
}

/** A fresh, empty redactor: tests use their own so they never share secrets. */
export function createRedactor(): Redactor {
  // Longest first, so a secret that contains another is replaced whole.
  let needles: string[] = [];
  const add = (s: string) => {
    if (s !== "" && !needles.includes(s)) {
      needles = [...needles, s].sort((a, b) => b.length - a.length);
    }
  };

  const scrub = (text: string): string => {
    let out = text;
    for (const n of needles) {
      if (out.includes(n)) out = out.split(n).join(REDACTED);
    }
    return out;
  };

  const walk = (v: unknown, depth: number, seen: WeakSet<object>): unknown => {
    if (typeof v === "string") return scrub(v);
    if (typeof v === "number" || typeof v === "bigint") {
      // A numeric password passed as a number is still the password.
      const s = String(v);
      return scrub(s) === s ? v : REDACTED;
    }
    if (v === null || typeof v !== "object") {
      return typeof v === "symbol" || typeof v === "function" ? scrub(String(v)) : v;
    }
    if (seen.has(v)) return "[Circular]";
    if (depth >= MAX_DEPTH) return "[Truncated]";
    seen.add(v);
    try {
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1, seen));
      if (v instanceof Date) return v;
      if (v instanceof Error) return errorFields(v, depth, seen);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[scrub(k)] = walk(x, depth + 1, seen);
      return out;
    } finally {
      seen.delete(v);
    }
  };

  const errorFields = (e: Error, depth: number, seen: WeakSet<object>) => {
    const out: Record<string, unknown> = { name: scrub(e.name), message: scrub(e.message) };
    if (e.stack !== undefined) out.stack = scrub(e.stack);
    for (const [k, x] of Object.entries(e)) out[scrub(k)] = walk(x, depth + 1, seen);
    if (e.cause !== undefined) out.cause = walk(e.cause, depth + 1, seen);
    return out;
  };

  return {
    registerSecret(value: string) {
      const s = value.trim();
      if (s === "") return;
      add(s);
      add(encodeURIComponent(s));
      add(JSON.stringify(s).slice(1, -1));
      // A Kubernetes Secret object carries its data base64-encoded.
      add(base64(s));
    },
    scrub,
    scrubValue: (value) => walk(value, 0, new WeakSet()),
    contains: (text) => needles.some((n) => text.includes(n)),
  };
}

/**
 * The process-wide redactor: main.ts registers secrets here as it reads them, and every
 * telemetry constructor uses it unless a test passes its own.
 */
export const defaultRedactor: Redactor = createRedactor();

/** Registers a secret with the process-wide redactor (call as soon as the secret is read). */
export function registerSecret(value: string): void {
  defaultRedactor.registerSecret(value);
}

/**
 * One readable line for an error, scrubbed: "Name: message (cause: ...)". Used where an error
 * must become a string (span status, HTTP 5xx bodies) without its stack.
 */
export function describeError(e: unknown, redactor: Redactor = defaultRedactor): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur !== undefined && cur !== null; i++) {
    if (cur instanceof Error) {
      parts.push(`${cur.name}: ${cur.message}`);
      cur = cur.cause;
    } else if (typeof cur === "object" && "message" in cur) {
      const kind = "kind" in cur ? `${String(cur.kind)}: ` : "";
      parts.push(`${kind}${String(cur.message)}`);
      cur = undefined;
    } else {
      parts.push(typeof cur === "string" ? cur : safeJson(cur));
      cur = undefined;
    }
  }
  return redactor.scrub(parts.join(" (cause: ") + ")".repeat(Math.max(0, parts.length - 1)));
}

function base64(s: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
