import assert from "node:assert/strict";
import { runSimulation } from "./engine.ts";
import { defaultWorld, type WorldSpec } from "./world_spec.ts";
import { proxscalePolicy } from "../policies/proxscale.ts";
import { defaultSimConfig } from "../policies/default_config.ts";
import type { Trace, TracePod } from "../trace/format.ts";
import type { Config } from "../../core/model.ts";
import { GiB } from "../../core/quantity.ts";

const S = 1000;
const H = 3_600_000;

/** Four hosts that take two 4 vCPU / 8 GiB VMs each; pve4 may start powered off. */
function world(off: string[]): WorldSpec {
  const w = defaultWorld();
  w.delays = {
    clone: { kind: "constant", value: 10 * S },
    boot: { kind: "constant", value: 20 * S },
    join: { kind: "constant", value: 10 * S },
    drainPerPod: { kind: "constant", value: 0 },
    destroy: { kind: "constant", value: 5 * S },
  };
  w.cloneFailure = 0;
  w.hosts = ["pve1", "pve2", "pve3", "pve4"].map((name) => ({
    name,
    cpu: 16_000,
    memory: 26 * GiB,
  }));
  w.hostsPoweredOff = off;
  return w;
}

const bmc = (name: string) => ({
  bmc: {
    endpoint: `https://${name}-bmc.sim`,
    username: { env: "U" },
    password: { env: "P" },
    systemId: "1",
    tls: { insecureSkipVerify: false },
  },
  bootDelay: 120 * S,
});

/** The built-in config with BMCs on `managed` hosts and host power on. */
function config(managed: string[]): Config {
  const c = defaultSimConfig({ consolidateAfterMs: 60_000, stabilizationWindowMs: 60_000 });
  const p = c.providers[0]!;
  return {
    ...c,
    providers: [{
      ...p,
      hosts: p.hosts.map((h) => (managed.includes(h.name) ? { ...h, power: bmc(h.name) } : h)),
      hostPower: { powerOffAfter: 600 * S, minOnlineHosts: 1 },
    }],
  };
}

/** A burst of `n` one-core pods at 10 min that leaves at 1 h. */
function burst(n: number): Trace {
  const pods: TracePod[] = Array.from({ length: n }, (_, i) => ({
    namespace: "t",
    name: `burst-${i}`,
    arrival: 600 * S,
    departure: H,
    cpu: 1000,
    memory: GiB,
    owner: "Deployment/burst",
  }));
  return { name: "burst", source: "test", duration: 3 * H, pods, nodes: [], pdbs: [], notes: [] };
}

Deno.test("a burst that needs a fourth host powers it on, uses it, and it is powered off after the burst", () => {
  const r = runSimulation({
    trace: burst(22),
    policy: proxscalePolicy(config(["pve4"])),
    world: world(["pve4"]),
    seed: 1,
    checkInvariants: true,
  });
  const s = r.summary;
  assert.equal(s.podsNeverScheduled, 0);
  assert.ok(s.vmCreates >= 7, `${s.vmCreates} VMs`);
  assert.deepEqual(
    { ons: s.hostPower?.powerOns, offs: s.hostPower?.powerOffs },
    { ons: 1, offs: 1 },
  );
  // pve4 was on from the power-on (~10 min) until 10 min after it emptied (~1 h): well under
  // the 3 h it would have been on, so host-hours are saved.
  assert.ok(s.hostPower!.hostHoursSaved > 1.5, `${s.hostPower!.hostHoursSaved} saved`);
  assert.ok(
    Math.abs(s.hostPower!.hostHours + s.hostPower!.hostHoursSaved - 4 * 3) < 1e-9,
    "host-hours and savings add up to every host for the whole run",
  );
  // The pods waited for the boot (2 min) besides the VM's own start.
  assert.ok(s.pendingSeconds.max >= 120, `${s.pendingSeconds.max} s`);
});

Deno.test("with every host managed, an emptied 4-host cluster powers off only one: 3 of 4 votes keep quorum", () => {
  const r = runSimulation({
    trace: burst(4),
    policy: proxscalePolicy(config(["pve1", "pve2", "pve3", "pve4"])),
    world: world([]),
    seed: 1,
    checkInvariants: true,
  });
  assert.equal(r.summary.hostPower?.powerOffs, 1);
  assert.equal(r.summary.hostPower?.powerOns, 0);
});

Deno.test("without host power in the configuration the report has no host-hours and every host stays on", () => {
  const r = runSimulation({
    trace: burst(22),
    policy: proxscalePolicy(defaultSimConfig({ hosts: 4 })),
    world: world(["pve4"]),
    seed: 1,
  });
  assert.equal(r.summary.hostPower, undefined);
  assert.equal(r.summary.podsNeverScheduled, 0);
});
