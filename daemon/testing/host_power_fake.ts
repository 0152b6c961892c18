/**
 * An in-memory HostPowerPort for unit tests: each host's BMC power and capacity are set by the
 * test, every request is recorded, and a host's requests can be made to fail.
 *
 * May import: core/, daemon/ports/.
 */
import type { BmcPower } from "../../core/host_power.ts";
import type { HostPowerConfig, Resources } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type { BmcFailure, BmcReading, HostPowerPort } from "../ports/host_power.ts";

/** A recorded power request. */
export type PowerCall = { host: string; on: boolean };

/** BMCs in memory. */
export class FakeHostPower implements HostPowerPort {
  readonly power = new Map<string, BmcPower>();
  readonly capacity = new Map<string, Resources>();
  readonly calls: PowerCall[] = [];
  /** Hosts whose BMC answers every request with this failure. */
  readonly failing = new Map<string, string>();

  read(host: string, _power: HostPowerConfig): Promise<Result<BmcReading, BmcFailure>> {
    const f = this.failing.get(host);
    if (f) return Promise.resolve(err({ message: f }));
    const cap = this.capacity.get(host);
    return Promise.resolve(
      ok({ power: this.power.get(host) ?? "on", ...(cap ? { capacity: cap } : {}) }),
    );
  }

  set(host: string, _power: HostPowerConfig, on: boolean): Promise<Result<void, BmcFailure>> {
    this.calls.push({ host, on });
    const f = this.failing.get(host);
    if (f) return Promise.resolve(err({ message: f }));
    this.power.set(host, on ? "on" : "off");
    return Promise.resolve(ok(undefined));
  }
}
