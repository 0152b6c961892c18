/**
 * Optimistic-concurrency retries: a write guarded by the
 * resourceVersion it read fails with 409 Conflict when someone else wrote in between; the only
 * correct reaction is to read again, recompute the change from the fresh object, and write
 * again. Re-sending the same body would overwrite the other writer's change.
 */
import type { Result } from "../../core/result.ts";
import { type Backoff, backoffDelay, sleep } from "./backoff.ts";
import { isConflict, type KubeError } from "./client.ts";

/** How often and how fast to retry; defaults: 5 attempts, 10 ms doubling to 1 s. */
export type ConflictRetry = {
  attempts?: number;
  backoff?: Backoff;
  random?: () => number;
  signal?: AbortSignal;
  /** Called once per conflict, for logs and tests. */
  onConflict?: (attempt: number, e: KubeError) => void;
};

const DEFAULT: Backoff = { initialMs: 10, maxMs: 1000, factor: 2, jitter: 0.5 };

/**
 * Runs `readModifyWrite` (which must read the object itself each time) until it succeeds, fails
 * with anything but a Conflict, or runs out of attempts.
 */
export async function retryOnConflict<T>(
  readModifyWrite: () => Promise<Result<T, KubeError>>,
  opts: ConflictRetry = {},
): Promise<Result<T, KubeError>> {
  const attempts = opts.attempts ?? 5;
  const random = opts.random ?? Math.random;
  for (let i = 0;; i++) {
    const r = await readModifyWrite();
    if (r.ok || !isConflict(r.error) || i + 1 >= attempts || opts.signal?.aborted) return r;
    opts.onConflict?.(i + 1, r.error);
    await sleep(backoffDelay(i, opts.backoff ?? DEFAULT, random()), opts.signal);
  }
}
