/**
 * Reading a NodeClaim's conditions. The lifecycle (core/lifecycle.ts) writes them; everything
 * else only asks these questions.
 */
import type { Condition, ConditionType, NodeClaim } from "./model.ts";

/** The condition of `type`, if present. */
export function condition(c: NodeClaim, type: ConditionType): Condition | undefined {
  return c.conditions.find((x) => x.type === type);
}

/** Condition `type` is True. */
export function isTrue(c: NodeClaim, type: ConditionType): boolean {
  return condition(c, type)?.status === "True";
}

/** Ready = Launched, Registered and Initialized; until then the claim is a launch in flight. */
export function isClaimReady(c: NodeClaim): boolean {
  return isTrue(c, "Ready");
}
