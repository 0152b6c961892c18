/**
 * Host maintenance: replaces the nodes whose VMs run on a Proxmox host being drained (the
 * operator's `proxscale host drain`, the Provider's maintenance annotation, or PVE's HA node
 * maintenance), spending the Drifted budget. Unlike drift it never turns forceful:
 * do-not-disrupt, PodDisruptionBudgets and minNodes always hold the node, so a drain waits for
 * them rather than breaking them.
 *
 * May import: core/ only.
 */
import type { DisruptionCommand } from "./disruption_plan.ts";
import type { DisruptionMethod } from "./disruption_method.ts";
import type { DisruptionPass } from "./disruption_pass.ts";
import { decideEventual, type EventualTrigger } from "./disruption_eventual.ts";

/** The hosts (by provider, then name) a pass drains. */
export function drainingHosts(pass: DisruptionPass): Set<string> {
  const out = new Set<string>();
  for (const h of pass.snap.hosts) {
    if (h.maintenance === "drain") out.add(`${h.provider}\u0000${h.name}`);
  }
  return out;
}

/** A node on a draining host is replaced (new VMs elsewhere first), within budgets and PDBs. */
export const HOST_MAINTENANCE: DisruptionMethod = {
  name: "HostMaintenance",
  reason: "Drifted",
  class: "Graceful",
  decide(pass: DisruptionPass): DisruptionCommand[] {
    const draining = drainingHosts(pass);
    if (draining.size === 0) return [];
    const trigger: EventualTrigger = {
      affects: (c) =>
        c.claim.host !== undefined && draining.has(`${c.claim.provider}\u0000${c.claim.host}`),
      since: () => undefined,
      code: () => "HostMaintenance",
      describe: (c) => `Proxmox host ${c.claim.host} of NodeClaim ${c.claim.name} is being drained`,
    };
    return decideEventual(pass, HOST_MAINTENANCE, trigger);
  },
};
