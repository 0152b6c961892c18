/**
 * The HostMaintenance condition of a NodeClaim: True while the Proxmox host of its VM is being
 * drained (the node is to be replaced, as Drifted says for a changed spec), False once the host
 * is out of maintenance again. Written only when it changes.
 *
 * May import: core/ only.
 */
import type { Condition, Snapshot } from "./model.ts";
import { type Reason, reason } from "./reason.ts";

/** One condition to write on one claim, and why. */
export type ClaimConditionWrite = { claim: string; condition: Condition; reason: Reason };

/** The HostMaintenance conditions that change this pass (snapshot hosts already joined). */
export function hostMaintenanceConditions(snapshot: Snapshot): ClaimConditionWrite[] {
  const draining = new Set<string>();
  for (const h of snapshot.hosts) {
    if (h.maintenance === "drain") draining.add(`${h.provider}\u0000${h.name}`);
  }
  const out: ClaimConditionWrite[] = [];
  for (const c of snapshot.nodeClaims) {
    if (c.deleting || c.host === undefined) continue;
    const now = c.conditions.find((x) => x.type === "HostMaintenance");
    const drained = draining.has(`${c.provider}\u0000${c.host}`);
    if (drained && now?.status !== "True") {
      const message = `Proxmox host ${c.host} is being drained: the node is replaced`;
      out.push({
        claim: c.name,
        condition: {
          type: "HostMaintenance",
          status: "True",
          reason: "HostMaintenance",
          message,
          lastTransitionTime: snapshot.now,
        },
        reason: reason("HostMaintenance", `NodeClaim ${c.name}: ${message}`),
      });
    } else if (!drained && now?.status === "True") {
      const message = `Proxmox host ${c.host} is no longer being drained`;
      out.push({
        claim: c.name,
        condition: {
          type: "HostMaintenance",
          status: "False",
          reason: "NotInMaintenance",
          message,
          lastTransitionTime: snapshot.now,
        },
        reason: reason("HostMaintenance", `NodeClaim ${c.name}: ${message}`),
      });
    }
  }
  return out;
}
