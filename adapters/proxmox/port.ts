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

/** Who the VM turned out to be once made: what a seed that names it needs. */
export type SeedTarget = {
  host: string;
  vmid: number;
  /** MAC per network slot as PVE holds it (e.g. `{ net0: "BC:24:11:..." }`). */
  macs: Record<string, string>;
};

/**
 * A NoCloud seed ISO to upload to the VM's own host and attach before the VM first starts.
 * `build` runs once the host, VMID and MACs are known (the seed names them), after the VM was
 * made and before it starts; its error message is reported as the launch failure.
 */
export type SeedIsoRequest = {
  /** Storage with content `iso` on the target host. */
  storage: string;
  /** cdrom slot, e.g. `ide3`. */
  slot: string;
  /** File name on the storage; never holds a secret (PVE logs and lists it). */
  name: string;
  build: (target: SeedTarget) => Promise<Result<Uint8Array, string>>;
};

/** Per-call extras for create: what the bootstrap side built, and deadlines. */
export type CreateOptions = BootstrapAttach & {
  /** Overall deadline for the clone/create task (ms); a passed deadline is `InProgress`. */
  taskDeadlineMs?: number;
  /** bootstrap.mode nocloudIso: the seed ISO to upload and attach before start. */
  seedIso?: SeedIsoRequest;
  /**
   * Records the VMID (and host) a launch is about to use, before the create or clone is sent,
   * so that a restarted daemon resumes that VMID (waiting for a clone still in flight, whose
   * placeholder carries no identity yet) instead of making a second VM. A failure stops the
   * attempt with nothing sent.
   */
  recordVmid?: (vmid: number, host: string) => Promise<Result<void, string>>;
};

/** Where a claim's seed ISO lives, to detach and delete it. */
export type SeedIsoRef = { storage: string; slot: string; name: string };

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
  | { kind: "AttemptsExhausted"; attempts: number; last: string; message: string }
  /** The bootstrap seed could not be built (render, join token); the VM was removed again. */
  | { kind: "BootstrapFailed"; message: string }
  /** The VMID could not be recorded before the launch; nothing was sent to PVE. */
  | { kind: "VmidNotRecorded"; vmid: number; message: string };

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

/** PVE error kinds that say the request itself is wrong: the same request fails again. */
const PERMANENT_PVE_KINDS = new Set(["validation", "auth", "permission", "notFound", "tls"]);

/**
 * Whether a launch failure can heal by retrying, and its cause (for per-cause backoff): a bad
 * or missing template, a 4xx or privilege error, a clone PVE refuses for local storage and an
 * exhausted VMID range are permanent; 5xx, locks, timeouts, unreachable hosts, a launch still
 * running and collisions are transient.
 */
export function launchFailureCause(e: ProviderError): { permanent: boolean; cause: string } {
  switch (e.kind) {
    case "InvalidTemplate":
    case "BootstrapFailed":
    case "VmidRangeExhausted":
      return { permanent: true, cause: e.kind };
    case "Pve": {
      const status = e.error.status;
      const permanent = PERMANENT_PVE_KINDS.has(e.error.kind) ||
        (status !== undefined && status >= 400 && status < 500 && e.error.kind !== "conflict" &&
          e.error.kind !== "alreadyExists" && e.error.kind !== "locked");
      return { permanent, cause: `Pve/${e.error.kind}` };
    }
    default:
      return { permanent: false, cause: e.kind };
  }
}

/**
 * The owned VMs PVE could show, and the hosts whose VMs it could not (offline or unreachable):
 * a VM there is unknown, neither present nor absent.
 */
export type Listing = { machines: Machine[]; unknownHosts: string[] };

/** Makes and removes machines on one Provider. */
export interface MachineProvider {
  /** VMs proxscale owns on this Provider (exact managed tag + claim identity). */
  list(): Promise<Result<Machine[], ProviderError>>;
  /** `list()`, saying also which hosts' VMs are unknown. */
  listing(): Promise<Result<Listing, ProviderError>>;
  /** The Provider's configured hosts with capacity, committed resources (in-flight included), health. */
  inventory(): Promise<Result<Host[], ProviderError>>;
  /** Creates (or adopts, after a crash) the one VM of `claim`, started. Idempotent per claim. */
  create(
    claim: NodeClaim,
    template: MachineTemplate,
    provider: Provider,
    opts?: CreateOptions,
  ): Promise<Result<Machine, ProviderError>>;
  /**
   * The configured hosts that can clone `template` (template locality: per-host copies, or the
   * template's own host unless its disks are on shared storage). Absent: every host.
   */
  templateHosts?(template: MachineTemplate): Promise<Result<string[], ProviderError>>;
  /** Stops and destroys an owned VM; a VM already gone is success; a foreign VM is refused. */
  delete(machine: Machine): Promise<Result<void, ProviderError>>;
  /**
   * Empties the seed ISO's cdrom slot on the claim's VM (if it still exists) and deletes the
   * ISO volume from every configured host that lists it. Repeatable; nothing there is success.
   */
  releaseSeedIso?(
    claim: string,
    iso: SeedIsoRef,
  ): Promise<Result<{ detached: boolean; deleted: string[] }, ProviderError>>;
}
