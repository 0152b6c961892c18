/**
 * `proxscale diagnose` for a Redfish Provider against the fake BMC: an Operator account passes
 * reachability, credentials, privileges and virtual media; a ReadOnly account is told it lacks
 * ConfigureComponents and what that breaks; a wrong password and an unpinned certificate are
 * FAIL lines with a fix.
 */
import assert from "node:assert/strict";
import type { Config, Provider } from "../core/model.ts";
import { diagnose, formatChecks } from "../cli/diagnose.ts";
import type { Check } from "../cli/diagnose_pve.ts";
import { type FakeRedfish, startFakeRedfish } from "../fakes/fake_redfish/server.ts";
import { demoConfig } from "../harness/demo_config.ts";

function configFor(bmc: FakeRedfish, username: string, tls: Provider["tls"], dir: string): Config {
  const c = demoConfig({
    url: "https://127.0.0.1:1",
    tokenId: "a@pam!b",
    fingerprint: bmc.fingerprint,
    hosts: ["pve1"],
  });
  const p: Provider = {
    ...c.providers[0]!,
    name: "rack",
    kind: "redfish",
    redfish: {
      machines: [{
        name: "m1",
        zone: "a",
        endpoint: bmc.url,
        systemId: "node1",
        username,
        password: { env: `PW_${username}` },
        tls,
      }],
      seedServer: {
        listen: "127.0.0.1:0",
        url: "https://127.0.0.1:1",
        certFile: `${dir}/c`,
        keyFile: `${dir}/k`,
        ttlSeconds: 60,
      },
    },
  };
  return { ...c, providers: [p], machineTemplates: [] };
}

const env = (n: string) =>
  ({ PW_operator: "operator", PW_viewer: "viewer", PW_admin: "nope" })[n as "PW_viewer"];

async function redfishLines(
  bmc: FakeRedfish,
  user: string,
  tls: Provider["tls"],
): Promise<Check[]> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c`, "cert");
    await Deno.writeTextFile(`${dir}/k`, "key");
    const checks = await diagnose(configFor(bmc, user, tls, dir), undefined, "ns", { getEnv: env });
    return checks.filter((c) => c.name.startsWith("redfish"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("diagnose: an Operator BMC account passes reachability, credentials, privileges and virtual media", async () => {
  const bmc = await startFakeRedfish({ systems: [{ cpus: 16, memoryGiB: 64 }] });
  try {
    const pin = { fingerprint: bmc.fingerprint, insecureSkipVerify: false };
    const checks = await redfishLines(bmc, "operator", pin);
    assert.deepEqual(checks.map((c) => [c.name, c.ok]), [
      ["redfish rack/m1: reachable", true],
      ["redfish rack/m1: credentials", true],
      ["redfish rack/m1: privileges", true],
      ["redfish rack/m1: virtual media", true],
    ], formatChecks(checks));
    assert.match(checks[1]!.detail, /16 CPUs, 64 GiB, Off/);
    assert.match(checks[2]!.detail, /role Operator has ConfigureComponents/);
  } finally {
    await bmc.close();
  }
});

Deno.test("diagnose: a ReadOnly BMC account is told it lacks ConfigureComponents; a wrong password or pin fails with a fix", async () => {
  const bmc = await startFakeRedfish({ systems: 1 });
  try {
    const pin = { fingerprint: bmc.fingerprint, insecureSkipVerify: false };
    const ro = await redfishLines(bmc, "viewer", pin);
    const priv = ro.find((c) => c.name.endsWith("privileges"))!;
    assert.equal(priv.ok, false);
    assert.match(priv.detail, /role ReadOnly of viewer lacks ConfigureComponents/);
    assert.match(priv.fix!, /Operator or Administrator/);
    const bad = await redfishLines(bmc, "admin", pin);
    const cred = bad.find((c) => c.name.endsWith("credentials"))!;
    assert.equal(cred.ok, false);
    assert.match(cred.fix!, /username and the password/);
    const unpinned = await redfishLines(bmc, "operator", {
      fingerprint: "AB:".repeat(31) + "AB",
      insecureSkipVerify: false,
    });
    assert.equal(unpinned[0]!.ok, false);
    assert.match(unpinned[0]!.fix!, /fingerprint/);
  } finally {
    await bmc.close();
  }
});
