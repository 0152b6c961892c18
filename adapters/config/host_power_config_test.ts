/**
 * Tests of host power in the config: a host's BMC and the Provider's hostPower policy are
 * normalised for the core (durations in ms, defaults filled in), a config without them has
 * neither, and a BMC that is not an https URL is refused at its place in the file.
 *
 * May import: this folder, core/.
 */
import assert from "node:assert/strict";
import { parseConfigText } from "./load.ts";

const text = (hosts: string, policy: string) =>
  `providers:
  - name: home
    spec:
      endpoint: https://pve.example:8006/
      tokenId: root@pam!proxscale
      tokenSecret: { file: /etc/proxscale/token }
      hosts:
${hosts}
${policy}
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
`;

const HOSTS = `        - name: pve1
        - name: pve4
          bmc:
            endpoint: https://pve4-bmc.lan/
            systemId: "1"
            username: { secret: { namespace: proxscale, name: pve4-bmc, key: username } }
            password: { secret: { namespace: proxscale, name: pve4-bmc, key: password } }
            bootDelay: 2m`;

Deno.test("a host's BMC and the hostPower policy reach the core with durations in ms and defaults", () => {
  const r = parseConfigText(text(HOSTS, "      hostPower: { powerOffAfter: 45m }"), "c.yaml");
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const p = r.value.providers[0]!;
  assert.deepEqual(p.hostPower, { powerOffAfter: 45 * 60_000, minOnlineHosts: 2 });
  assert.equal(p.hosts[0]!.power, undefined);
  assert.deepEqual(p.hosts[1]!.power, {
    bmc: {
      endpoint: "https://pve4-bmc.lan",
      systemId: "1",
      username: { secret: { namespace: "proxscale", name: "pve4-bmc", key: "username" } },
      password: { secret: { namespace: "proxscale", name: "pve4-bmc", key: "password" } },
      tls: { insecureSkipVerify: false },
    },
    bootDelay: 120_000,
  });
});

Deno.test("without bmc and hostPower the provider has no host power at all", () => {
  const r = parseConfigText(text("        - name: pve1", ""), "c.yaml");
  assert.ok(r.ok);
  assert.equal(r.value.providers[0]!.hostPower, undefined);
  assert.equal("power" in r.value.providers[0]!.hosts[0]!, false);
});

Deno.test("a BMC endpoint that is not https is refused where it is written", () => {
  const bad = HOSTS.replace("https://pve4-bmc.lan/", "http://pve4-bmc.lan/");
  const r = parseConfigText(text(bad, ""), "c.yaml");
  assert.ok(!r.ok);
  const problem = r.error.find((p) => p.path.endsWith("bmc.endpoint"));
  assert.ok(problem, JSON.stringify(r.error));
  assert.match(problem.message, /https:\/\/ URL of the BMC/);
  assert.equal(problem.line, 11);
});
