import assert from "node:assert/strict";
import { parseConfigText } from "./load.ts";

const TEXT = `providers:
  - name: pve
    spec:
      endpoint: https://pve.example:8006
      tokenId: root@pam!proxscale
      tokenSecret: { file: /etc/proxscale/token }
      hosts: [{ name: pve1 }]
      vmidRange: { lower: 9000, upper: 9099 }
  - name: rack
    spec:
      kind: redfish
      machines:
        - name: r1-07
          endpoint: https://bmc-r1-07.lan
          systemId: System.Embedded.1
          username: proxscale
          password: { file: /etc/proxscale/bmc }
      seedServer:
        url: https://proxscale.lan:8450
        certFile: /etc/proxscale/seed.crt
        keyFile: /etc/proxscale/seed.key
machineTemplates:
  - name: vm
    spec:
      provider: pve
      source: { clone: { templateVmid: 9000 } }
      shapes: [{ cpu: 2, memory: 4Gi }]
  - name: metal
    spec:
      provider: rack
      shapes: [{ cpu: 32, memory: 128Gi }]
nodePools:
  - name: vm
    spec: { machineTemplate: vm }
  - name: metal
    spec: { machineTemplate: metal }
`;

/** The 1-based line of the first line of `text` that starts with `start` (after indentation). */
const lineOf = (text: string, start: string, from = 0) =>
  text.split("\n").findIndex((l, i) => i >= from && l.trimStart().startsWith(start)) + 1;

const problems = (text: string) => {
  const r = parseConfigText(text, "c.yaml");
  return r.ok ? [] : r.error.map((p) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
};

Deno.test("a bare-metal template needs no source, disks or network; a Proxmox one still gets its source", () => {
  const r = parseConfigText(TEXT, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.error));
  const [vm, metal] = r.value.machineTemplates;
  assert.equal(vm!.source.kind, "clone");
  assert.deepEqual(metal!.disks, []);
  assert.deepEqual(metal!.network, []);
});

Deno.test("a Proxmox template without source is refused at the template, naming the field", () => {
  const text = TEXT.replace("      source: { clone: { templateVmid: 9000 } }\n", "");
  const found = problems(text);
  assert.equal(found.length, 1, found.join("\n"));
  const spec = lineOf(text, "spec:", lineOf(text, "- name: vm") - 1);
  const line = Number(found[0]!.split(":")[0]);
  assert.ok(line >= spec && line <= spec + 2, `in the template's spec (${spec}): ${found[0]}`);
  assert.match(
    found[0]!,
    /^\d+:\d+ machineTemplates\[0\]\.spec\.source: a MachineTemplate on Proxmox Provider "pve" needs source/,
  );
});

Deno.test("a bare-metal template setting PVE-only fields is told each does not apply", () => {
  const text = TEXT.replace(
    "      provider: rack\n",
    "      provider: rack\n      source: { scratch: {} }\n      disks: [{ slot: scsi1, storage: local-lvm, size: 10Gi }]\n" +
      "      network: [{ bridge: vmbr0 }]\n      tags: [metal]\n",
  );
  const found = problems(text);
  const fields = found.map((f) => /spec\.(\w+):/.exec(f)?.[1]);
  assert.deepEqual(fields, ["source", "disks", "network", "tags"], found.join("\n"));
  assert.match(found[0]!, /source does not apply to bare metal: Provider "rack" is kind redfish/);
  assert.ok(found[0]!.startsWith(`${lineOf(text, "source: { scratch")}:`), "at the field");
});
