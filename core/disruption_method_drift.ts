/**
 * Drift: replaces NodeClaims whose Drifted condition is True (their template or pool changed
 * since launch), and those whose NodePool was removed, within the Drifted budget.
 *
 * May import: core/ only.
 */
import type { DisruptionCommand } from "./disruption_plan.ts";
import type { DisruptionMethod } from "./disruption_method.ts";
import type { DisruptionPass } from "./disruption_pass.ts";
import { decideEventual, type EventualTrigger } from "./disruption_eventual.ts";

const DRIFTED: EventualTrigger = {
  affects: (c) => c.driftedAt !== undefined || c.poolRemoved,
  since: (c) => c.driftedAt,
  code: (c) => c.poolRemoved ? "NodePoolRemoved" : "Drifted",
  describe: (c, forceful) =>
    c.poolRemoved
      ? `NodePool '${c.pool.name}' of NodeClaim ${c.claim.name} was removed`
      : `NodeClaim ${c.claim.name} drifted${
        forceful ? " past terminationGracePeriod (forceful)" : ""
      }`,
};

/** A drifted node runs what its pool no longer asks for: it is replaced before consolidation. */
export const DRIFT: DisruptionMethod = {
  name: "Drift",
  reason: "Drifted",
  class: "Eventual",
  decide(pass: DisruptionPass): DisruptionCommand[] {
    return decideEventual(pass, DRIFT, DRIFTED);
  },
};
