/**
 * `proxscale diagnose` for host power against the fake BMC: a Proxmox host whose bmc uses an
 * Operator account passes reachability, credentials, resets and privileges; a ReadOnly account
 * is told it lacks ConfigureComponents; a wrong password is a FAIL line with a fix.
 */
import assert from "node:assert/strict";
import type { Config } from "../core/model.ts";
import { diagnose, formatChecks } from "../cli/diagnose.ts";
import type { Check } from "../cli/diagnose_pve.ts";
import { type FakeRedfish, startFakeRedfish } from "../fakes/fake_redfish/server.ts";
import { demoConfig } from "../harness/demo_config.ts";

function configFor(bmc: FakeRedfish, user: string): Config {
  const c = demoConfig({
    url: "https://127.0.0.1:1",
    tokenId: "a@pam!b",
    fingerprint: bmc.fingerprint,
    hosts: ["pve1", "pve2"],
  });
  const p = c.providers[0]!;
  return {
    ...c,
    providers: [{
      ...p,
      tokenSecret: { env: "PVE_TOKEN" },
      hostPower: { powerOffAfter: 60_000, minOnlineHosts: 1 },
      hosts: p.hosts.map((h) =>
        h.name === "pve2"
          ? {
            ...h,
            power: {
              bmc: {
                endpoint: bmc.url,
                systemId: "node1",
                username: { env: `USER_${user}` },
                password: { env: `PW_${user}` },
                tls: { fingerprint: bmc.fingerprint, insecureSkipVerify: false },
              },
              bootDelay: 60_000,
            },
          }
          : h
      ),
    }],
  };
}

const env = (n: string) =>
  ({
    PVE_TOKEN: "x",
    USER_operator: "operator",
    PW_operator: "operator",
    USER_viewer: "viewer",
    PW_viewer: "viewer",
    USER_admin: "admin",
    PW_admin: "wrong",
  })[n as "PVE_TOKEN"];

async function hostPowerLines(bmc: FakeRedfish, user: string): Promise<Check[]> {
  const checks = await diagnose(configFor(bmc, user), undefined, "ns", { getEnv: env });
  return checks.filter((c) => c.name.startsWith("host power"));
}

Deno.test("diagnose: a host's BMC with an Operator account passes reachability, credentials, resets and privileges", async () => {
  const bmc = await startFakeRedfish({ systems: [{ cpus: 32, memoryGiB: 128, powerState: "On" }] });
  try {
    const checks = await hostPowerLines(bmc, "operator");
    assert.deepEqual(checks.map((c) => [c.name, c.ok]), [
      ["host power demo/pve2: reachable", true],
      ["host power demo/pve2: credentials", true],
      ["host power demo/pve2: resets", true],
      ["host power demo/pve2: privileges", true],
    ], formatChecks(checks));
    assert.match(checks[1]!.detail, /32 CPUs, 128 GiB, On/);
    assert.match(checks[2]!.detail, /GracefulShutdown/);
  } finally {
    await bmc.close();
  }
});

Deno.test("diagnose: a ReadOnly BMC account lacks ConfigureComponents; a wrong password fails with a fix", async () => {
  const bmc = await startFakeRedfish({ systems: [{}] });
  try {
    const viewer = await hostPowerLines(bmc, "viewer");
    const priv = viewer.find((c) => c.name.endsWith("privileges"))!;
    assert.equal(priv.ok, false, formatChecks(viewer));
    assert.match(priv.detail, /ConfigureComponents/);
    const wrong = await hostPowerLines(bmc, "admin");
    const cred = wrong.find((c) => c.name.endsWith("credentials"))!;
    assert.equal(cred.ok, false, formatChecks(wrong));
    assert.match(cred.fix ?? "", /bmc.username and bmc.password/);
  } finally {
    await bmc.close();
  }
});
