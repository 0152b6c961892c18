/**
 * Proxmox host power in the simulated world: which hosts with a BMC are on, booting or off.
 * A host powered on is booting (drawing power, offline in PVE) for its configured boot delay
 * and then online; a host powered off is offline at once. A request the world cannot honour
 * (powering off a host that still has VMs, powering on a host that is not off) is ignored and
 * counted, as a real BMC request would be refused or be a no-op; the invariant check makes the
 * first a failure in tests.
 *
 * May import: core/ (types), sim/engine/policy.ts.
 */
import type { Config, Host } from "../../core/model.ts";
import type { PowerRequest } from "./policy.ts";

/** A managed host's power in the world. */
export type SimHostPower = "on" | "booting" | "off";

/** The power of every host that has a BMC, and the boot delays. */
export class HostPowerWorld {
  readonly state = new Map<string, SimHostPower>();
  readonly bootDelay = new Map<string, number>();
  /** Power-offs refused because the host still had VMs (a policy bug). */
  refusedOffs = 0;

  private constructor() {}

  /**
   * The world's host power when some Provider manages it (absent otherwise, so runs without it
   * are untouched); `startOff` hosts begin powered off (and offline).
   */
  static of(
    config: Config,
    hosts: readonly Host[],
    startOff: readonly string[],
  ): HostPowerWorld | undefined {
    if (!config.providers.some((p) => p.hostPower !== undefined)) return undefined;
    const w = new HostPowerWorld();
    for (const p of config.providers) {
      for (const hc of p.hosts) {
        if (!hc.power) continue;
        w.bootDelay.set(hc.name, hc.power.bootDelay);
      }
    }
    for (const h of hosts) {
      const off = startOff.includes(h.name) && w.bootDelay.has(h.name);
      w.state.set(h.name, off ? "off" : "on");
      if (off) h.online = false;
    }
    return w;
  }

  /** Hosts drawing power (on or booting). */
  onCount(): number {
    let n = 0;
    for (const s of this.state.values()) if (s !== "off") n++;
    return n;
  }

  /**
   * Applies one request to `host`, which has `vms` VMs; returns what changed: "booting" (the
   * host joins after `joinAfter` ms), "off", or nothing.
   */
  request(
    r: PowerRequest,
    host: Host,
    vms: number,
  ): { change: "booting"; joinAfter: number } | { change: "off" } | undefined {
    const s = this.state.get(host.name);
    const delay = this.bootDelay.get(host.name);
    if (s === undefined || delay === undefined) return undefined;
    if (r.on) {
      if (s !== "off") return undefined;
      this.state.set(host.name, "booting");
      return { change: "booting", joinAfter: delay };
    }
    if (s !== "on" || !host.online) return undefined;
    if (vms > 0) {
      this.refusedOffs++;
      return undefined;
    }
    this.state.set(host.name, "off");
    host.online = false;
    return { change: "off" };
  }

  /** A booting host finished its boot: online. False if it was powered off meanwhile. */
  joined(host: Host): boolean {
    if (this.state.get(host.name) !== "booting") return false;
    this.state.set(host.name, "on");
    host.online = true;
    return true;
  }
}
