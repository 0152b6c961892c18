/**
 * Lease-based leader election as a pure decision, following client-go's
 * `tools/leaderelection` algorithm (client-node has no leader elector). The adapter
 * (adapters/kubernetes/leader_elector.ts) does the GET/POST/PUT and feeds the results back here;
 * the simulator and the property tests drive the same functions with a simulated clock.
 *
 * Expiry is always measured on the LOCAL clock: a candidate remembers *when it observed* a
 * lease record change and treats the lease as expired `leaseDuration` after that, never from
 * the holder's `renewTime` (which was written with another machine's clock). A leader may act
 * only while `now - renewedAt < renewDeadline`, where `renewedAt` is the local time at which its
 * last successful acquire/renew was *decided* (before the request was sent), so network latency
 * can only shorten its acting window. With clock rates that differ by at most
 * `clockDriftBound(config)`, a follower cannot take over while the old leader still acts.
 *
 * May import: nothing outside core/.
 */

/** Timings in milliseconds; defaults are Kubernetes components' 15 s / 10 s / 2 s. */
export type LeaderConfig = {
  /** How long a lease is honoured after a candidate observes it change. */
  leaseDuration: number;
  /** A leader that has not renewed for this long stops acting. */
  renewDeadline: number;
  /** Pause between attempts (leaders renew this often). */
  retryPeriod: number;
  /** Followers wait retryPeriod * (1 + random * jitterFactor) between attempts. */
  jitterFactor: number;
};

/** client-go's defaults as used by kube-controller-manager and kube-scheduler. */
export const DEFAULT_LEADER_CONFIG: LeaderConfig = {
  leaseDuration: 15_000,
  renewDeadline: 10_000,
  retryPeriod: 2_000,
  jitterFactor: 1.2,
};

/** The Lease spec in plain numbers (times are epoch ms on the writer's clock; informational). */
export type LeaseRecord = {
  /** "" when released or never held. */
  holderIdentity: string;
  leaseDurationMs: number;
  acquireTime: number | null;
  renewTime: number | null;
  leaseTransitions: number;
};

/** What a GET returned: the record and its resourceVersion, or null when the Lease is absent. */
export type LeaseRead = { record: LeaseRecord; resourceVersion: string } | null;

/** One candidate's memory between attempts. */
export type ElectorState = {
  identity: string;
  /** Last record seen, with the local time at which it was first seen in this form. */
  observed: { record: LeaseRecord; resourceVersion: string; observedAt: number } | null;
  /** Whether this candidate believes it holds the lease. */
  leading: boolean;
  /** Local time the last successful acquire/renew was decided; null when not leading. */
  renewedAt: number | null;
};

/** What the adapter should do next. */
export type LeaderDecision =
  | { kind: "create"; record: LeaseRecord }
  | { kind: "acquire"; record: LeaseRecord; resourceVersion: string }
  | { kind: "renew"; record: LeaseRecord; resourceVersion: string }
  | { kind: "release"; record: LeaseRecord; resourceVersion: string }
  | { kind: "follow"; holder: string; expiresAt: number }
  | { kind: "yield"; why: string }
  | { kind: "idle" };

/** Result of the write a decision asked for, as the adapter saw it. */
export type WriteOutcome =
  | { ok: true; resourceVersion: string }
  /** 409 Conflict / AlreadyExists: someone else wrote first. */
  | { ok: false; conflict: true }
  /** Timeout, 5xx, connection reset: the write may or may not have happened. */
  | { ok: false; conflict: false };

/** Config problems as plain sentences; empty when the timings are safe to use. */
export function validateLeaderConfig(c: LeaderConfig): string[] {
  const out: string[] = [];
  if (!(c.retryPeriod > 0)) out.push("retryPeriod must be positive");
  if (!(c.renewDeadline > c.retryPeriod * c.jitterFactor)) {
    out.push(
      `renewDeadline (${c.renewDeadline} ms) must exceed retryPeriod * jitterFactor (${
        c.retryPeriod * c.jitterFactor
      } ms)`,
    );
  }
  if (!(c.leaseDuration > c.renewDeadline)) {
    out.push(
      `leaseDuration (${c.leaseDuration} ms) must exceed renewDeadline (${c.renewDeadline} ms)`,
    );
  }
  if (!(c.jitterFactor >= 0)) out.push("jitterFactor must not be negative");
  return out;
}

/**
 * Largest relative clock-rate difference (e.g. 0.2 = 20 %) the timings tolerate: a leader's
 * renewDeadline on the fastest-slow clock must end before a follower's leaseDuration on the
 * fastest clock. Offsets between clocks do not matter because nobody compares clocks.
 */
export function clockDriftBound(c: LeaderConfig): number {
  return (c.leaseDuration - c.renewDeadline) / (c.leaseDuration + c.renewDeadline);
}

/** A fresh candidate. */
export function initialElector(identity: string): ElectorState {
  return { identity, observed: null, leading: false, renewedAt: null };
}

/** Whether the candidate may act as leader at local time `now`. The only gate callers need. */
export function mayAct(s: ElectorState, now: number, c: LeaderConfig): boolean {
  return s.leading && s.renewedAt !== null && now - s.renewedAt < c.renewDeadline;
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return a.holderIdentity === b.holderIdentity && a.leaseDurationMs === b.leaseDurationMs &&
    a.acquireTime === b.acquireTime && a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions;
}

/** Records `read` as observed at `now` if it differs from what was seen before. */
export function observe(s: ElectorState, read: LeaseRead, now: number): ElectorState {
  if (read === null) return { ...s, observed: null };
  const o = s.observed;
  if (o && o.resourceVersion === read.resourceVersion && sameRecord(o.record, read.record)) {
    return s;
  }
  return {
    ...s,
    observed: { record: read.record, resourceVersion: read.resourceVersion, observedAt: now },
  };
}

/**
 * One attempt: given what GET returned at local time `now`, what to write (or not).
 * `stopping` asks a leader to hand the lease back (release) instead of renewing.
 * Returns the new state (observation recorded; leadership dropped on yield) and the decision.
 */
export function decide(
  prev: ElectorState,
  read: LeaseRead,
  now: number,
  c: LeaderConfig,
  stopping = false,
): { state: ElectorState; decision: LeaderDecision } {
  const s = observe(prev, read, now);
  const me = s.identity;
  // A leader past its renew deadline stops acting first, whatever the lease says.
  if (s.leading && !mayAct(s, now, c)) {
    return {
      state: { ...s, leading: false, renewedAt: null },
      decision: {
        kind: "yield",
        why: `no successful renew within renewDeadline ${c.renewDeadline} ms`,
      },
    };
  }
  if (read === null) {
    if (stopping) return { state: { ...s, leading: false, renewedAt: null }, decision: idle };
    return {
      state: s,
      decision: {
        kind: "create",
        record: {
          holderIdentity: me,
          leaseDurationMs: c.leaseDuration,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      },
    };
  }
  const o = s.observed!;
  const held = read.record.holderIdentity;
  const iHold = held === me;
  if (s.leading && !iHold) {
    // Someone else's name is on the lease: we lost it (only possible past our deadline, or
    // through an operator's edit). Stop at once.
    return {
      state: { ...s, leading: false, renewedAt: null },
      decision: { kind: "yield", why: `lease now held by "${held}"` },
    };
  }
  if (stopping) {
    if (!iHold) return { state: { ...s, leading: false, renewedAt: null }, decision: idle };
    // Stop acting before the release is even sent.
    return {
      state: { ...s, leading: false, renewedAt: null },
      decision: {
        kind: "release",
        resourceVersion: read.resourceVersion,
        record: {
          holderIdentity: "",
          leaseDurationMs: 1000,
          acquireTime: read.record.acquireTime,
          renewTime: now,
          leaseTransitions: read.record.leaseTransitions,
        },
      },
    };
  }
  const expiresAt = o.observedAt + o.record.leaseDurationMs;
  if (held !== "" && !iHold && now < expiresAt) {
    return { state: s, decision: { kind: "follow", holder: held, expiresAt } };
  }
  if (iHold) {
    return {
      state: s,
      decision: {
        kind: "renew",
        resourceVersion: read.resourceVersion,
        record: {
          holderIdentity: me,
          leaseDurationMs: c.leaseDuration,
          acquireTime: read.record.acquireTime ?? now,
          renewTime: now,
          leaseTransitions: read.record.leaseTransitions,
        },
      },
    };
  }
  return {
    state: s,
    decision: {
      kind: "acquire",
      resourceVersion: read.resourceVersion,
      record: {
        holderIdentity: me,
        leaseDurationMs: c.leaseDuration,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: read.record.leaseTransitions + 1,
      },
    },
  };
}

const idle: LeaderDecision = { kind: "idle" };

/**
 * Folds the outcome of a write back in. `decidedAt` is the local time passed to `decide`
 * for this attempt: leadership counts from then, not from when the answer arrived.
 */
export function afterWrite(
  s: ElectorState,
  d: LeaderDecision,
  outcome: WriteOutcome,
  decidedAt: number,
): ElectorState {
  if (d.kind !== "create" && d.kind !== "acquire" && d.kind !== "renew") return s;
  if (outcome.ok) {
    return {
      ...s,
      leading: true,
      renewedAt: decidedAt,
      observed: {
        record: d.record,
        resourceVersion: outcome.resourceVersion,
        observedAt: decidedAt,
      },
    };
  }
  // A conflict means another candidate wrote in between: whatever we thought, we do not lead.
  if (outcome.conflict) return { ...s, leading: false, renewedAt: null };
  // Unknown outcome: keep the old deadline; mayAct() runs out on its own.
  return s;
}

/** Local delay before the next attempt: leaders every retryPeriod, others with jitter. */
export function nextAttemptDelay(s: ElectorState, c: LeaderConfig, random01: number): number {
  if (s.leading) return c.retryPeriod;
  return c.retryPeriod * (1 + random01 * c.jitterFactor);
}
