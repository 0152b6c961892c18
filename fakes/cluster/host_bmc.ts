/**
 * Proxmox hosts with a BMC: one fake Redfish service with one System per host given, its Id the
 * host's name, which is that host's power button. A completed power-on boots that host (it joins PVE after the fake PVE's
 * boot delay), a completed shutdown or power-off takes it offline at once, as a real server's
 * BMC does to a PVE node. Hosts listed as off start powered off on both sides.
 *
 * May import: fakes/.
 */
import type { FakePve } from "../fake_pve/server.ts";
import { type FakeRedfish, type FakeUser, startFakeRedfish } from "../fake_redfish/server.ts";

/** Options of startHostBmc. */
export type HostBmcOptions = {
  /** Hosts that start powered off. */
  off?: string[];
  /** From power-on until the host is online in PVE (ms, default 30 000). */
  bootDelayMs?: number;
  /** How long the BMC's own power transitions take (ms). */
  powerOnDelayMs?: number;
  powerOffDelayMs?: number;
  /**
   * The BMC's accounts (default one Operator, `operator` with a password unlike any word a
   * log line holds, since proxscale masks a secret's value wherever it appears).
   */
  users?: FakeUser[];
  port?: number;
  /** CPUs and memory each System reports (default 32 and 128 GiB, the fake PVE's host size). */
  cpus?: number;
  memoryGiB?: number;
};

/** The running BMC and which System each host is. */
export type HostBmc = {
  bmc: FakeRedfish;
  /** Host name -> System Id. */
  systemOf: Record<string, string>;
  close(): Promise<void>;
};

/** Starts the BMC of `hosts` and wires its power changes to the fake PVE. */
export async function startHostBmc(
  pve: FakePve,
  hosts: string[],
  o: HostBmcOptions = {},
): Promise<HostBmc> {
  const off = new Set(o.off ?? []);
  const bmc = await startFakeRedfish({
    systems: hosts.map((h) => ({
      id: h,
      cpus: o.cpus ?? 32,
      memoryGiB: o.memoryGiB ?? 128,
      powerState: off.has(h) ? "Off" as const : "On" as const,
    })),
    model: {
      ...(o.powerOnDelayMs !== undefined ? { powerOnDelayMs: o.powerOnDelayMs } : {}),
      ...(o.powerOffDelayMs !== undefined ? { powerOffDelayMs: o.powerOffDelayMs } : {}),
    },
    users: o.users ?? [{ username: "operator", password: "bmc-Op3rator-pw", role: "Operator" }],
    ...(o.port !== undefined ? { port: o.port } : {}),
  });
  const systemOf = Object.fromEntries(hosts.map((h) => [h, h]));
  const hostOf = new Map(hosts.map((h) => [h, h]));
  const unsubscribe = bmc.model.onPower((e) => {
    const host = hostOf.get(e.system);
    if (host) pve.model.setHostPower(host, e.state === "On");
  });
  pve.model.setBootDelay(o.bootDelayMs ?? 30_000);
  for (const h of off) pve.model.setHostPower(h, false);
  return {
    bmc,
    systemOf,
    close: async () => {
      unsubscribe();
      await bmc.close();
    },
  };
}
