/**
 * Template locality as PVE sees it: which of the Provider's hosts can clone a MachineTemplate's
 * `templateVmid`. PVE clones a template to another node only when every disk image it copies
 * lives on shared storage (a linked clone reads the template's disks; a full clone writes to the
 * target storage, which must then be shared). So: the template's own host always, the other
 * hosts when its image disks (or a full clone's target storage) are shared. Per-host templates
 * are the configuration's business (core/template_locality.ts).
 *
 * May import: core/, adapters/proxmox/.
 */
import type { MachineTemplate } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type { PveClient } from "./client.ts";
import type { PveError } from "./errors.ts";

/** What PVE says about one template VMID: where it lives and which hosts can clone it. */
export type TemplateLocality = {
  vmid: number;
  /** The node holding the template. */
  node: string;
  /** Hosts (of those asked about) that can clone it. */
  hosts: string[];
  /** Why other hosts cannot, for messages (undefined when all can). */
  why?: string;
};

const DISK_KEY = /^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$/;

/** The storages of a template's image disks (cloud-init drives and CD-ROMs left out). */
export function imageStorages(config: Record<string, unknown>): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(config)) {
    if (!DISK_KEY.test(k) || typeof v !== "string") continue;
    const volume = v.split(",")[0] ?? "";
    if (/media=cdrom/.test(v) || /cloudinit/.test(volume) || volume === "none") continue;
    const colon = volume.indexOf(":");
    if (colon > 0) out.add(volume.slice(0, colon));
  }
  return [...out].sort();
}

/**
 * Reads the template's node, its disks and the storages' `shared` flags and says which of
 * `hosts` can clone it. A template VMID that does not exist is an error naming it.
 */
export async function templateLocality(
  client: PveClient,
  source: Extract<MachineTemplate["source"], { kind: "clone" }>,
  vmid: number,
  hosts: readonly string[],
): Promise<Result<TemplateLocality, PveError | { kind: "missing"; message: string }>> {
  const vms = await client.resourcesVm();
  if (!vms.ok) return vms;
  const entry = vms.value.find((v) => v.vmid === vmid);
  if (!entry) return err({ kind: "missing", message: `template VM ${vmid} does not exist` });
  const cfg = await client.vmConfig(entry.node, vmid);
  if (!cfg.ok) return cfg;
  const storages = await client.resourcesStorage();
  if (!storages.ok) return storages;
  const shared = new Set(
    storages.value.filter((s) => s.node === entry.node && s.shared).map((s) => s.storage),
  );
  const copied = source.full && source.storage !== undefined
    ? [source.storage]
    : imageStorages(cfg.value as Record<string, unknown>);
  const local = copied.filter((s) => !shared.has(s));
  if (local.length === 0) return ok({ vmid, node: entry.node, hosts: [...hosts] });
  return ok({
    vmid,
    node: entry.node,
    hosts: hosts.filter((h) => h === entry.node),
    why: `template VM ${vmid} on ${entry.node} uses storage not shared with other hosts (${
      local.join(", ")
    }): PVE clones it only on ${entry.node}`,
  });
}
