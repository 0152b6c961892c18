/**
 * Which hosts can take a clone of a MachineTemplate. A per-host template (`clone.perHost`) serves
 * the hosts it names; a single template (`clone.templateVmid`) serves the host it lives on, and
 * every other host only when its disks sit on shared storage, which only the Provider can tell
 * (it reports the hosts in `Snapshot.templateHosts`). Placement in the core and in the
 * provider only picks hosts listed here, so a template on local storage is never cloned to a
 * host that PVE would refuse ("can't clone VM to node ... (VM uses local storage)").
 *
 * May import: core/ only.
 */
import type { MachineTemplate } from "./model.ts";

/**
 * Hosts among `hosts` that can clone `template`. `known`: the Provider's answer for this
 * template (hosts that can clone its `templateVmid`), when it was read this pass; without it
 * only the configuration's own limits apply. A scratch-built template serves every host; one
 * built from an image only the hosts `known` lists (none until a template VM is finished).
 */
export function templateHostsAmong(
  template: MachineTemplate,
  hosts: readonly string[],
  known?: readonly string[],
): string[] {
  const s = template.source;
  // An image template serves the hosts the Provider found a finished template VM for.
  if (s.kind === "image") return hosts.filter((h) => known?.includes(h) ?? false);
  if (s.kind !== "clone") return [...hosts];
  const perHost = s.perHost ?? {};
  return hosts.filter((h) => {
    if (perHost[h] !== undefined) return true;
    if (s.templateVmid === undefined) return false;
    return known === undefined || known.includes(h);
  });
}

/**
 * True when a template that is cloned from one `templateVmid` (no per-host copy for some host)
 * serves several hosts: whether it can depends on its storage, which `diagnose` checks.
 */
export function needsSharedTemplateStorage(template: MachineTemplate, hosts: readonly string[]) {
  const s = template.source;
  if (s.kind !== "clone" || s.templateVmid === undefined) return false;
  const uncovered = hosts.filter((h) => s.perHost?.[h] === undefined);
  return uncovered.length > 1;
}
