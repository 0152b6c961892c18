/**
 * The Proxmox provider: makes and removes the VMs of NodeClaims through the PVE API. Every
 * decision goes through core (placement: core/placement.ts, VMID: core/vmid.ts); the step modules
 * (launch.ts, finish.ts, destroy.ts, provider_view.ts) only sequence PVE calls so that any crash and retry converges on one VM per claim:
 *
 * - before creating, look for a VM already carrying the claim's identity and adopt it;
 * - create/clone are sent once; an ambiguous answer is resolved by looking at the VMID;
 * - "already exists" anywhere is a VMID collision: pick another id (bounded attempts);
 * - after the task, confirm the VM under the VMID is ours before touching it;
 * - configuration is converged (read, diff, PUT with digest), so repeating it is harmless;
 * - delete only with an exact ownership match, stop and wait, then destroy with purge.
 *
 * Ownership = exact managed tag + `proxscale.io/nodeclaim=<name>` line in the description.
 *
 * adapters/proxmox/ holds the PVE client (client.ts and its transport, TLS, errors, schemas)
 * and this provider. It imports core/ and the provider port it implements (daemon/ports/).
 */
import { type ClusterMember, readClusterMembers } from "./cluster_members.ts";
import { ProxmoxImageTemplates } from "./image_templates.ts";
import type { Host, MachineTemplate, NodeClaim, Provider } from "../../core/model.ts";
import { chooseHost } from "../../core/placement.ts";
import { templateHostsAmong } from "../../core/template_locality.ts";
import { templateLocality } from "./template_hosts.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { reason } from "../../core/reason.ts";
import type { Rng } from "../../daemon/ports/clock.ts";
import { seededRng } from "./breaker.ts";
import type { PveClient } from "./client.ts";
import { destroy, sweepClaim } from "./destroy.ts";
import { finish } from "./finish.ts";
import { launchWithRetries, resolve } from "./launch.ts";
import { HOST_DOWN_KINDS, localError } from "./errors.ts";
import type {
  CreateOptions,
  Listing,
  Machine,
  MachineProvider,
  ProviderError,
  SeedIsoRef,
} from "../../daemon/ports/provider.ts";
import {
  type Ctx,
  DEFAULT_TIMINGS,
  type InFlight,
  pveFail,
  type Timings,
} from "./provider_context.ts";
import {
  findClaimVm,
  hosts,
  inManagedRange,
  machine,
  missingVolumes,
  view,
} from "./provider_view.ts";
import { withDevices } from "./pci_devices.ts";
import { isoStorageProblem, releaseSeedIso, uploadSeedIso } from "./seed_iso.ts";
import { Semaphore } from "./semaphore.ts";
import { VmidLedger } from "./vmid_ledger.ts";
import { VmAddressReader } from "./vm_addresses.ts";
import { ListingConfigs } from "./listing_configs.ts";
import { readConfigs } from "./config_reads.ts";
import {
  bootstrapVolumes,
  type DesiredConfig,
  desiredConfig,
  hasTag,
  vmFootprint,
} from "./vm_config.ts";

export type ProxmoxProviderOptions = {
  client: PveClient;
  provider: Provider;
  /** Seed for VMID start offsets and backoff jitter (give each instance its own). */
  seed?: number;
  rng?: Rng;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Host memory counted per VM beyond its configured memory when summing a host's committed
   * memory in inventory (bytes). Default 0; creates use their template's vmMemOverhead.
   */
  vmMemOverhead?: number;
  /** Total launch attempts per create (VMID collisions and rolled-back tasks). Default 5. */
  maxAttempts?: number;
  /** Concurrent clones per target storage (parallel clones time out on storage locks). Default 2. */
  clonesPerStorage?: number;
  /** ms. */
  timings?: Partial<Timings>;
};

/** MachineProvider for one Proxmox VE cluster. */
export class ProxmoxProvider implements MachineProvider {
  readonly #ctx: Ctx;
  readonly #creating = new Map<string, Promise<Result<Machine, ProviderError>>>();
  /** PVE's answer on which hosts can clone a template VMID, with its expiry. */
  readonly #locality = new Map<string, { hosts: string[]; until: number }>();
  readonly #addresses: VmAddressReader;
  /** Managed VMs' configs as the listing last read them (one read per changed VM, not per VM). */
  readonly #configs: ListingConfigs;
  /** Template VMs built from cloud images (MachineTemplate `source.image`). */
  readonly imageTemplates: ProxmoxImageTemplates;

  constructor(opts: ProxmoxProviderOptions) {
    const rng = opts.rng ?? seededRng(opts.seed ?? 1);
    const now = opts.now ?? Date.now;
    const t: Timings = { ...DEFAULT_TIMINGS, ...opts.timings };
    const gates = new Map<string, Semaphore>();
    const perStorage = opts.clonesPerStorage ?? 2;
    this.#addresses = new VmAddressReader(opts.client, now);
    this.#configs = new ListingConfigs(now);
    this.imageTemplates = new ProxmoxImageTemplates(opts.client, opts.provider);
    this.#ctx = {
      client: opts.client,
      provider: opts.provider,
      rng,
      now,
      sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      t,
      ledger: new VmidLedger(now),
      overhead: opts.vmMemOverhead ?? 0,
      maxAttempts: opts.maxAttempts ?? 5,
      inFlight: new Map<string, InFlight>(),
      backoff: (n) => {
        const exp = Math.min(30_000, t.retryBase * 2 ** Math.max(0, n - 1));
        return Math.round(exp / 2 + rng() * exp / 2);
      },
      cloneGate: (storage) => {
        let g = gates.get(storage);
        if (!g) gates.set(storage, g = new Semaphore(perStorage));
        return g;
      },
    };
  }

  /** Static addresses in the cluster's VM configs (ipconfigN), for the IP pools. */
  async vmAddresses(): Promise<Result<string[], ProviderError>> {
    const r = await this.#addresses.addresses();
    return r.ok ? r : err(pveFail(r.error.step, r.error.error));
  }

  /** The PVE cluster's members: online, quorum votes, HA resources (host power). */
  async clusterMembers(): Promise<Result<ClusterMember[], ProviderError>> {
    const r = await readClusterMembers(this.#ctx.client);
    return r.ok ? r : err(pveFail("cluster status", r.error));
  }

  /** What vmAddresses() last found, without a PVE call. */
  knownVmAddresses(): readonly string[] {
    return this.#addresses.known();
  }

  async list(): Promise<Result<Machine[], ProviderError>> {
    const l = await this.listing();
    return l.ok ? ok(l.value.machines) : l;
  }

  async listing(): Promise<Result<Listing, ProviderError>> {
    const ctx = this.#ctx;
    const res = await ctx.client.resourcesVm();
    if (!res.ok) return err(pveFail("list VMs", res.error));
    // Tagged VMs, and untagged ones in the managed range: a clone whose launch died before the
    // config step has its identity in the description but no tag yet.
    const candidates = res.value.filter((v) =>
      v.type === "qemu" && !v.template &&
      (hasTag(v.tags, ctx.provider.managedTag) || inManagedRange(ctx, v.vmid))
    );
    const out: Machine[] = [];
    const unknown = new Set<string>();
    this.#configs.keepOnly(new Set(candidates.map((v) => v.vmid)));
    // Configs not kept from earlier passes are read a few at a time: one after another, a
    // daemon's first pass over 1,000 VMs waited for 1,000 round trips to pveproxy.
    const read = await readConfigs(
      candidates.filter((v) => !ctx.client.hostTripped(v.node) && !this.#configs.get(v)),
      (v) => ctx.client.vmConfig(v.node, v.vmid),
    );
    for (const v of candidates) {
      // A host that is offline or unreachable cannot show its VMs: they are unknown, and the
      // core keeps their claims as they are (its inventory marks the host offline).
      // (The listing's status says "unknown" for fresh VMs too, so the host's answer decides.)
      if (ctx.client.hostTripped(v.node) && !read.has(v.vmid)) {
        unknown.add(v.node);
        continue;
      }
      let config = this.#configs.get(v);
      if (!config) {
        const cfg = read.get(v.vmid);
        if (cfg === undefined) {
          // Not read: its host failed another read of this listing first.
          unknown.add(v.node);
          continue;
        }
        if (!cfg.ok) {
          if (cfg.error.kind === "notFound") continue; // deleted or migrated since the listing
          if (HOST_DOWN_KINDS.has(cfg.error.kind)) {
            unknown.add(v.node);
            continue;
          }
          return err(pveFail(`read config of VM ${v.vmid}`, cfg.error));
        }
        config = cfg.value;
        this.#configs.set(v, config);
      }
      const m = machine(ctx, v.node, v.vmid, config, v.status, v.uptime);
      if (m) out.push(m);
    }
    return ok({ machines: out, unknownHosts: [...unknown].sort() });
  }

  /**
   * The configured hosts that can clone `template` (every host for a scratch build): per-host
   * copies, and the shared template's host, or every host when its disks are on shared
   * storage. PVE's answer about a template VMID is kept for a minute.
   */
  async templateHosts(template: MachineTemplate): Promise<Result<string[], ProviderError>> {
    const ctx = this.#ctx;
    const names = ctx.provider.hosts.map((h) => h.name);
    const s = template.source;
    if (s.kind === "image") {
      const r = await this.imageTemplates.templateHosts(template);
      return r.ok ? r : err({ kind: "InvalidTemplate", message: r.error.message });
    }
    if (s.kind !== "clone" || s.templateVmid === undefined) {
      return ok(templateHostsAmong(template, names));
    }
    const key = `${s.templateVmid}/${s.full}/${s.storage ?? ""}`;
    const cached = this.#locality.get(key);
    let known: string[];
    if (cached && cached.until > ctx.now()) known = cached.hosts;
    else {
      const l = await templateLocality(ctx.client, s, s.templateVmid, names);
      if (!l.ok) {
        // A missing template serves no host (per-host copies may still serve theirs).
        if (l.error.kind !== "missing") {
          return err(pveFail(`read template VM ${s.templateVmid}`, l.error));
        }
        // Not remembered: a template created now is used on the next pass.
        known = [];
      } else {
        known = l.value.hosts;
        this.#locality.set(key, { hosts: known, until: ctx.now() + 60_000 });
      }
    }
    return ok(templateHostsAmong(template, names, known));
  }

  async inventory(
    templates: readonly MachineTemplate[] = [],
  ): Promise<Result<Host[], ProviderError>> {
    // Devices are read (a few more calls per pass) only when some template can use them.
    const devices = templates.some((t) => t.shapes.some((s) => s.gpus !== undefined));
    const v = await view(this.#ctx, { devices });
    if (!v.ok) return v;
    return ok(hosts(this.#ctx, v.value));
  }

  create(
    claim: NodeClaim,
    template: MachineTemplate,
    provider: Provider,
    opts: CreateOptions = {},
  ): Promise<Result<Machine, ProviderError>> {
    // Two calls for one claim in this process share one launch.
    const running = this.#creating.get(claim.name);
    if (running) return running;
    const p = this.#create(claim, template, provider, opts).finally(() => {
      this.#creating.delete(claim.name);
    });
    this.#creating.set(claim.name, p);
    return p;
  }

  async delete(m: Machine): Promise<Result<void, ProviderError>> {
    return await destroy(this.#ctx, m.host, m.vmid, m.claim, true);
  }

  releaseSeedIso(
    claim: string,
    iso: SeedIsoRef,
  ): Promise<Result<{ detached: boolean; deleted: string[] }, ProviderError>> {
    return releaseSeedIso(this.#ctx, claim, iso);
  }

  /** Finishes the VM, first uploading and attaching its seed ISO when the launch has one. */
  async #finish(
    node: string,
    vmid: number,
    desired: DesiredConfig,
    claim: NodeClaim,
    opts: CreateOptions,
  ): Promise<Result<Machine, ProviderError>> {
    const ctx = this.#ctx;
    if (!opts.seedIso) return await finish(ctx, node, vmid, desired, claim);
    const seeded = await uploadSeedIso(ctx, node, vmid, desired, opts.seedIso);
    if (!seeded.ok) {
      // A VM that would boot without its seed never joins: remove it, as finish does.
      const cleaned = await destroy(ctx, node, vmid, claim.name, false);
      const note = cleaned.ok
        ? "the VM was removed"
        : `removing it failed: ${cleaned.error.message}`;
      return err({ ...seeded.error, message: `${seeded.error.message} (${note})` });
    }
    return await finish(ctx, node, vmid, seeded.value, claim);
  }

  async #create(
    claim: NodeClaim,
    template: MachineTemplate,
    provider: Provider,
    opts: CreateOptions,
  ): Promise<Result<Machine, ProviderError>> {
    const ctx = this.#ctx;
    if (template.provider !== provider.name || provider.name !== ctx.provider.name) {
      return err({
        kind: "InvalidTemplate",
        message: `MachineTemplate ${template.name} names Provider ${template.provider}, ` +
          `but this provider is ${ctx.provider.name}`,
      });
    }
    const desired = desiredConfig(claim, template, provider, opts);
    const existing = await findClaimVm(ctx, claim.name);
    if (!existing.ok) return existing;
    if (existing.value) {
      return await this.#finish(existing.value.node, existing.value.vmid, desired, claim, opts);
    }
    // A launch that passed its deadline (here, or recorded on the NodeClaim by an earlier
    // process) may still be cloning: its placeholder carries no identity yet, so wait for it.
    const hint = ctx.inFlight.get(claim.name)?.vmid ?? claim.vmid;
    if (hint !== undefined) {
      const cause = localError("taskDeadline", "resume", "earlier launch", { ambiguous: true });
      const earlier = await resolve(ctx, hint, claim, `resume VM ${hint}`, cause, true);
      if (earlier.kind === "ok") {
        return await this.#finish(earlier.node, hint, desired, claim, opts);
      }
      if (earlier.kind === "fail") return err(earlier.error);
      ctx.inFlight.delete(claim.name);
    }
    const ask = claim.shape.gpus;
    const v = await view(ctx, { devices: ask !== undefined });
    if (!v.ok) return v;
    const source = template.source;
    // Only hosts that can clone the template: a per-host copy, or the shared template's host
    // (all hosts when its disks are on shared storage).
    const cloneable = await this.templateHosts(template);
    if (!cloneable.ok) return cloneable;
    let allowed = cloneable.value;
    if (allowed.length === 0) {
      return err({
        kind: "InvalidTemplate",
        message: `no configured host of Provider ${ctx.provider.name} can clone ` +
          `MachineTemplate ${template.name}` +
          (source.kind === "clone" && source.templateVmid !== undefined
            ? ` (template VM ${source.templateVmid} does not exist or is unreadable)`
            : ""),
      });
    }
    // PVE checks snippets and ISOs only at start: keep to hosts that can read them.
    const volumes = bootstrapVolumes(desired);
    const seedStorage = opts.seedIso?.storage;
    if (volumes.length || seedStorage !== undefined) {
      const readable: string[] = [];
      const gaps: string[] = [];
      for (const h of allowed) {
        if (!v.value.lists.has(h)) continue; // offline or unreachable
        const miss = await missingVolumes(ctx, h, volumes);
        if (!miss.ok) return miss;
        // The seed ISO is uploaded to the chosen host itself: it needs the iso storage there.
        const noIso = seedStorage === undefined
          ? undefined
          : await isoStorageProblem(ctx, h, seedStorage);
        if (miss.value.length === 0 && noIso === undefined) readable.push(h);
        else if (noIso !== undefined) gaps.push(noIso);
        else gaps.push(`${h} lacks ${miss.value.join(", ")}`);
      }
      if (readable.length === 0) {
        return err({
          kind: "InvalidTemplate",
          message: `no host can read the bootstrap volumes of MachineTemplate ${template.name}: ` +
            (gaps.join("; ") || "no host is online"),
        });
      }
      allowed = readable;
    }
    const footprint = vmFootprint(template, claim.shape);
    // Committed resources are taken after the last await, so concurrent launches see each other.
    let candidates = hosts(ctx, v.value).filter((h) => allowed.includes(h.name));
    // The decision chose the host (and so the zone and host labels of the Node): the launch goes
    // there or fails back with a reason, so the next pass plans again; it never picks another.
    const planned = claim.host;
    if (planned !== undefined) {
      const known = hosts(ctx, v.value).find((h) => h.name === planned);
      candidates = candidates.filter((h) => h.name === planned);
      if (candidates.length === 0) {
        const why = reason(
          "PlannedHostUnavailable",
          known === undefined
            ? `planned host ${planned} is not a configured host of Provider ${ctx.provider.name}`
            : `planned host ${planned} cannot take MachineTemplate ${template.name} ` +
              `(it lacks the template or the bootstrap volumes)`,
        );
        return err({ kind: "NoHost", reason: why, message: why.message });
      }
    }
    const chosen = chooseHost({
      hosts: candidates,
      footprint,
      strategy: provider.placement,
      zoneCounts: v.value.zoneCounts,
      gpus: ask,
    });
    if (!chosen.ok) {
      if (planned !== undefined) {
        const why = reason(
          "PlannedHostUnavailable",
          `planned host ${planned} can no longer take the VM: ${chosen.error.message}`,
        );
        return err({ kind: "NoHost", reason: why, message: why.message });
      }
      return err({ kind: "NoHost", reason: chosen.error, message: chosen.error.message });
    }
    const host = chosen.value.name;
    const flight: InFlight = { host, footprint, expires: ctx.now() + ctx.t.inFlight };
    const gpuLines = withDevices(desired, template, chosen.value, ask);
    if (gpuLines) flight.gpus = gpuLines;
    ctx.inFlight.set(claim.name, flight);
    const launched = await launchWithRetries(ctx, host, claim, template, desired, flight, opts);
    if (!launched.ok) {
      // A launch still running keeps counting on its host until its TTL.
      if (launched.error.kind === "InProgress") return launched;
      ctx.inFlight.delete(claim.name);
      if (launched.error.kind !== "Api" && launched.error.kind !== "AttemptsExhausted") {
        return launched;
      }
      // Something was sent: make sure no VM of this claim outlives the failure.
      const swept = await sweepClaim(ctx, claim.name);
      const note = !swept.ok
        ? ` (checking for a left-over VM failed: ${swept.error.message})`
        : swept.value !== undefined
        ? ` (left-over VM ${swept.value} removed)`
        : "";
      return err({ ...launched.error, message: launched.error.message + note });
    }
    const done = await this.#finish(
      launched.value.node,
      launched.value.vmid,
      desired,
      claim,
      opts,
    );
    ctx.inFlight.delete(claim.name);
    if (flight.vmid !== undefined) ctx.ledger.release(flight.vmid);
    return done;
  }
}
