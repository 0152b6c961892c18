/**
 * A MachineTemplate's `vm` settings as PVE config values: the scalar keys (`cpu`, `sockets`,
 * `cores`, `numa`, `balloon`, `machine`, `bios`, `agent`, `startup`), the EFI disk and the
 * description text. Pure; vm_config.ts puts them into the desired config, which is written on
 * create and converged after a clone, so scratch-built and cloned VMs end up alike.
 *
 * May import: core/model.ts.
 */
import type { MachineTemplate, NodeClaim, VmOptions } from "../../core/model.ts";

/** `cores` and `sockets` for a VM of `vcpus` vCPUs: the vCPUs split evenly over the sockets. */
export function cpuTopology(vcpus: number, vm: VmOptions | undefined): {
  cores: number;
  sockets: number;
} {
  const sockets = vm?.sockets ?? 1;
  return { cores: Math.max(1, Math.ceil(vcpus / sockets)), sockets };
}

const bit = (b: boolean) => (b ? 1 : 0);

/** The `cpu` property string: `<type>[,flags=+a;-b]`. */
export function cpuValue(cpu: NonNullable<VmOptions["cpu"]>): string {
  return cpu.flags?.length ? `${cpu.type},flags=${cpu.flags.join(";")}` : cpu.type;
}

/** The `agent` property string: `<0|1>[,fstrim_cloned_disks=<0|1>][,type=<t>]`. */
export function agentValue(agent: NonNullable<VmOptions["agent"]>): string {
  const parts = [String(bit(agent.enabled))];
  if (agent.fstrimClonedDisks !== undefined) {
    parts.push(`fstrim_cloned_disks=${bit(agent.fstrimClonedDisks)}`);
  }
  if (agent.type !== undefined) parts.push(`type=${agent.type}`);
  return parts.join(",");
}

/** The `startup` property string: `order=<n>[,up=<s>][,down=<s>]`. */
export function startupValue(s: NonNullable<VmOptions["startup"]>): string {
  const parts: string[] = [];
  if (s.order !== undefined) parts.push(`order=${s.order}`);
  if (s.up !== undefined) parts.push(`up=${s.up}`);
  if (s.down !== undefined) parts.push(`down=${s.down}`);
  return parts.join(",");
}

/** The `efidisk0` value that allocates a new EFI vars disk: `<storage>:1,efitype=…,…`. */
export function efiDiskValue(e: NonNullable<VmOptions["efiDisk"]>): string {
  return `${e.storage}:1,efitype=${e.efiType},pre-enrolled-keys=${bit(e.preEnrolledKeys)}`;
}

/** Config keys the `vm` block sets besides `cores`/`sockets` (unset fields are left alone). */
export function vmOptionScalars(vm: VmOptions | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (!vm) return out;
  if (vm.cpu) out.cpu = cpuValue(vm.cpu);
  if (vm.numa !== undefined) out.numa = bit(vm.numa);
  if (vm.balloonMiB !== undefined) out.balloon = vm.balloonMiB;
  if (vm.machine !== undefined) out.machine = vm.machine;
  if (vm.bios !== undefined) out.bios = vm.bios;
  if (vm.agent) out.agent = agentValue(vm.agent);
  if (vm.startup) out.startup = startupValue(vm.startup);
  return out;
}

/** Config keys PVE guards with `VM.Config.HWType` rather than the CPU/Memory/Options rights. */
export const HWTYPE_KEYS: ReadonlySet<string> = new Set([
  "acpi",
  "audio0",
  "hotplug",
  "kvm",
  "machine",
  "scsihw",
  "smbios1",
  "tablet",
  "vga",
  "watchdog",
]);

/** The hardware-type keys a template's VMs get written (`vm.machine`, raw scratch options). */
export function hardwareTypeKeys(template: MachineTemplate): string[] {
  const keys = new Set<string>();
  if (template.vm?.machine !== undefined) keys.add("machine");
  if (template.source.kind === "scratch") {
    for (const k of Object.keys(template.source.options)) if (HWTYPE_KEYS.has(k)) keys.add(k);
  }
  return [...keys].sort();
}

/** The template's description text with its placeholders filled in for this claim. */
export function descriptionText(claim: NodeClaim, template: MachineTemplate): string | undefined {
  const text = template.vm?.description;
  if (text === undefined) return undefined;
  const values: Record<string, string> = {
    nodeClaim: claim.name,
    nodePool: claim.nodePool,
    machineTemplate: template.name,
    shape: claim.shape.name,
  };
  return text.replace(/\{\{\s*([^}\s]*)\s*\}\}/g, (all, k: string) => values[k] ?? all);
}
