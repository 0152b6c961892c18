/**
 * The fakes' own success-or-failure value. The fakes keep their own copy instead of importing
 * core/result.ts: an oracle that shares code with what it judges cannot catch its mistakes, so
 * nothing under fakes/ imports core/ (tests/architecture_test.ts enforces it).
 *
 * May import: nothing of the project.
 */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

/** Wraps a success. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** Wraps an expected failure. */
export function err<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}
