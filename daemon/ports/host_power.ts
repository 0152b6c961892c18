/**
 * The BMC side of host power management, as the daemon consumes it: read a host's power and
 * capacity, and ask for power on or off. adapters/host_power/ implements it over the Redfish
 * client; daemon/testing/ has an in-memory one.
 *
 * May import: core/ (types only).
 */
import type { BmcPower } from "../../core/host_power.ts";
import type { HostPowerConfig, Resources } from "../../core/model.ts";
import type { Result } from "../../core/result.ts";

/** What a BMC says of its host. */
export type BmcReading = { power: BmcPower; capacity?: Resources };

/** A BMC request that failed, in words fit for an Event. */
export type BmcFailure = { message: string };

/** Power control of the hosts that have a BMC configured. */
export interface HostPowerPort {
  /** The host's power state and capacity (cores*1000, memory bytes) as its BMC reports them. */
  read(host: string, power: HostPowerConfig): Promise<Result<BmcReading, BmcFailure>>;
  /** Powers the host on, or shuts it down gracefully (the BMC's GracefulShutdown). */
  set(host: string, power: HostPowerConfig, on: boolean): Promise<Result<void, BmcFailure>>;
}
