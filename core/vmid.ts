/**
 * Bounded VMID allocation inside a Provider's inclusive range. PVE's `nextid` reserves nothing
 * and reuses freed ids at once, so the caller passes every id it must not hand out (seen in PVE,
 * reserved in flight by this process, recently freed and quarantined) and gets one free id or a
 * typed "range exhausted" value. The search is counted, never an open-ended loop: it examines at
 * most (blocked ids in range + 2) candidates, whatever the size of the range.
 *
 * May import: nothing outside core/.
 */
import { type Reason, reason } from "./reason.ts";
import { err, ok, type Result } from "./result.ts";

/** An inclusive VMID range `[lower, upper]`; a single id (lower === upper) is allowed. */
export type VmidRange = { lower: number; upper: number };

/** The range has no id left once taken, reserved and quarantined ids are removed. */
export type VmidRangeExhausted = {
  kind: "VmidRangeExhausted";
  lower: number;
  upper: number;
  /** Ids in the range that were unavailable (taken + reserved + quarantined, de-duplicated). */
  blocked: number;
};

export type VmidInput = {
  range: VmidRange;
  /** Ids PVE reports as existing (any node, qemu or lxc, templates and placeholders included). */
  taken: Iterable<number>;
  /** Ids this process has reserved for creates still in flight. */
  reserved?: Iterable<number>;
  /** Recently freed ids kept out of circulation (PVE hands them out again at once). */
  quarantined?: Iterable<number>;
  /**
   * First candidate to try; the search walks upward and wraps once. A seeded random start spreads
   * concurrent controllers sharing a range so they rarely race for the same id. Default: lower.
   */
  start?: number;
};

/** The chosen id and how many candidates were examined (for the bounded-search property). */
export type VmidChoice = { vmid: number; steps: number };

/** Smallest and largest VMID PVE accepts. */
export const PVE_VMID_MIN = 100;
export const PVE_VMID_MAX = 999_999_999;

/**
 * Picks the first free id at or after `start`, wrapping to `lower`, or returns
 * `VmidRangeExhausted`. Pure and deterministic for a given input.
 */
export function chooseVmid(input: VmidInput): Result<VmidChoice, VmidRangeExhausted> {
  const { lower, upper } = input.range;
  if (
    !Number.isInteger(lower) || !Number.isInteger(upper) || lower > upper ||
    lower < PVE_VMID_MIN || upper > PVE_VMID_MAX
  ) {
    // A broken range is a configuration bug the schema should have caught.
    throw new Error(`Invalid VMID range [${lower}, ${upper}]`);
  }
  const blockedSet = new Set<number>();
  const add = (ids: Iterable<number> | undefined) => {
    if (!ids) return;
    for (const id of ids) {
      if (Number.isInteger(id) && id >= lower && id <= upper) blockedSet.add(id);
    }
  };
  add(input.taken);
  add(input.reserved);
  add(input.quarantined);
  const size = upper - lower + 1;
  if (blockedSet.size >= size) {
    return err({ kind: "VmidRangeExhausted", lower, upper, blocked: blockedSet.size });
  }
  const blocked = [...blockedSet].sort((a, b) => a - b);
  const start = input.start !== undefined && Number.isInteger(input.start) &&
      input.start >= lower && input.start <= upper
    ? input.start
    : lower;
  let steps = 0;
  // Walk the sorted blocked ids alongside the candidate: each step either returns or passes
  // one blocked id, so the walk ends after at most blocked.length + 2 steps.
  const walk = (from: number, until: number): number | undefined => {
    let i = lowerBound(blocked, from);
    let candidate = from;
    while (candidate <= until) {
      steps++;
      if (i < blocked.length && blocked[i] === candidate) {
        candidate++;
        i++;
        continue;
      }
      return candidate;
    }
    return undefined;
  };
  const found = walk(start, upper) ?? walk(lower, start - 1);
  if (found === undefined) {
    // Unreachable while blocked.size < size; kept as an invariant check.
    throw new Error(
      `VMID search found no id in [${lower}, ${upper}] with ${blocked.length} blocked`,
    );
  }
  return ok({ vmid: found, steps });
}

/** Index of the first element >= value in an ascending array. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A start offset in the range from a random fraction in [0, 1) that the caller draws from its
 * seeded generator; keeps randomness out of the core.
 */
export function vmidStart(range: VmidRange, fraction: number): number {
  const size = range.upper - range.lower + 1;
  const f = Number.isFinite(fraction) ? Math.min(Math.max(fraction, 0), 0.999999999) : 0;
  return range.lower + Math.floor(f * size);
}

/** The Reason a NodePool condition and event carry when its Provider's range is full. */
export function vmidExhaustedReason(e: VmidRangeExhausted): Reason {
  return reason(
    "VmidRangeExhausted",
    `VMID range [${e.lower}, ${e.upper}] is exhausted: all ${e.upper - e.lower + 1} ids are ` +
      `taken, reserved for launches in flight, or quarantined after a recent delete`,
  );
}
