/**
 * Operator host maintenance joined to what the provider observed: a host's `maintenance` in the
 * configuration (a config-file field or the Provider's host-maintenance annotation) is laid
 * over the snapshot's hosts, which may already carry the provider's own finding (PVE's HA
 * maintenance, reported as drain). The stronger state wins: drain over cordon.
 *
 * May import: core/ only.
 */
import type { Host, HostMaintenance, Provider, Snapshot } from "./model.ts";

/** The stronger of two maintenance states (drain > cordon > none). */
export function strongerMaintenance(
  a: HostMaintenance | undefined,
  b: HostMaintenance | undefined,
): HostMaintenance | undefined {
  if (a === "drain" || b === "drain") return "drain";
  return a ?? b;
}

/**
 * The snapshot with each configured host's maintenance applied; the very same snapshot when no
 * host is in maintenance by configuration, so decisions without maintenance are untouched.
 */
export function withHostMaintenance(snapshot: Snapshot, providers: readonly Provider[]): Snapshot {
  const set = new Map<string, HostMaintenance>();
  for (const p of providers) {
    for (const h of p.hosts) {
      if (h.maintenance !== undefined) set.set(`${p.name}\u0000${h.name}`, h.maintenance);
    }
  }
  if (set.size === 0) return snapshot;
  return {
    ...snapshot,
    hosts: snapshot.hosts.map((h): Host => {
      const m = strongerMaintenance(h.maintenance, set.get(`${h.provider}\u0000${h.name}`));
      return m === h.maintenance ? h : { ...h, maintenance: m! };
    }),
  };
}
