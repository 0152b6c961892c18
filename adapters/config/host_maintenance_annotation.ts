/**
 * Host maintenance set with kubectl: on a Provider object, the annotation
 * `host-maintenance.proxscale.io/HOST` with value `cordon` or `drain` puts that host into
 * maintenance (removing the annotation ends it). It overrides the host's `maintenance` field in
 * the spec, so `kubectl annotate provider pve host-maintenance.proxscale.io/pve2=drain` works
 * without editing the spec.
 *
 * May import: core/ (types and Result).
 */
import type { HostMaintenance } from "../../core/model.ts";

/** The annotation prefix; the host's name follows the slash. */
export const HOST_MAINTENANCE_PREFIX = "host-maintenance.proxscale.io/";

/** The annotation key for one host. */
export function hostMaintenanceKey(host: string): string {
  return HOST_MAINTENANCE_PREFIX + host;
}

/** A problem with one annotation: its key and what is wrong. */
export type AnnotationProblem = { key: string; message: string };

/**
 * The spec with the maintenance annotations applied to its hosts (a copy; other fields kept),
 * or the problems: a value other than cordon/drain, or a host the spec does not list.
 */
export function applyHostMaintenance(
  spec: unknown,
  annotations: Record<string, unknown> | undefined,
): { spec: unknown; problems: AnnotationProblem[] } {
  const problems: AnnotationProblem[] = [];
  const wanted = new Map<string, HostMaintenance>();
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(HOST_MAINTENANCE_PREFIX)) continue;
    if (value !== "cordon" && value !== "drain") {
      problems.push({ key, message: `must be "cordon" or "drain", got ${JSON.stringify(value)}` });
      continue;
    }
    wanted.set(key.slice(HOST_MAINTENANCE_PREFIX.length), value);
  }
  if (wanted.size === 0 || typeof spec !== "object" || spec === null) return { spec, problems };
  const hosts = (spec as { hosts?: unknown }).hosts;
  if (!Array.isArray(hosts)) return { spec, problems };
  const named = new Set(hosts.map((h) => (h as { name?: unknown })?.name));
  for (const host of wanted.keys()) {
    if (!named.has(host)) {
      problems.push({ key: hostMaintenanceKey(host), message: `no host ${host} in spec.hosts` });
    }
  }
  const next = hosts.map((h) => {
    const name = (h as { name?: unknown })?.name;
    const state = typeof name === "string" ? wanted.get(name) : undefined;
    return state === undefined ? h : { ...(h as object), maintenance: state };
  });
  return { spec: { ...(spec as object), hosts: next }, problems };
}
