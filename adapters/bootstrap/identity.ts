/**
 * Names and addresses a new VM is known by before it exists: its providerID, its MACs and the
 * name of its seed ISO on Proxmox storage. Chosen up front so the Proxmox side (create, upload,
 * attach) and the bootstrap data agree without reading anything back. None of them may carry
 * a secret: VM config, volume names and task logs are readable by every PVE auditor
 * (and every config parameter is echoed into the cluster log).
 */

/** The cdrom slot the seed ISO goes on unless the MachineTemplate says otherwise. */
export const DEFAULT_CDROM_SLOT = "ide3";

/**
 * The seed ISO's file name on an `iso` storage: derived from the NodeClaim name only, so it
 * can never contain the join token. Characters PVE would rewrite are replaced the same way
 * (anything outside `[A-Za-z0-9_.-]` becomes `_`), so the name proxscale deletes is the name
 * PVE stored.
 */
export function isoVolumeName(claimName: string): string {
  return `proxscale-cidata-${claimName.replace(/[^A-Za-z0-9_.-]/g, "_")}.iso`;
}

/** The volume id to attach and later delete: `<storage>:iso/<name>`. */
export function isoVolid(storage: string, claimName: string): string {
  return `${storage}:iso/${isoVolumeName(claimName)}`;
}

/** The cdrom drive value that attaches a claim's seed ISO (`ideN: <this>`). */
export function cdromValue(storage: string, claimName: string): string {
  return `${isoVolid(storage, claimName)},media=cdrom`;
}

/** The cdrom drive value that empties the slot before the ISO volume is deleted. */
export const EMPTY_CDROM = "none,media=cdrom";

/**
 * A MAC known before the VM exists (for network-config matching and DHCP reservations):
 * locally administered unicast `02`, the VMID as 32-bit big-endian, then the NIC index.
 * Unique across proxscale's VMs because VMIDs are unique in a PVE cluster.
 */
export function locallyAdministeredMac(vmid: number, nicIndex: number): string {
  if (!Number.isInteger(vmid) || vmid < 0 || vmid > 0xffffffff) {
    throw new Error(`VMID ${vmid} does not fit in 32 bits`);
  }
  if (!Number.isInteger(nicIndex) || nicIndex < 0 || nicIndex > 255) {
    throw new Error(`NIC index ${nicIndex} does not fit in one byte`);
  }
  const bytes = [2, vmid >>> 24, (vmid >>> 16) & 0xff, (vmid >>> 8) & 0xff, vmid & 0xff, nicIndex];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
