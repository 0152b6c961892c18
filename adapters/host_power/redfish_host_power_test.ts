/**
 * Host power over Redfish against the fake BMC: a host's power state and capacity are read
 * from its ComputerSystem, power-on and graceful shutdown reach the BMC and complete, and a
 * BMC with wrong credentials is a failure value naming the host.
 */
import { deepEqual, equal, match, ok as assert } from "node:assert/strict";
import { startFakeRedfish } from "../../fakes/fake_redfish/server.ts";
import type { HostPowerConfig } from "../../core/model.ts";
import { GiB } from "../../core/quantity.ts";
import { RedfishHostPower } from "./redfish_host_power.ts";

async function until(what: string, f: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("a host's BMC is read, powered on and shut down through Redfish", async () => {
  const bmc = await startFakeRedfish({
    systems: [{ cpus: 24, memoryGiB: 96, powerState: "Off" }],
    model: { powerOnDelayMs: 50, powerOffDelayMs: 50 },
  });
  const secrets: string[] = [];
  const port = new RedfishHostPower({
    getEnv: (n) => ({ BMC_USER: bmc.username, BMC_PASS: bmc.password })[n],
    onSecret: (s) => secrets.push(s),
    client: { retry: { attempts: 2, baseMs: 1, maxMs: 5 } },
  });
  const cfg: HostPowerConfig = {
    bmc: {
      endpoint: bmc.url,
      username: { env: "BMC_USER" },
      password: { env: "BMC_PASS" },
      systemId: "node1",
      tls: { fingerprint: bmc.fingerprint, insecureSkipVerify: false },
    },
    bootDelay: 1000,
  };
  try {
    const first = await port.read("pve4", cfg);
    assert(first.ok, JSON.stringify(first));
    deepEqual(first.value, { power: "off", capacity: { cpu: 24_000, memory: 96 * GiB } });
    deepEqual(secrets, [bmc.password]);
    const on = await port.set("pve4", cfg, true);
    assert(on.ok, JSON.stringify(on));
    await until("the system to be on", async () => {
      const r = await port.read("pve4", cfg);
      return r.ok && r.value.power === "on" && bmc.model.system("node1")!.powerState === "On";
    });
    const off = await port.set("pve4", cfg, false);
    assert(off.ok, JSON.stringify(off));
    await until("the system to be off", async () => {
      const r = await port.read("pve4", cfg);
      return r.ok && r.value.power === "off";
    });
    equal(bmc.model.system("node1")!.powerState, "Off");
    // Wrong credentials: a failure value naming the host, no exception.
    const bad = await new RedfishHostPower({
      getEnv: (n) => ({ BMC_USER: bmc.username, BMC_PASS: "wrong" })[n],
      client: { retry: { attempts: 1, baseMs: 1, maxMs: 1 } },
    }).read("pve4", cfg);
    assert(!bad.ok);
    match(bad.error.message, /pve4's BMC/);
  } finally {
    await port.close();
    await bmc.close();
  }
});
