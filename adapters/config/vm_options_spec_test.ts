/**
 * Tests of the MachineTemplate `vm` block and the per-NIC/per-disk options: accepted values
 * are normalised, and every value Proxmox VE would refuse is refused by the loader at its own
 * file:line:column.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { type ConfigProblem, formatProblem, parseConfigText } from "./load.ts";

/** A whole config file whose one template carries `vm` (indented YAML) and extra lines. */
function text(vm: string, extra = ""): string {
  return `providers:
  - name: home
    spec:
      endpoint: https://pve.example:8006
      tokenId: root@pam!proxscale
      tokenSecret: { file: /etc/proxscale/token }
      hosts:
        - name: pve1
      vmidRange: { lower: 9000, upper: 9099 }
machineTemplates:
  - name: worker
    spec:
      provider: home
      source: { clone: { templateVmid: 8000 } }
      shapes:
        - { cpu: 4, memory: 8Gi }
        - { cpu: 2, memory: 4Gi }
      vm:
${vm}${extra}
nodePools:
  - name: general
    spec:
      machineTemplate: worker
`;
}

const FULL = `        cpu: { type: x86-64-v2-AES, flags: ["+aes", "-pcid"] }
        sockets: 2
        numa: true
        balloonMiB: 2048
        machine: q35
        bios: ovmf
        efiDisk: { storage: local-lvm }
        agent: { enabled: true, fstrimClonedDisks: true, type: virtio }
        startup: { order: 3, up: 30 }
        description: "pool {{ nodePool }}, claim {{nodeClaim}}"`;

function problems(t: string): ConfigProblem[] {
  const r = parseConfigText(t, "c.yaml");
  assert.ok(!r.ok, "the text should be refused");
  return r.error;
}

/** The one problem of `t`, as "line:col path: message". */
function only(t: string): string {
  const ps = problems(t);
  assert.equal(ps.length, 1, ps.map(formatProblem).join("\n"));
  const p = ps[0]!;
  return `${p.line}:${p.col} ${p.path}: ${p.message}`;
}

Deno.test("a vm block with every option is accepted and normalised field by field", () => {
  const r = parseConfigText(text(FULL), "c.yaml");
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatProblem).join("\n"));
  assert.deepEqual(r.value.machineTemplates[0]!.vm, {
    cpu: { type: "x86-64-v2-AES", flags: ["+aes", "-pcid"] },
    sockets: 2,
    numa: true,
    balloonMiB: 2048,
    machine: "q35",
    bios: "ovmf",
    efiDisk: { storage: "local-lvm", efiType: "4m", preEnrolledKeys: false },
    agent: { enabled: true, fstrimClonedDisks: true, type: "virtio" },
    startup: { order: 3, up: 30 },
    description: "pool {{ nodePool }}, claim {{nodeClaim}}",
  });
});

Deno.test("a template without a vm block has no vm options", () => {
  const r = parseConfigText(
    text("        numa: true").replace("      vm:\n        numa: true\n", ""),
    "c.yaml",
  );
  assert.ok(r.ok, r.ok ? "" : r.error.map(formatProblem).join("\n"));
  assert.equal(r.value.machineTemplates[0]!.vm, undefined);
});

Deno.test("an unknown CPU type is refused at its value; a custom- model is accepted", () => {
  assert.match(
    only(text("        cpu: { type: pentium9 }")),
    /^19:22 machineTemplates\[0\]\.spec\.vm\.cpu\.type: must be a PVE CPU type/,
  );
  assert.ok(parseConfigText(text("        cpu: { type: custom-epyc-lite }"), "c.yaml").ok);
});

Deno.test("a CPU flag PVE does not allow per VM is refused at the flag", () => {
  assert.match(
    only(text(`        cpu: { type: host, flags: ["+aes", "+avx512f"] }`)),
    /^19:44 machineTemplates\[0\]\.spec\.vm\.cpu\.flags\[1\]: must be \+FLAG or -FLAG/,
  );
  assert.match(only(text(`        cpu: { type: host, flags: ["aes"] }`)), /flags\[0\]/);
});

Deno.test("a machine type PVE does not know is refused", () => {
  assert.match(
    only(text("        machine: q36")),
    /^19:18 machineTemplates\[0\]\.spec\.vm\.machine: must be a QEMU machine type/,
  );
  for (const ok of ["pc", "q35", "pc-q35-8.1", "pc-i440fx-9.0+pve0", "pc-q35-7.2.pxe"]) {
    assert.ok(parseConfigText(text(`        machine: ${ok}`), "c.yaml").ok, ok);
  }
});

Deno.test("an efiDisk without bios ovmf, and an unknown bios, are refused", () => {
  assert.match(
    only(text("        efiDisk: { storage: local-lvm }")),
    /^19:18 machineTemplates\[0\]\.spec\.vm\.efiDisk: efiDisk needs bios: ovmf/,
  );
  assert.match(only(text("        bios: uefi")), /vm\.bios: /);
});

Deno.test("sockets must divide every shape's vCPUs; balloon must fit every shape's memory", () => {
  assert.match(
    only(text("        sockets: 4")),
    /^19:18 machineTemplates\[0\]\.spec\.vm\.sockets: every shape's vCPUs .* multiple of sockets \(4\)/,
  );
  assert.match(
    only(text("        balloonMiB: 5000")),
    /^19:21 machineTemplates\[0\]\.spec\.vm\.balloonMiB: balloon value too large/,
  );
  assert.ok(parseConfigText(text("        balloonMiB: 4096"), "c.yaml").ok);
});

Deno.test("startup needs one of its fields, and a description may use only known placeholders", () => {
  assert.match(only(text("        startup: {}")), /vm\.startup: startup needs order, up or down/);
  assert.match(only(text("        startup: { order: -1 }")), /vm\.startup\.order: /);
  assert.match(
    only(text('        description: "made for {{ owner }}"')),
    /vm\.description: may use only the placeholders \{\{ nodeClaim \}\}/,
  );
  assert.match(
    only(text('        description: "proxscale.io/nodeclaim=other"')),
    /vm\.description: must not contain proxscale\.io\/nodeclaim=/,
  );
});

Deno.test("NIC queues, and ssd or iothread on a disk bus that lacks them, are checked", () => {
  const nets = (q: number) => `\n      network:\n        - { bridge: vmbr0, queues: ${q} }`;
  assert.ok(parseConfigText(text("        numa: false", nets(4)), "c.yaml").ok);
  assert.match(only(text("        numa: false", nets(65))), /network\[0\]\.queues: /);
  const disk = (slot: string, opt: string) =>
    `\n      disks:\n        - { slot: ${slot}, storage: local-lvm, size: 8Gi, ${opt} }`;
  assert.match(
    only(text("        numa: false", disk("virtio1", "ssd: true"))),
    /disks\[0\]\.ssd: ssd is not available on virtio disks/,
  );
  assert.match(
    only(text("        numa: false", disk("sata1", "iothread: true"))),
    /disks\[0\]\.iothread: iothread is only available on scsi and virtio disks/,
  );
  assert.ok(
    parseConfigText(
      text(
        "        numa: false",
        disk("scsi1", "ssd: true, iothread: true, cache: none, discard: true"),
      ),
      "c.yaml",
    ).ok,
  );
});
