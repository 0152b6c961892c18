/**
 * Capped exponential backoff with jitter, and a sleep that a stop signal can cut short.
 * Used by informers (restart after any error) and writers (eviction and conflict retries).
 */

/** Backoff shape in milliseconds. `jitter` 0..1 is the fraction of the delay drawn at random. */
export type Backoff = { initialMs: number; maxMs: number; factor: number; jitter: number };

/** Delay before retry number `attempt` (0-based): min(max, initial*factor^attempt), jittered. */
export function backoffDelay(attempt: number, b: Backoff, random01: number): number {
  const base = Math.min(b.maxMs, b.initialMs * b.factor ** Math.max(0, attempt));
  return Math.round(base * (1 - b.jitter) + base * b.jitter * random01);
}

/** Waits `ms`, or less if `signal` aborts first; never leaves a timer behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
