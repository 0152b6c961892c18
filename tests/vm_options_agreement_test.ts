/**
 * The config loader and the fake PVE judge VM option values on their own (neither imports the
 * other); here they are held against each other. For generated values, the loader accepts a
 * `vm` block, NIC or disk option exactly when the fake accepts the PVE value proxscale writes
 * for it, so a config that validates never fails a launch on a format PVE refuses. Where the
 * loader is deliberately stricter (NIC MTU below 576, more than 64 sockets) only that direction
 * is required.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { diskSpec, networkSpec } from "../adapters/config/schema.ts";
import {
  PVE_CPU_TYPES,
  PVE_VM_CPU_FLAGS,
  vmOptionsSpec,
} from "../adapters/config/vm_options_spec.ts";
import { agentValue, cpuValue, startupValue } from "../adapters/proxmox/vm_options.ts";
import { existingDiskValue, netValue } from "../adapters/proxmox/vm_config.ts";
import {
  checkAgent,
  checkCpu,
  checkDriveOptions,
  checkMachine,
  checkNicOptions,
  checkStartup,
} from "../fakes/fake_pve/option_formats.ts";
import { parseDrive, parseNic } from "../fakes/fake_pve/property_string.ts";

const RUNS = 300;

/** Tokens near the valid ones: real names, case slips, typos, and junk. */
const cpuType = fc.oneof(
  fc.constantFrom(...PVE_CPU_TYPES),
  fc.constantFrom(...PVE_CPU_TYPES).map((t) => t.toLowerCase()),
  fc.constantFrom("custom-lite", "custom-", "custom-a b", "pentium9", "EPYC-Zen9", "host,x", ""),
  fc.string({ maxLength: 12 }),
);
const flag = fc.oneof(
  fc.tuple(fc.constantFrom("+", "-"), fc.constantFrom(...PVE_VM_CPU_FLAGS)).map(([s, f]) => s + f),
  // (A list item holding two flags joined by ';' is refused by the loader only: one per item.)
  fc.constantFrom("aes", "+avx512f", "-sse4.2", "+", "++aes", "+AES"),
);
const machine = fc.oneof(
  fc.constantFrom("q35", "pc", "pc-q35-8.1", "pc-i440fx-9.0+pve0", "pc-q35-7.2.pxe", "virt"),
  // (An empty machine, and options after the type such as viommu, are refused by the loader
  // only: it takes the machine type alone.)
  fc.constantFrom("q36", "pc-q35", "pc-q35-8", "i440fx", "Q35"),
  fc.tuple(
    fc.constantFrom("pc-", "pc-q35-", "pc-i440fx-", "virt-", "q"),
    fc.stringMatching(/^[0-9.+pvex]{0,6}$/),
  ).map(([a, b]) => a + b),
);

function verdicts(zodOk: boolean, fakeError: string | undefined, exact = true): void {
  if (zodOk) assert.equal(fakeError, undefined, "the loader accepted what the fake refuses");
  else if (exact) assert.notEqual(fakeError, undefined, "the loader refused what the fake accepts");
}

Deno.test("CPU type and flags: the loader accepts exactly what the fake PVE accepts", () => {
  fc.assert(
    fc.property(
      cpuType,
      fc.option(fc.array(flag, { maxLength: 3 }), { nil: undefined }),
      (t, f) => {
        const cpu = f === undefined ? { type: t } : { type: t, flags: f };
        const zodOk = vmOptionsSpec.safeParse({ cpu }).success;
        // A custom model exists in PVE only once defined, under a section id (no spaces or
        // commas): give the fake the one the loader names whenever it could exist.
        const name = t.slice("custom-".length);
        const exists = t.startsWith("custom-") && /^[A-Za-z0-9_.-]+$/.test(name);
        const custom = new Set(exists ? [name] : []);
        verdicts(zodOk, checkCpu(cpuValue(cpu), custom));
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("machine type: the loader accepts exactly what the fake PVE accepts", () => {
  fc.assert(
    fc.property(machine, (m) => {
      verdicts(vmOptionsSpec.safeParse({ machine: m }).success, checkMachine(m));
    }),
    { numRuns: RUNS },
  );
});

Deno.test("agent and startup: every accepted block becomes a value the fake PVE accepts", () => {
  const bool = fc.option(fc.boolean(), { nil: undefined });
  const int = fc.option(fc.integer({ min: -3, max: 400 }), { nil: undefined });
  fc.assert(
    fc.property(
      fc.boolean(),
      bool,
      fc.option(fc.constantFrom("virtio", "isa", "serial"), { nil: undefined }),
      int,
      int,
      int,
      (enabled, fstrim, type, order, up, down) => {
        const agent = {
          enabled,
          ...(fstrim !== undefined ? { fstrimClonedDisks: fstrim } : {}),
          ...(type !== undefined ? { type } : {}),
        };
        const a = vmOptionsSpec.safeParse({ agent });
        verdicts(a.success, checkAgent(agentValue(agent as never)));
        const startup = {
          ...(order !== undefined ? { order } : {}),
          ...(up !== undefined ? { up } : {}),
          ...(down !== undefined ? { down } : {}),
        };
        const s = vmOptionsSpec.safeParse({ startup });
        verdicts(s.success, checkStartup(startupValue(startup)));
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("NIC options: an accepted NIC is a value the fake PVE accepts; queues and tag agree exactly", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -2, max: 70 }),
      fc.integer({ min: -1, max: 4100 }),
      fc.integer({ min: 0, max: 66000 }),
      (queues, vlan, mtu) => {
        const n = { slot: "net0", model: "virtio", bridge: "vmbr0", queues, vlan, mtu };
        const parsed = networkSpec.safeParse(n);
        const nic = parseNic(netValue({ ...n, model: "virtio" }))!;
        const fake = checkNicOptions(nic.props);
        verdicts(parsed.success, fake, false);
        if (mtu >= 576 && mtu <= 65520) verdicts(parsed.success, fake);
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("disk options per bus: the loader accepts exactly what the fake PVE accepts", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("scsi1", "virtio1", "sata1", "ide1"),
      fc.option(fc.boolean(), { nil: undefined }),
      fc.option(fc.boolean(), { nil: undefined }),
      fc.option(fc.boolean(), { nil: undefined }),
      fc.option(fc.constantFrom("none", "writeback", "unsafe"), { nil: undefined }),
      (slot, ssd, iothread, discard, cache) => {
        const d = {
          slot,
          storage: "local-lvm",
          size: "8Gi",
          ...(ssd !== undefined ? { ssd } : {}),
          ...(iothread !== undefined ? { iothread } : {}),
          ...(discard !== undefined ? { discard } : {}),
          ...(cache !== undefined ? { cache } : {}),
        };
        const zodOk = diskSpec.safeParse(d).success;
        const value = existingDiskValue("local-lvm:vm-100-disk-1", { ...d, size: 8 * 2 ** 30 });
        verdicts(zodOk, checkDriveOptions(slot, parseDrive(value).props));
      },
    ),
    { numRuns: RUNS },
  );
});
