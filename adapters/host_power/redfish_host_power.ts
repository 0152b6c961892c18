/**
 * The HostPowerPort over Redfish: each Proxmox host with a `bmc` is one ComputerSystem of its
 * BMC (found by Id or UUID). Reading gives its PowerState (On and PoweringOn count as on, Off
 * as off, PoweringOff as on until it is off, anything else unknown) and its capacity from
 * ProcessorSummary and MemorySummary; powering on sends `ComputerSystem.Reset` On, powering
 * off GracefulShutdown (PVE shuts down cleanly). Credentials are read from their Secret
 * sources on first use; one client per BMC and user, closed with `close()`.
 *
 * May import: core/, adapters/, daemon/ports/.
 */
import type { HostPowerConfig } from "../../core/model.ts";
import { GiB } from "../../core/quantity.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type { BmcFailure, BmcReading, HostPowerPort } from "../../daemon/ports/host_power.ts";
import { readSecret, type SecretDeps } from "../proxmox/secret.ts";
import type { TrustMode } from "../proxmox/tls_agent.ts";
import { RedfishClient, type RedfishClientOptions } from "../redfish/client.ts";
import { findSystem, type PowerState, resetSystem } from "../redfish/systems.ts";

/** Options: how secrets and CA files are read, and client knobs (tests shorten retries). */
export type RedfishHostPowerOptions = SecretDeps & {
  /** Told each secret read, so the redaction guard learns BMC passwords before any log line. */
  onSecret?: (value: string) => void;
  client?: Partial<Pick<RedfishClientOptions, "timeoutMs" | "retry" | "now" | "sleep">>;
};

/** The power a decision sees for a Redfish PowerState. */
export function powerOf(s: PowerState): "on" | "off" | "unknown" {
  if (s === "On" || s === "PoweringOn" || s === "PoweringOff") return "on";
  if (s === "Off") return "off";
  return "unknown";
}

/** Host power through each host's BMC. */
export class RedfishHostPower implements HostPowerPort {
  readonly #o: RedfishHostPowerOptions;
  readonly #clients = new Map<string, Promise<Result<RedfishClient, BmcFailure>>>();

  constructor(o: RedfishHostPowerOptions = {}) {
    this.#o = o;
  }

  /** The host's PowerState and capacity as its BMC reports them. */
  async read(host: string, power: HostPowerConfig): Promise<Result<BmcReading, BmcFailure>> {
    const c = await this.#client(power);
    if (!c.ok) return c;
    const s = await findSystem(c.value, power.bmc.systemId);
    if (!s.ok) return err({ message: `${host}'s BMC: ${s.error.message}` });
    const cpu = s.value.cpus * 1000;
    const memory = s.value.memoryGiB * GiB;
    return ok({
      power: powerOf(s.value.powerState),
      ...(cpu > 0 && memory > 0 ? { capacity: { cpu, memory } } : {}),
    });
  }

  /** Powers the host on (Reset On) or shuts it down (Reset GracefulShutdown). */
  async set(host: string, power: HostPowerConfig, on: boolean): Promise<Result<void, BmcFailure>> {
    const c = await this.#client(power);
    if (!c.ok) return c;
    const s = await findSystem(c.value, power.bmc.systemId);
    if (!s.ok) return err({ message: `${host}'s BMC: ${s.error.message}` });
    const r = await resetSystem(c.value, s.value, on ? "On" : "GracefulShutdown");
    return r.ok ? ok(undefined) : err({ message: `${host}'s BMC: ${r.error.message}` });
  }

  /** Logs out of every BMC session and closes the connections. */
  async close(): Promise<void> {
    const all = [...this.#clients.values()];
    this.#clients.clear();
    for (const c of await Promise.all(all)) if (c.ok) await c.value.close();
  }

  #client(power: HostPowerConfig): Promise<Result<RedfishClient, BmcFailure>> {
    const b = power.bmc;
    const key = JSON.stringify([b.endpoint, b.username, b.password, b.tls]);
    let c = this.#clients.get(key);
    if (!c) {
      c = this.#connect(power);
      this.#clients.set(key, c);
      // A failed connection (secret not readable yet) is tried again on the next call.
      c.then((r) => {
        if (!r.ok) this.#clients.delete(key);
      });
    }
    return c;
  }

  async #connect(power: HostPowerConfig): Promise<Result<RedfishClient, BmcFailure>> {
    const b = power.bmc;
    const user = await readSecret(b.username, this.#o);
    if (!user.ok) return err({ message: `BMC username: ${user.error.message}` });
    const pass = await readSecret(b.password, this.#o);
    if (!pass.ok) return err({ message: `BMC password: ${pass.error.message}` });
    this.#o.onSecret?.(pass.value);
    let trust: TrustMode = { mode: "system" };
    if (b.tls.fingerprint) trust = { mode: "fingerprint", fingerprints: [b.tls.fingerprint] };
    else if (b.tls.caFile) {
      try {
        trust = { mode: "ca", ca: await (this.#o.readTextFile ?? Deno.readTextFile)(b.tls.caFile) };
      } catch (e) {
        return err({
          message: `BMC CA file ${b.tls.caFile} cannot be read (${
            e instanceof Error ? e.name : "error"
          })`,
        });
      }
    } else if (b.tls.insecureSkipVerify) trust = { mode: "insecure" };
    const secret = pass.value;
    return ok(
      new RedfishClient({
        endpoint: b.endpoint,
        username: user.value.trim(),
        password: () => secret,
        trust,
        ...this.#o.client,
      }),
    );
  }
}
