/**
 * The Proxmox hosts as `proxscale status` and `proxscale host list` show them: every configured
 * host with its maintenance state (the operator's, from the configuration or the Provider's
 * annotation, joined with the provider's own finding such as PVE's HA maintenance), whether it
 * could be read on the last pass, whether host power has it off (or booting, or shutting
 * down), and how many NodeClaims have their VM there.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { Config, HostMaintenance, NodeClaim } from "../core/model.ts";
import { strongerMaintenance } from "../core/host_maintenance.ts";
import type { HostDown, HostInMaintenance } from "./host_health.ts";

/** One host in the status document. */
export type HostStatus = {
  provider: string;
  host: string;
  zone: string;
  /** The maintenance in force (absent: none). */
  maintenance?: HostMaintenance;
  /** Where it comes from: the configuration (file field or annotation), PVE (HA), or both. */
  maintenanceFrom?: ("config" | "pve")[];
  /** The host could not be read on the last pass. */
  down?: boolean;
  /** Offline on purpose through host power: powered off, booting or shutting down. */
  power?: "off" | "booting" | "shutting down";
  /** NodeClaims whose VM is on the host, and how many of them are being deleted. */
  claims: number;
  deleting: number;
};

/** Every configured host's status, in configuration order. */
export function hostStatuses(
  config: Config,
  claims: readonly NodeClaim[],
  observed: readonly HostInMaintenance[],
  down: readonly HostDown[],
  powered: readonly { provider: string; host: string; power: HostStatus["power"] & string }[] = [],
): HostStatus[] {
  const key = (provider: string, host: string) => `${provider}\u0000${host}`;
  const fromPve = new Map(observed.map((m) => [key(m.provider, m.host), m.maintenance]));
  const isDown = new Set(down.map((d) => key(d.provider, d.host)));
  const powerOf = new Map(powered.map((x) => [key(x.provider, x.host), x.power]));
  const out: HostStatus[] = [];
  for (const p of config.providers) {
    for (const h of p.hosts) {
      const k = key(p.name, h.name);
      const pve = fromPve.get(k);
      const maintenance = strongerMaintenance(h.maintenance, pve);
      const from = [
        ...(h.maintenance ? ["config" as const] : []),
        ...(pve ? ["pve" as const] : []),
      ];
      const mine = claims.filter((c) => c.provider === p.name && c.host === h.name);
      out.push({
        provider: p.name,
        host: h.name,
        zone: h.zone,
        ...(maintenance ? { maintenance, maintenanceFrom: from } : {}),
        ...(isDown.has(k) ? { down: true } : {}),
        ...(powerOf.has(k) ? { power: powerOf.get(k)! } : {}),
        claims: mine.length,
        deleting: mine.filter((c) => c.deleting).length,
      });
    }
  }
  return out;
}
