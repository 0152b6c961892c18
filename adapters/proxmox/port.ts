/**
 * The machine provider port: what the daemon and the simulator need from "the thing that makes
 * VMs". The Proxmox provider (provider.ts) implements it against the PVE API; an in-memory
 * implementation can implement it for unit tests of the executor. Failures are values.
 */
import type { Host, MachineTemplate, NodeClaim, Provider, VM } from "../../core/model.ts";
import { type Reason, reason } from "../../core/reason.ts";
import type { Result } from "../../core/result.ts";
import type { PveError } from "./errors.ts";
import type { BootstrapAttach } from "./vm_config.ts";

/** A VM proxscale owns: managed tag and claim identity both present. */
export type Machine = VM & { claim: string };

/** Per-call extras for create: what the bootstrap side built, and deadlines. */
export type CreateOptions = BootstrapAttach & {
  /** Overall deadline for the clone/create task (ms); a passed deadline is `InProgress`. */
  taskDeadlineMs?: number;
};

/** Why a provider call failed; every variant has a message in plain words. */
export type ProviderError =
  | { kind: "VmidRangeExhausted"; lower: number; upper: number; blocked: number; message: string }
  | { kind: "NoHost"; reason: Reason; message: string }
  | { kind: "InvalidTemplate"; message: string }
  /** A PVE call failed at `step`; `error` keeps PVE's words and the endpoint. */
  | { kind: "Pve"; step: string; error: PveError; message: string }
  /** The VM at that VMID is not ours (tag, claim or vmid differ): it is never touched. */
  | { kind: "NotOwned"; vmid: number; host: string; message: string }
  /** A task is still running (deadline passed, or a lock is held): do not start a competing one. */
  | { kind: "InProgress"; vmid: number; host: string; upid?: string; message: string }
  /** Collisions or failed tasks used up the attempts. */
  | { kind: "AttemptsExhausted"; attempts: number; last: string; message: string };

/** The Reason a NodeClaim condition or event carries for a provider failure. */
export function providerErrorReason(e: ProviderError): Reason {
  switch (e.kind) {
    case "VmidRangeExhausted":
      return reason("VmidRangeExhausted", e.message);
    case "NoHost":
      return e.reason;
    default:
      return reason("LaunchFailed", e.message);
  }
}

/** Makes and removes machines on one Provider. */
export interface MachineProvider {
  /** VMs proxscale owns on this Provider (exact managed tag + claim identity). */
  list(): Promise<Result<Machine[], ProviderError>>;
  /** The Provider's configured hosts with capacity, committed resources (in-flight included), health. */
  inventory(): Promise<Result<Host[], ProviderError>>;
  /** Creates (or adopts, after a crash) the one VM of `claim`, started. Idempotent per claim. */
  create(
    claim: NodeClaim,
    template: MachineTemplate,
    provider: Provider,
    opts?: CreateOptions,
  ): Promise<Result<Machine, ProviderError>>;
  /** Stops and destroys an owned VM; a VM already gone is success; a foreign VM is refused. */
  delete(machine: Machine): Promise<Result<void, ProviderError>>;
}
