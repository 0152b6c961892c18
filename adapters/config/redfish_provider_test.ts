/**
 * Tests of the Provider kinds in the config: a Provider without `kind` is a Proxmox VE cluster,
 * `kind: redfish` lists bare-metal machines (they become its hosts, one node each) with a seed
 * server, and each kind refuses the other kind's fields at their file:line:column.
 *
 * May import: this folder, core/.
 */
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
          zone: rack-1
          endpoint: https://bmc-r1-07.lan
          systemId: System.Embedded.1
          username: proxscale
          password: { secret: { namespace: proxscale, name: bmc, key: password } }
          tls: { fingerprint: "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89" }
        - name: r1-08
          endpoint: https://bmc-r1-08.lan/
          systemId: 4c4c4544-0042-3010-8052-b4c04f4e4e31
          username: proxscale
          password: { file: /etc/proxscale/bmc }
      seedServer:
        url: https://proxscale.lan:8450
        certFile: /etc/proxscale/seed.crt
        keyFile: /etc/proxscale/seed.key
machineTemplates:
  - name: metal
    spec:
      provider: rack
      source: { scratch: {} }
      shapes:
        - { cpu: 32, memory: 128Gi }
nodePools:
  - name: metal
    spec:
      machineTemplate: metal
`;

Deno.test("a Provider without kind is Proxmox; a redfish Provider's machines become its hosts", () => {
  const r = parseConfigText(TEXT, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.error));
  const [pve, rack] = r.value.providers;
  assert.equal(pve!.kind, undefined);
  assert.equal(pve!.endpoint, "https://pve.example:8006");
  assert.equal(rack!.kind, "redfish");
  assert.deepEqual(rack!.hosts.map((h) => [h.name, h.zone]), [["r1-07", "rack-1"], [
    "r1-08",
    "r1-08",
  ]]);
  assert.deepEqual(rack!.vmidRange, { lower: 100, upper: 101 });
  const m = rack!.redfish!.machines;
  assert.equal(m[1]!.endpoint, "https://bmc-r1-08.lan");
  assert.deepEqual(m[0]!.password, {
    secret: { namespace: "proxscale", name: "bmc", key: "password" },
  });
  assert.equal(m[0]!.tls.fingerprint?.startsWith("AB:CD"), true);
  assert.equal(r.value.machineTemplates[0]!.vmMemOverhead, 0, "a machine is exactly its shape");
  assert.deepEqual(rack!.redfish!.seedServer, {
    listen: "0.0.0.0:8450",
    url: "https://proxscale.lan:8450",
    certFile: "/etc/proxscale/seed.crt",
    keyFile: "/etc/proxscale/seed.key",
    ttlSeconds: 600,
  });
});

Deno.test("a redfish Provider carrying a PVE token is refused at that field", () => {
  const r = parseConfigText(
    TEXT.replace("      kind: redfish\n", "      kind: redfish\n      tokenId: root@pam!x\n"),
    "c.yaml",
  );
  assert.ok(!r.ok);
  const where = r.error.map((p) => `${p.line} ${p.path}: ${p.message}`).join("\n");
  assert.match(where, /tokenId/);
});

Deno.test("a redfish Provider without machines, or with one listed twice, is refused", () => {
  const none = parseConfigText(
    TEXT.replace(/ {6}machines:[\s\S]*?(?= {6}seedServer:)/, ""),
    "c.yaml",
  );
  assert.ok(!none.ok);
  assert.match(none.error.map((p) => `${p.path}: ${p.message}`).join("\n"), /machines/);
  const twice = parseConfigText(TEXT.replace("name: r1-08", "name: r1-07"), "c.yaml");
  assert.ok(!twice.ok);
  assert.match(twice.error.map((p) => p.message).join("\n"), /a machine is listed twice/);
});

Deno.test("a kind that is neither proxmox nor redfish is refused", () => {
  const r = parseConfigText(TEXT.replace("kind: redfish", "kind: vsphere"), "c.yaml");
  assert.ok(!r.ok);
  assert.match(r.error.map((p) => `${p.path}: ${p.message}`).join("\n"), /kind/);
});
