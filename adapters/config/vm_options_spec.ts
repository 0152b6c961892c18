/**
 * The `vm` block of a MachineTemplate: typed VM settings (CPU model and flags, sockets, NUMA,
 * balloon, machine, BIOS and EFI disk, guest agent, startup order, description template) that
 * proxscale writes into every VM, made from scratch or cloned. Each field accepts exactly what
 * Proxmox VE accepts for the matching config key, so a value PVE would refuse is a config error
 * with its file position instead of a failed launch.
 *
 * May import: zod.
 */
import { z } from "zod";

/** PVE 8's built-in CPU models (a custom model is written `custom-NAME`). */
export const PVE_CPU_TYPES: readonly string[] = [
  "486",
  "pentium",
  "pentium2",
  "pentium3",
  "coreduo",
  "core2duo",
  "Conroe",
  "Penryn",
  "Nehalem",
  "Nehalem-IBRS",
  "Westmere",
  "Westmere-IBRS",
  "SandyBridge",
  "SandyBridge-IBRS",
  "IvyBridge",
  "IvyBridge-IBRS",
  "Haswell",
  "Haswell-IBRS",
  "Haswell-noTSX",
  "Haswell-noTSX-IBRS",
  "Broadwell",
  "Broadwell-IBRS",
  "Broadwell-noTSX",
  "Broadwell-noTSX-IBRS",
  "Skylake-Client",
  "Skylake-Client-IBRS",
  "Skylake-Client-noTSX-IBRS",
  "Skylake-Client-v4",
  "Skylake-Server",
  "Skylake-Server-IBRS",
  "Skylake-Server-noTSX-IBRS",
  "Skylake-Server-v4",
  "Skylake-Server-v5",
  "Cascadelake-Server",
  "Cascadelake-Server-noTSX",
  "Cascadelake-Server-v2",
  "Cascadelake-Server-v4",
  "Cascadelake-Server-v5",
  "Cooperlake",
  "Cooperlake-v2",
  "KnightsMill",
  "Icelake-Client",
  "Icelake-Client-noTSX",
  "Icelake-Server",
  "Icelake-Server-noTSX",
  "Icelake-Server-v3",
  "Icelake-Server-v4",
  "Icelake-Server-v5",
  "Icelake-Server-v6",
  "SapphireRapids",
  "SapphireRapids-v2",
  "GraniteRapids",
  "athlon",
  "phenom",
  "Opteron_G1",
  "Opteron_G2",
  "Opteron_G3",
  "Opteron_G4",
  "Opteron_G5",
  "EPYC",
  "EPYC-IBPB",
  "EPYC-v3",
  "EPYC-v4",
  "EPYC-Rome",
  "EPYC-Rome-v2",
  "EPYC-Rome-v3",
  "EPYC-Rome-v4",
  "EPYC-Milan",
  "EPYC-Milan-v2",
  "EPYC-Genoa",
  "host",
  "kvm32",
  "kvm64",
  "qemu32",
  "qemu64",
  "max",
  "x86-64-v2",
  "x86-64-v2-AES",
  "x86-64-v3",
  "x86-64-v4",
];

/** CPU flags PVE lets a VM config turn on or off (other flags only in custom CPU models). */
export const PVE_VM_CPU_FLAGS: readonly string[] = [
  "pcid",
  "spec-ctrl",
  "ibpb",
  "ssbd",
  "virt-ssbd",
  "amd-ssbd",
  "amd-no-ssb",
  "pdpe1gb",
  "md-clear",
  "hv-tlbflush",
  "hv-evmcs",
  "aes",
];

const CPU_TYPE_RE = new RegExp(`^(${PVE_CPU_TYPES.join("|")}|custom-[A-Za-z0-9_.-]+)$`);
const FLAG_RE = new RegExp(`^[+-](${PVE_VM_CPU_FLAGS.join("|")})$`);
const MACHINE_RE =
  /^(pc|pc(-i440fx)?-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|q35|pc-q35-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|virt(-\d+(\.\d+)+)?(\+pve\d+)?)$/;

/** Names a description template may use, as `{{ name }}`. */
export const DESCRIPTION_FIELDS: readonly string[] = [
  "nodeClaim",
  "nodePool",
  "machineTemplate",
  "shape",
];
const FIELDS = DESCRIPTION_FIELDS.join("|");
/** Text in which every `{{` opens a known placeholder (one regex, so the CRD checks the same). */
const DESCRIPTION_RE = new RegExp(`^([^{]|\\{[^{]|\\{$|\\{\\{\\s*(${FIELDS})\\s*\\}\\})*$`);

/** Most characters of a description template (PVE keeps at most 8 KiB, identity lines included). */
export const DESCRIPTION_MAX = 6000;

/**
 * The description template: known placeholders only, and never an identity line of its own
 * (ownership is read from those lines, so a template must not be able to forge one).
 */
export const descriptionTemplate = z.string().max(DESCRIPTION_MAX).regex(DESCRIPTION_RE, {
  error: `may use only the placeholders ${DESCRIPTION_FIELDS.map((f) => `{{ ${f} }}`).join(", ")}`,
}).refine((d) => !d.includes("proxscale.io/nodeclaim=") && !d.includes("proxscale.io/nodepool="), {
  error:
    "must not contain proxscale.io/nodeclaim= or proxscale.io/nodepool= (proxscale's identity lines)",
});

/** `startup`: order and delays; at least one of them. */
export const startupSpec = z.strictObject({
  order: z.int().min(0).optional(),
  up: z.int().min(0).optional().describe("seconds to wait after starting this VM"),
  down: z.int().min(0).optional().describe("seconds to wait for this VM to shut down"),
}).refine((s) => s.order !== undefined || s.up !== undefined || s.down !== undefined, {
  error: "startup needs order, up or down",
});

/** The `vm` block (a MachineTemplate field). */
export const vmOptionsSpec = z.strictObject({
  cpu: z.strictObject({
    type: z.string().max(64).regex(CPU_TYPE_RE, {
      error:
        "must be a PVE CPU type such as host, x86-64-v2-AES, EPYC-Rome or Skylake-Server, or custom-NAME for a custom model",
    }).describe("PVE CPU model"),
    flags: z.array(
      z.string().regex(FLAG_RE, {
        error: `must be +FLAG or -FLAG with a flag PVE allows per VM: ${
          PVE_VM_CPU_FLAGS.join(", ")
        }`,
      }),
    ).optional().describe("VM-specific CPU flags, e.g. +aes, -pcid"),
  }).optional().describe("CPU model and flags (PVE `cpu`)"),
  sockets: z.int().min(1).max(64).optional().describe(
    "CPU sockets; each shape's vCPUs are split evenly over them (PVE `sockets`, default 1)",
  ),
  numa: z.boolean().optional().describe("expose NUMA topology to the guest (PVE `numa`)"),
  balloonMiB: z.int().min(0).optional().describe(
    "balloon target in MiB, at most every shape's memory; 0 turns ballooning off (PVE `balloon`)",
  ),
  machine: z.string().regex(MACHINE_RE, {
    error: "must be a QEMU machine type PVE accepts, such as q35, pc, pc-q35-8.1 or pc-i440fx-9.0",
  }).optional().describe("QEMU machine type (PVE `machine`)"),
  bios: z.enum(["seabios", "ovmf"]).optional().describe("firmware (PVE `bios`)"),
  efiDisk: z.strictObject({
    storage: z.string().regex(/^[a-zA-Z][a-zA-Z0-9\-_.]*$/, {
      error: "must be a PVE storage id such as local-lvm",
    }),
    efiType: z.enum(["2m", "4m"]).default("4m"),
    preEnrolledKeys: z.boolean().default(false).describe(
      "enroll the distribution and Microsoft Secure Boot keys",
    ),
  }).optional().describe(
    "EFI vars disk (PVE `efidisk0`) added when the VM has none; needs bios ovmf",
  ),
  agent: z.strictObject({
    enabled: z.boolean().default(true),
    fstrimClonedDisks: z.boolean().optional(),
    type: z.enum(["virtio", "isa"]).optional(),
  }).optional().describe("QEMU guest agent (PVE `agent`)"),
  startup: startupSpec.optional().describe("start and shutdown order on host boot (PVE `startup`)"),
  description: descriptionTemplate.optional().describe(
    "text added to the VM description below proxscale's identity lines",
  ),
}).superRefine((v, ctx) => {
  if (v.efiDisk && v.bios !== "ovmf") {
    ctx.addIssue({ code: "custom", message: "efiDisk needs bios: ovmf", path: ["efiDisk"] });
  }
});

export type VmOptionsSpec = z.infer<typeof vmOptionsSpec>;
