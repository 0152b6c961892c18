/**
 * The privileges GPU shapes need on Proxmox VE, for `proxscale diagnose`: proxscale writes
 * `hostpciN: mapping=NAME` lines (PVE refuses raw `host=` ids to API tokens), which needs
 * VM.Config.HWType on the VMs and Mapping.Use on each mapping named (on all of `/mapping/pci`
 * for shapes that ask by device model), and it reads the hosts' PCI devices (Sys.Audit on `/`).
 *
 * May import: core/.
 */
import type { MachineTemplate } from "../core/model.ts";

/** A privilege proxscale needs, where, and for what (as diagnose_pve.ts's PrivilegeNeed). */
type Need = { priv: string; path: string; why: string };

/** What the GPU shapes of `t` need; empty for a template without GPU shapes. */
export function gpuPrivilegeNeeds(t: MachineTemplate, vms: string): Need[] {
  const asks = t.shapes.flatMap((s) => (s.gpus ? [s.gpus] : []));
  if (asks.length === 0) return [];
  const needs: Need[] = [
    { priv: "VM.Config.HWType", path: vms, why: `write hostpci lines of ${t.name}'s GPU shapes` },
    { priv: "Sys.Audit", path: "/", why: `read the hosts' PCI devices (${t.name}'s GPU shapes)` },
  ];
  for (const a of asks) {
    needs.push(
      a.mapping !== undefined
        ? {
          priv: "Mapping.Use",
          path: `/mapping/pci/${a.mapping}`,
          why: `pass through PCI mapping ${a.mapping} (${t.name})`,
        }
        : {
          priv: "Mapping.Use",
          path: "/mapping/pci",
          why: `pass through any PCI mapping with ${a.model} devices (${t.name})`,
        },
    );
  }
  return needs;
}
