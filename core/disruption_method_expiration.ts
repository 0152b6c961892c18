/**
 * Expiration: replaces NodeClaims older than their pool's expireAfter, within the Expired budget
 * (a reason proxscale adds so that expiration can be budgeted too).
 *
 * May import: core/ only.
 */
import type { DisruptionCommand } from "./disruption_plan.ts";
import type { DisruptionMethod } from "./disruption_method.ts";
import type { DisruptionPass } from "./disruption_pass.ts";
import { decideEventual, type EventualTrigger } from "./disruption_eventual.ts";
import { formatDuration } from "./duration.ts";

const EXPIRED: EventualTrigger = {
  affects: (c, now) => c.expiresAt !== undefined && c.expiresAt <= now,
  since: (c) => c.expiresAt,
  code: () => "Expired",
  describe: (c, forceful, now) =>
    `NodeClaim ${c.claim.name}${forceful ? " (forceful)" : ""} passed expireAfter ${
      formatDuration(c.pool.disruption.expireAfter)
    } (created ${formatDuration(now - c.claim.createdAt)} ago)`,
};

/** An expired node has run its allotted life: it is replaced, after drift, before consolidation. */
export const EXPIRATION: DisruptionMethod = {
  name: "Expiration",
  reason: "Expired",
  class: "Eventual",
  decide(pass: DisruptionPass): DisruptionCommand[] {
    return decideEventual(pass, EXPIRATION, EXPIRED);
  },
};
