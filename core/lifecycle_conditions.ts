/**
 * Writing NodeClaim conditions the metav1 way: `lastTransitionTime` moves only when the status
 * changes, and the lifecycle's conditions only move forward (a True condition stays True; a
 * claim that must go back is deleted and replaced instead). Used by core/lifecycle.ts.
 *
 * May import: core/ only.
 */
import type { Condition, ConditionStatus, ConditionType } from "./model.ts";

/** The lifecycle's own conditions, in the order they are written. */
export const LIFECYCLE_CONDITIONS = ["Launched", "Registered", "Initialized", "Ready"] as const;
export type LifecycleCondition = (typeof LIFECYCLE_CONDITIONS)[number];

/** What one pass wants a condition to say. */
export type ConditionWish = { status: ConditionStatus; reason: string; message: string };

/**
 * The condition to write: a True one is kept as it is (forward only); a same-status one keeps
 * its transition time and takes the new reason and message; otherwise it transitions at `now`.
 */
export function nextCondition(
  prev: Condition | undefined,
  type: ConditionType,
  wish: ConditionWish,
  now: number,
): Condition {
  if (prev?.status === "True") return prev;
  if (prev && prev.status === wish.status) {
    return { ...prev, reason: wish.reason, message: wish.message };
  }
  return { type, ...wish, lastTransitionTime: now };
}

/**
 * Sets a condition on a list whatever its status (for Drifted, which may clear): unchanged
 * status keeps the transition time.
 */
export function setCondition(
  list: readonly Condition[],
  type: ConditionType,
  wish: ConditionWish,
  now: number,
): Condition[] {
  const prev = list.find((c) => c.type === type);
  const next: Condition = prev && prev.status === wish.status
    ? { ...prev, reason: wish.reason, message: wish.message }
    : { type, ...wish, lastTransitionTime: now };
  return prev ? list.map((c) => (c === prev ? next : c)) : [...list, next];
}

/** Lifecycle conditions first in their fixed order, then every other condition as it was. */
export function mergeConditions(
  prev: readonly Condition[],
  lifecycle: readonly Condition[],
): Condition[] {
  const own = new Set<string>(LIFECYCLE_CONDITIONS);
  return [...lifecycle, ...prev.filter((c) => !own.has(c.type))];
}

/** Same conditions, same order, same fields. */
export function sameConditions(a: readonly Condition[], b: readonly Condition[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((c, i) => {
    const d = b[i]!;
    return c.type === d.type && c.status === d.status && c.reason === d.reason &&
      c.message === d.message && c.lastTransitionTime === d.lastTransitionTime;
  });
}
