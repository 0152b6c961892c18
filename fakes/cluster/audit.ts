/**
 * The leak audit: every VM on the fake PVE that proxscale may have made, found without
 * trusting proxscale's own bookkeeping. It reads the fake's state directly (every host, online
 * or not, tagged or not, named or not; templates excluded) and counts a VM when any of these
 * holds:
 *
 * - its VMID is in the managed range (inclusive at both ends);
 * - its description carries a `proxscale.io/nodeclaim=<claim>` line (how proxscale marks
 *   the VMs it creates);
 * - its name starts with the given prefix;
 * - a cdrom holds a proxscale seed ISO (`proxscale-cidata-<claim>.iso`).
 *
 * Each VM is listed with the claim it names (description first, then the seed ISO, then the
 * prefixed name), and `duplicates` lists claims named by more than one VM: a launch that
 * leaked a second VM for the same claim.
 *
 * May import: fakes/.
 */
import type { FakePve } from "../fake_pve/server.ts";

/** Why a VM was counted. */
export type AuditMark = "range" | "description" | "name" | "seed";

/** One counted VM. */
export type AuditedVm = {
  vmid: number;
  host: string;
  name?: string;
  tags: string[];
  status: "running" | "stopped";
  /** The NodeClaim it names, if any. */
  claim?: string;
  marks: AuditMark[];
};

/** What the audit found. */
export type VmAudit = {
  vms: AuditedVm[];
  /** Claims named by two or more VMs, with their VMIDs in order. */
  duplicates: { claim: string; vmids: number[] }[];
};

const CLAIM_LINE = /^\s*proxscale\.io\/nodeclaim=(\S+)\s*$/m;
const SEED_ISO = /(?:^|[:/])proxscale-cidata-([A-Za-z0-9_.-]+)\.iso(?:,|$)/;

/** Lists every VM on the fake PVE that proxscale may own (see the file comment). */
export function auditVms(
  pve: FakePve,
  opts: { vmidRange: { lower: number; upper: number }; namePrefix?: string },
): VmAudit {
  const vms: AuditedVm[] = [];
  const all = [...pve.model.st.vms.values()].sort((a, b) => a.vmid - b.vmid);
  for (const vm of all) {
    const values = vm.conf.values;
    if (values.get("template") === "1") continue;
    const marks: AuditMark[] = [];
    if (vm.vmid >= opts.vmidRange.lower && vm.vmid <= opts.vmidRange.upper) marks.push("range");
    const fromDescription = CLAIM_LINE.exec(vm.conf.description ?? "")?.[1];
    if (fromDescription) marks.push("description");
    const name = values.get("name");
    const prefixed = opts.namePrefix !== undefined && opts.namePrefix !== "" &&
      name?.startsWith(opts.namePrefix) === true;
    if (prefixed) marks.push("name");
    let fromSeed: string | undefined;
    for (const [k, v] of values) {
      if (!/^(ide|sata|scsi)\d+$/.test(k)) continue;
      const m = SEED_ISO.exec(v);
      if (m) fromSeed ??= m[1];
    }
    if (fromSeed) marks.push("seed");
    if (marks.length === 0) continue;
    const claim = fromDescription ?? fromSeed ?? (prefixed ? name : undefined);
    const tags = (values.get("tags") ?? "").split(/[;,\s]+/).filter((t) => t !== "");
    vms.push({
      vmid: vm.vmid,
      host: vm.node,
      ...(name !== undefined ? { name } : {}),
      tags,
      status: vm.status,
      ...(claim !== undefined ? { claim } : {}),
      marks,
    });
  }
  const byClaim = new Map<string, number[]>();
  for (const v of vms) {
    if (v.claim === undefined) continue;
    byClaim.set(v.claim, [...(byClaim.get(v.claim) ?? []), v.vmid]);
  }
  const duplicates = [...byClaim].filter(([, ids]) => ids.length > 1)
    .map(([claim, vmids]) => ({ claim, vmids }))
    .sort((a, b) => a.claim.localeCompare(b.claim));
  return { vms, duplicates };
}
