/**
 * The machine provider port: what the daemon needs from "the thing that makes VMs", declared
 * here where it is consumed. A provider adapter (adapters/proxmox/ against the PVE API)
 * implements it; daemon/testing/provider_fake.ts is the in-memory one the daemon's unit tests
 * use. Nothing here names one provider's API: an adapter classifies its own API failures into
 * the neutral `ApiFailure`. Failures are values.
 *
 * May import: core/.
 */
import type { ImageTemplatePort } from "./image_templates.ts";
import type { Host, MachineTemplate, NodeClaim, Provider, VM } from "../../core/model.ts";
import { type Reason, reason } from "../../core/reason.ts";
import type { Result } from "../../core/result.ts";

/** A VM proxscale owns: managed tag and claim identity both present. */
export type Machine = VM & { claim: string };

/** Who the VM turned out to be once made: what a seed that names it needs. */
export type SeedTarget = {
  host: string;
  vmid: number;
  /** MAC per network slot as the provider holds it (e.g. `{ net0: "BC:24:11:..." }`). */
  macs: Record<string, string>;
  /** The providerID the Node must carry, when the provider names it (bare metal). */
  providerID?: string;
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
  /** File name on the storage; never holds a secret (the provider logs and lists it). */
  name: string;
  build: (target: SeedTarget) => Promise<Result<Uint8Array, string>>;
};

/** What the bootstrap side built for a VM's first boot, to attach when it is made. */
export type BootstrapAttach = {
  /** ISO volume id (e.g. `local:iso/claim-a.iso`) built by the bootstrap adapter. */
  isoVolume?: string;
  /** Drive slot for the ISO or the provider's own cloud-init drive. Default `ide2`. */
  cdromSlot?: string;
  /** Storage of the provider's own cloud-init drive when bootstrap.mode is pveCloudInit. */
  cloudInitStorage?: string;
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

/**
 * One failed call to a provider's API, as its adapter classified it. The adapter may keep more
 * of its own detail on the object (an endpoint, the API's own words) for logs.
 */
export type ApiFailure = {
  /** The API's name, e.g. `Pve`: the first part of a launch failure's cause. */
  api: string;
  /** The adapter's failure class, e.g. `permission` or `timeout`. */
  kind: string;
  /** True when the same request fails again (a bad request, a missing privilege). */
  permanent: boolean;
  /** One line for people. */
  message: string;
  /** HTTP status, when a response arrived. */
  status?: number;
};

/** Why a provider call failed; every variant has a message in plain words. */
export type ProviderError =
  | { kind: "VmidRangeExhausted"; lower: number; upper: number; blocked: number; message: string }
  | { kind: "NoHost"; reason: Reason; message: string }
  | { kind: "InvalidTemplate"; message: string }
  /** An API call failed at `step`; `error` says how, as the adapter classified it. */
  | { kind: "Api"; step: string; error: ApiFailure; message: string }
  /** The VM at that VMID is not ours (tag, claim or vmid differ): it is never touched. */
  | { kind: "NotOwned"; vmid: number; host: string; message: string }
  /** A task is still running (deadline passed, or a lock is held): do not start a competing one. */
  | { kind: "InProgress"; vmid: number; host: string; upid?: string; message: string }
  /** Collisions or failed tasks used up the attempts. */
  | { kind: "AttemptsExhausted"; attempts: number; last: string; message: string }
  /** The bootstrap seed could not be built (render, join token); the VM was removed again. */
  | { kind: "BootstrapFailed"; message: string }
  /** The VMID could not be recorded before the launch; nothing was sent to the provider. */
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

/**
 * Whether a launch failure can heal by retrying, and its cause (for per-cause backoff): a bad
 * or missing template, a failed bootstrap seed, an exhausted VMID range and an API failure its
 * adapter calls permanent are permanent; anything else (a launch still running, collisions, a
 * host without room) is transient.
 */
export function launchFailureCause(e: ProviderError): { permanent: boolean; cause: string } {
  switch (e.kind) {
    case "InvalidTemplate":
    case "BootstrapFailed":
    case "VmidRangeExhausted":
      return { permanent: true, cause: e.kind };
    case "Api":
      return { permanent: e.error.permanent, cause: `${e.error.api}/${e.error.kind}` };
    default:
      return { permanent: false, cause: e.kind };
  }
}

/**
 * The owned VMs the provider could show, and the hosts whose VMs it could not (offline or
 * unreachable): a VM there is unknown, neither present nor absent.
 */
export type Listing = { machines: Machine[]; unknownHosts: string[] };

/** Makes and removes machines on one Provider. */
export interface MachineProvider {
  /** VMs proxscale owns on this Provider (exact managed tag + claim identity). */
  list(): Promise<Result<Machine[], ProviderError>>;
  /** `list()`, saying also which hosts' VMs are unknown. */
  listing(): Promise<Result<Listing, ProviderError>>;
  /**
   * The Provider's configured hosts with capacity, committed resources (in-flight included),
   * health, and, when one of `templates` has GPU shapes, their free passthrough devices.
   */
  inventory(templates?: readonly MachineTemplate[]): Promise<Result<Host[], ProviderError>>;
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
  /** Template VMs built from cloud images (`source.image`). Absent: not supported. */
  readonly imageTemplates?: ImageTemplatePort;
  /**
   * Static addresses the Provider's VMs (any owner) use per their cloud-init configuration:
   * what IP pools must not hand out. Absent: none known.
   */
  vmAddresses?(): Promise<Result<string[], ProviderError>>;
  /**
   * The members of the Provider's cluster (online, quorum votes, HA resources), for host power
   * management. Absent: the Provider has no cluster members to power.
   */
  clusterMembers?(): Promise<
    Result<
      { name: string; online: boolean; votes: number; haResources: number; guests?: number }[],
      ProviderError
    >
  >;
  /** What `vmAddresses` last found, without asking the provider (status and metrics). */
  knownVmAddresses?(): readonly string[];
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
