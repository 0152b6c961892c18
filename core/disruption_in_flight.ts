/**
 * Which commands of earlier disruption passes still hold their nodes: those waiting on their
 * replacements, which the next pass must neither pick again nor forget.
 *
 * May import: core/ only.
 */
import type { Config, Snapshot } from "./model.ts";
import type { InFlightCommand } from "./disruption_plan.ts";
import { isDisrupting } from "./disruption_candidates.ts";

/**
 * The commands of earlier passes that still hold their nodes: not past launchTimeout plus
 * registrationTimeout, every replacement still a live NodeClaim (a lost one aborts the command,
 * as Karpenter does), and naming only nodes the snapshot does not yet show as disrupted.
 */
export function stillInFlight(
  snap: Snapshot,
  config: Config,
  prior: readonly InFlightCommand[],
): InFlightCommand[] {
  if (prior.length === 0) return [];
  const claims = new Map(snap.nodeClaims.map((c) => [c.name, c]));
  const nodes = new Map(snap.nodes.map((n) => [n.name, n]));
  const byProviderId = new Map(
    snap.nodes.filter((n) => n.providerID !== undefined).map((n) => [n.providerID!, n]),
  );
  const ttl = config.settings.launchTimeout + config.settings.registrationTimeout;
  const out: InFlightCommand[] = [];
  for (const f of prior) {
    if (snap.now - f.since > ttl) continue;
    const lost = f.replacements.some((r) => {
      const c = claims.get(r);
      return c === undefined || c.deleting === true;
    });
    if (lost) continue;
    const nodeClaims = f.nodeClaims.filter((name) => {
      const c = claims.get(name);
      if (c === undefined) return false;
      const node = c.nodeName !== undefined
        ? nodes.get(c.nodeName)
        : c.providerID !== undefined
        ? byProviderId.get(c.providerID)
        : undefined;
      return !isDisrupting(c, node);
    });
    if (nodeClaims.length > 0) out.push({ ...f, nodeClaims });
  }
  return out;
}
