/**
 * Retry pacing and circuit breaking for PVE calls. A PVE host that keeps failing (595 from an
 * offline node, resets, timeouts) gets a breaker so the autoscaler stops hammering it and
 * answers at once with a typed `circuitOpen` until a probe succeeds; backoff delays are
 * exponential with jitter drawn from an injected generator, so tests are repeatable.
 */

import type { Rng } from "../../daemon/ports/clock.ts";

/** A small seeded generator (mulberry32) for jitter when the caller gives none. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type BackoffPolicy = {
  /** Total tries including the first. */
  attempts: number;
  baseMs: number;
  maxMs: number;
};

/**
 * Delay before retry number `n` (1-based): base * 2^(n-1), capped, with "equal jitter"
 * (half fixed, half random) so concurrent clients spread out but never retry instantly.
 */
export function backoffDelay(policy: BackoffPolicy, n: number, rng: Rng): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, n - 1));
  return Math.round(exp / 2 + rng() * (exp / 2));
}

export type BreakerOptions = {
  /** Consecutive health failures that open the breaker. */
  failureThreshold: number;
  /** How long it stays open before one probe is let through. */
  cooldownMs: number;
  now: () => number;
};

type State = { failures: number; openUntil: number; probing: boolean };

/** One breaker per key (a PVE host name, or "api" for cluster-wide calls). */
export class CircuitBreakers {
  readonly #opts: BreakerOptions;
  readonly #states = new Map<string, State>();

  constructor(opts: BreakerOptions) {
    this.#opts = opts;
  }

  #state(key: string): State {
    let s = this.#states.get(key);
    if (!s) {
      s = { failures: 0, openUntil: 0, probing: false };
      this.#states.set(key, s);
    }
    return s;
  }

  /** May a call to `key` go out now? Returns the time it may, when it may not. */
  admit(key: string): { ok: true } | { ok: false; retryAt: number } {
    const s = this.#state(key);
    if (s.failures < this.#opts.failureThreshold) return { ok: true };
    const now = this.#opts.now();
    if (now < s.openUntil || s.probing) return { ok: false, retryAt: s.openUntil };
    s.probing = true; // half-open: exactly one probe until it reports back
    return { ok: true };
  }

  /** The host answered (even with a PVE error): it is reachable. */
  success(key: string): void {
    const s = this.#state(key);
    s.failures = 0;
    s.openUntil = 0;
    s.probing = false;
  }

  /** A health failure (transport error, 5xx without PVE text, 595). */
  failure(key: string): void {
    const s = this.#state(key);
    s.failures++;
    s.probing = false;
    if (s.failures >= this.#opts.failureThreshold) {
      s.openUntil = this.#opts.now() + this.#opts.cooldownMs;
    }
  }

  /** Is the breaker for `key` open right now (for inventory health)? */
  isOpen(key: string): boolean {
    const s = this.#states.get(key);
    return !!s && s.failures >= this.#opts.failureThreshold && this.#opts.now() < s.openUntil;
  }
}
