/**
 * Tests of the capacity types of a Provider's hosts in the config: the class price table and
 * each host's class are normalised for the core (every host gets a class once the Provider has
 * any), a config without classes stays without them, and a host naming a class that is neither
 * built in nor priced is refused at its file:line:column.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { type ConfigProblem, parseConfigText } from "./load.ts";

const TEXT = `providers:
  - name: home
    spec:
      endpoint: https://pve.example:8006/
      tokenId: root@pam!proxscale
      tokenSecret: { file: /etc/proxscale/token }
      hosts:
        - name: pve1
          capacityType: reserved
        - name: pve2
          capacityType: preemptible
        - name: pve3
      capacityTypes:
        reserved: { perVcpuHour: 0.01, perGiBHour: 0.001 }
        preemptible: { perVcpuHour: 0.004, perGiBHour: 0.0004 }
      vmidRange: { lower: 9000, upper: 9099 }
machineTemplates:
  - name: worker
    spec:
      provider: home
      source: { clone: { templateVmid: 8000 } }
      shapes:
        - { cpu: 2, memory: 4Gi }
nodePools:
  - name: general
    spec:
      machineTemplate: worker
      requirements:
        - { key: proxscale.io/capacity-type, operator: In, values: [reserved, preemptible] }
`;

Deno.test("hosts' capacity types and the class price table reach the core, unnamed hosts as standard", () => {
  const r = parseConfigText(TEXT, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.error));
  const p = r.value.providers[0]!;
  assert.deepEqual(p.hosts.map((h) => h.capacityType), ["reserved", "preemptible", "standard"]);
  assert.deepEqual(p.capacityTypes, {
    reserved: { perVcpuHour: 0.01, perGiBHour: 0.001 },
    preemptible: { perVcpuHour: 0.004, perGiBHour: 0.0004 },
  });
});

Deno.test("a Provider without capacity types has no classes on its hosts", () => {
  const plain = TEXT.replace(/ {10}capacityType: \w+\n/g, "").replace(
    / {6}capacityTypes:\n( {8}.*\n){2}/,
    "",
  ).replace(/ {6}requirements:\n.*\n/, "");
  const r = parseConfigText(plain, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.error));
  const p = r.value.providers[0]!;
  assert.equal(p.capacityTypes, undefined);
  assert.deepEqual(p.hosts.map((h) => h.capacityType), [undefined, undefined, undefined]);
});

Deno.test("a host naming an unknown capacity type is refused at its line and column", () => {
  const r = parseConfigText(
    TEXT.replace("capacityType: preemptible", "capacityType: spot"),
    "c.yaml",
  );
  assert.ok(!r.ok);
  const where = r.error.map((p: ConfigProblem) => `${p.line}:${p.col} ${p.path}: ${p.message}`);
  assert.equal(where.length, 1, where.join("\n"));
  assert.match(
    where[0]!,
    /^11:25 providers\[0\]\.spec\.hosts\[1\]\.capacityType: unknown capacity type 'spot'/,
  );
});

Deno.test("a capacity type priced in capacityTypes may be any label value", () => {
  const text = TEXT.replace("capacityType: preemptible", "capacityType: spare").replace(
    "preemptible: { perVcpuHour",
    "spare: { perVcpuHour",
  );
  const r = parseConfigText(text, "c.yaml");
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.error));
  assert.equal(r.value.providers[0]!.hosts[1]!.capacityType, "spare");
});
