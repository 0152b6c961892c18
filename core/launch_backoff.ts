/**
 * Backoff for launches that will not heal by retrying (a bad template, an unreadable CA, a 4xx
 * or privilege error from PVE, a clone PVE refuses): after such a failure a NodePool gets no new
 * NodeClaim until its backoff ends; the delay doubles with each failure of the same cause
 * (capped), and is forgotten when the launch succeeds or the pool's configuration changes
 * (its digest). Independently, the NodeClaims created per pool in any hour are bounded, so no
 * failure mode can make claims churn without limit. Pure: state in, state out.
 *
 * May import: core/ only.
 */
import { type Reason, reason } from "./reason.ts";
import { formatDuration } from "./duration.ts";

/** How launches back off; absent settings take the defaults below. */
export type LaunchBackoffSettings = {
  /** Delay after the first permanent failure of a cause (ms). */
  base: number;
  /** Longest delay (ms). */
  max: number;
  /** NodeClaims a pool may create in any hour. */
  maxClaimsPerHour: number;
};

/** 5 s doubling to 10 min; 100 claims per pool per hour. */
export const DEFAULT_LAUNCH_BACKOFF: LaunchBackoffSettings = {
  base: 5_000,
  max: 10 * 60_000,
  maxClaimsPerHour: 100,
};

const HOUR = 3_600_000;

/** One cause a pool is backing off for. */
export type CauseBackoff = {
  cause: string;
  message: string;
  failures: number;
  /** First failure of this run of failures (epoch ms). */
  since: number;
  /** No new claim before this (epoch ms). */
  until: number;
  /** The pool's configuration digest when it failed; another digest resets it. */
  digest: string;
};

/** Backoffs by pool and cause, and claim creation times by pool. */
export type LaunchBackoffState = {
  backoffs: Record<string, Record<string, CauseBackoff>>;
  created: Record<string, number[]>;
};

/** The state before anything failed. */
export function initialLaunchBackoff(): LaunchBackoffState {
  return { backoffs: {}, created: {} };
}

/** The delay after `failures` failures of one cause: base * 2^(n-1), capped. */
export function backoffDelay(failures: number, s: LaunchBackoffSettings): number {
  return Math.min(s.max, s.base * 2 ** Math.max(0, failures - 1));
}

/** Records a permanent launch failure of `pool`; a changed digest starts the count again. */
export function recordPermanentFailure(
  state: LaunchBackoffState,
  pool: string,
  cause: string,
  message: string,
  digest: string,
  now: number,
  s: LaunchBackoffSettings,
): LaunchBackoffState {
  const current = { ...(state.backoffs[pool] ?? {}) };
  for (const [k, b] of Object.entries(current)) if (b.digest !== digest) delete current[k];
  const prev = current[cause];
  const failures = (prev?.failures ?? 0) + 1;
  current[cause] = {
    cause,
    message,
    failures,
    since: prev?.since ?? now,
    until: now + backoffDelay(failures, s),
    digest,
  };
  return { ...state, backoffs: { ...state.backoffs, [pool]: current } };
}

/** A launch of `pool` succeeded: its backoffs are over. */
export function recordLaunchSuccess(state: LaunchBackoffState, pool: string): LaunchBackoffState {
  if (!state.backoffs[pool]) return state;
  const backoffs = { ...state.backoffs };
  delete backoffs[pool];
  return { ...state, backoffs };
}

/** A NodeClaim of `pool` was created at `now` (counts toward the hourly bound). */
export function recordClaimCreated(
  state: LaunchBackoffState,
  pool: string,
  now: number,
): LaunchBackoffState {
  const recent = (state.created[pool] ?? []).filter((t) => t > now - HOUR);
  return { ...state, created: { ...state.created, [pool]: [...recent, now] } };
}

/** Whether `pool` may create a NodeClaim now; if not, why and until when. */
export type LaunchGate = { ok: true } | { ok: false; reason: Reason; until: number };

/**
 * The gate a new NodeClaim of `pool` passes. Backoffs recorded under another configuration
 * digest no longer count (the operator changed something: try at once).
 */
export function launchGate(
  state: LaunchBackoffState,
  pool: string,
  digest: string,
  now: number,
  s: LaunchBackoffSettings,
): LaunchGate {
  const active = Object.values(state.backoffs[pool] ?? {})
    .filter((b) => b.digest === digest && b.until > now)
    .sort((a, b) => b.until - a.until);
  const worst = active[0];
  if (worst) {
    return {
      ok: false,
      until: worst.until,
      reason: reason(
        "LaunchBackoff",
        `NodePool ${pool}: ${worst.failures} launch${worst.failures === 1 ? "" : "es"} failed ` +
          `(${worst.cause}: ${worst.message}); no new NodeClaim for ${
            formatDuration(worst.until - now)
          }, or until the configuration changes`,
      ),
    };
  }
  const recent = (state.created[pool] ?? []).filter((t) => t > now - HOUR);
  if (recent.length >= s.maxClaimsPerHour) {
    const until = Math.min(...recent) + HOUR;
    return {
      ok: false,
      until,
      reason: reason(
        "ClaimRateLimited",
        `NodePool ${pool} created ${recent.length} NodeClaims in the last hour ` +
          `(limit ${s.maxClaimsPerHour}); the next one in ${formatDuration(until - now)}`,
      ),
    };
  }
  return { ok: true };
}

/** The causes `pool` is backing off for under `digest` (for conditions and status). */
export function activeBackoffs(
  state: LaunchBackoffState,
  pool: string,
  digest: string,
): CauseBackoff[] {
  return Object.values(state.backoffs[pool] ?? {}).filter((b) => b.digest === digest);
}
