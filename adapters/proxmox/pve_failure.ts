/**
 * A PVE error as the provider port's neutral `ApiFailure`: which PVE failures say the request
 * itself is wrong (the same request fails again), so the daemon can back off launches without
 * knowing PVE's error kinds. The PVE detail (endpoint, PVE's words, task) stays on the value.
 *
 * May import: daemon/ports/ (types), this folder.
 */
import type { ApiFailure } from "../../daemon/ports/provider.ts";
import type { PveError } from "./errors.ts";

/** A PVE failure in the port's terms, keeping every PVE field for logs. */
export type PveFailure = PveError & ApiFailure;

/** PVE error kinds that say the request itself is wrong: the same request fails again. */
const PERMANENT_PVE_KINDS = new Set(["validation", "auth", "permission", "notFound", "tls"]);

/**
 * True when retrying cannot heal `e`: a 4xx or privilege error, a bad parameter, a clone PVE
 * refuses for local storage; 5xx, locks, timeouts and unreachable hosts are transient.
 */
export function isPermanentPveError(e: PveError): boolean {
  const status = e.status;
  return PERMANENT_PVE_KINDS.has(e.kind) ||
    (status !== undefined && status >= 400 && status < 500 && e.kind !== "conflict" &&
      e.kind !== "alreadyExists" && e.kind !== "locked");
}

/** `e` classified for the port: api `Pve`, its kind, and whether it is permanent. */
export function pveFailure(e: PveError): PveFailure {
  return { ...e, api: "Pve", permanent: isPermanentPveError(e) };
}
