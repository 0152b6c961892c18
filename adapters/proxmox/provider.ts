/**
 * The Proxmox provider: makes and removes the VMs of NodeClaims through the PVE API. Every
 * decision goes through core (placement: core/placement.ts, VMID: core/vmid.ts); this file only
 * sequences PVE calls so that any crash and retry converges on one VM per claim:
 *
 * - before creating, look for a VM already carrying the claim's identity and adopt it;
 * - create/clone are sent once; an ambiguous answer is resolved by looking at the VMID;
 * - "already exists" anywhere is a VMID collision: pick another id (bounded attempts);
 * - after the task, confirm the VM under the VMID is ours before touching it;
 * - configuration is converged (read, diff, PUT with digest), so repeating it is harmless;
 * - delete only with an exact ownership match, stop and wait, then destroy with purge.
 *
 * Ownership = exact managed tag + `proxscale.io/nodeclaim=<name>` line in the description.
 */
import type { Host, MachineTemplate, NodeClaim, Provider, Resources } from "../../core/model.ts";
import { chooseHost } from "../../core/placement.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { chooseVmid, vmidExhaustedReason, vmidStart } from "../../core/vmid.ts";
import { type Rng, seededRng } from "./breaker.ts";
import type { PveClient } from "./client.ts";
import type { PveError } from "./errors.ts";
import type { CreateOptions, Machine, MachineProvider, ProviderError } from "./port.ts";
import type { NodeEntry, QemuListEntry, ResourceVm, VmConfig } from "./schemas.ts";
import { VmidLedger } from "./vmid_ledger.ts";
import {
  claimFromDescription,
  configChanges,
  createParams,
  type DesiredConfig,
  desiredConfig,
  hasTag,
  parseTags,
  vmFootprint,
  vmName as vmNameOf,
} from "./vm_config.ts";
import { Semaphore } from "./semaphore.ts";

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

type Timings = {
  taskDeadline: number;
  powerDeadline: number;
  /** How long an ambiguous create is watched for its VMID to appear. */
  ambiguousGrace: number;
  /** Poll interval while waiting for a VMID to appear or a lock to clear. */
  poll: number;
  /** Pause between launch attempts (doubled each time, jittered). */
  retryBase: number;
  vmidReservation: number;
  quarantine: number;
  inFlight: number;
};

const DEFAULT_TIMINGS: Timings = {
  taskDeadline: 10 * 60_000,
  powerDeadline: 3 * 60_000,
  ambiguousGrace: 3000,
  poll: 500,
  retryBase: 1000,
  vmidReservation: 15 * 60_000,
  quarantine: 5 * 60_000,
  inFlight: 15 * 60_000,
};

type InFlight = { host: string; footprint: Resources; vmid?: number; expires: number };
type Located = { node: string; vmid: number; config: VmConfig };
type LaunchOutcome =
  | { kind: "ok"; node: string }
  | { kind: "collision"; why: string }
  | { kind: "retry"; why: string }
  | { kind: "fail"; error: ProviderError };

const pveFail = (step: string, error: PveError): ProviderError => ({
  kind: "Pve",
  step,
  error,
  message: `${step}: ${error.message}`,
});

/** MachineProvider for one Proxmox VE cluster. */
export class ProxmoxProvider implements MachineProvider {
  readonly #c: PveClient;
  readonly #p: Provider;
  readonly #rng: Rng;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #t: Timings;
  readonly #overhead: number;
  readonly #maxAttempts: number;
  readonly #ledger: VmidLedger;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #creating = new Map<string, Promise<Result<Machine, ProviderError>>>();
  readonly #clones = new Map<string, Semaphore>();
  readonly #clonesPerStorage: number;

  constructor(opts: ProxmoxProviderOptions) {
    this.#c = opts.client;
    this.#p = opts.provider;
    this.#rng = opts.rng ?? seededRng(opts.seed ?? 1);
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#t = { ...DEFAULT_TIMINGS, ...opts.timings };
    this.#overhead = opts.vmMemOverhead ?? 0;
    this.#maxAttempts = opts.maxAttempts ?? 5;
    this.#clonesPerStorage = opts.clonesPerStorage ?? 2;
    this.#ledger = new VmidLedger(this.#now);
  }

  async list(): Promise<Result<Machine[], ProviderError>> {
    const res = await this.#c.resourcesVm();
    if (!res.ok) return err(pveFail("list VMs", res.error));
    const tagged = res.value.filter((v) =>
      v.type === "qemu" && !v.template && hasTag(v.tags, this.#p.managedTag)
    );
    const out: Machine[] = [];
    for (const v of tagged) {
      const cfg = await this.#c.vmConfig(v.node, v.vmid);
      if (!cfg.ok) {
        if (cfg.error.kind === "notFound") continue; // deleted or migrated since the listing
        return err(pveFail(`read config of VM ${v.vmid}`, cfg.error));
      }
      const m = this.#machine(v.node, v.vmid, cfg.value, v.status);
      if (m) out.push(m);
    }
    return ok(out);
  }

  async inventory(): Promise<Result<Host[], ProviderError>> {
    const view = await this.#view();
    if (!view.ok) return view;
    return ok(this.#hosts(view.value));
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

  async delete(machine: Machine): Promise<Result<void, ProviderError>> {
    return await this.#destroy(machine.host, machine.vmid, machine.claim, true);
  }

  // ---- create ------------------------------------------------------------------------------

  async #create(
    claim: NodeClaim,
    template: MachineTemplate,
    provider: Provider,
    opts: CreateOptions,
  ): Promise<Result<Machine, ProviderError>> {
    if (template.provider !== provider.name || provider.name !== this.#p.name) {
      return err({
        kind: "InvalidTemplate",
        message: `MachineTemplate ${template.name} names Provider ${template.provider}, ` +
          `but this provider is ${this.#p.name}`,
      });
    }
    const desired = desiredConfig(claim, template, provider, opts);
    const existing = await this.#findClaimVm(claim.name);
    if (!existing.ok) return existing;
    if (existing.value) {
      return await this.#finish(existing.value.node, existing.value.vmid, desired, claim);
    }
    const view = await this.#view();
    if (!view.ok) return view;
    const source = template.source;
    let hosts = this.#hosts(view.value);
    if (source.kind === "clone" && source.perHost && source.templateVmid === undefined) {
      // Only hosts holding a copy of the template can take a clone (local storage).
      hosts = hosts.filter((h) => source.perHost?.[h.name] !== undefined);
    }
    const footprint = vmFootprint(template, claim.shape);
    const chosen = chooseHost({
      hosts,
      footprint,
      strategy: provider.placement,
      zoneCounts: view.value.zoneCounts,
    });
    if (!chosen.ok) {
      return err({ kind: "NoHost", reason: chosen.error, message: chosen.error.message });
    }
    const host = chosen.value.name;
    const flight: InFlight = { host, footprint, expires: this.#now() + this.#t.inFlight };
    this.#inFlight.set(claim.name, flight);
    const launched = await this.#launchWithRetries(host, claim, template, desired, flight, opts);
    if (!launched.ok) {
      if (launched.error.kind !== "InProgress") this.#inFlight.delete(claim.name);
      return launched;
    }
    const machine = await this.#finish(launched.value.node, launched.value.vmid, desired, claim);
    this.#inFlight.delete(claim.name);
    if (flight.vmid !== undefined) this.#ledger.release(flight.vmid);
    return machine;
  }

  async #launchWithRetries(
    host: string,
    claim: NodeClaim,
    template: MachineTemplate,
    desired: DesiredConfig,
    flight: InFlight,
    opts: CreateOptions,
  ): Promise<Result<{ node: string; vmid: number }, ProviderError>> {
    const range = this.#p.vmidRange;
    const avoid = new Set<number>();
    let last = "";
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      if (attempt > 1) await this.#sleep(this.#backoff(attempt - 1));
      const res = await this.#c.resourcesVm();
      if (!res.ok) return err(pveFail("list VMIDs", res.error));
      const choice = chooseVmid({
        range,
        taken: [...res.value.map((v) => v.vmid), ...avoid],
        reserved: this.#ledger.reserved(),
        quarantined: this.#ledger.quarantined(),
        start: vmidStart(range, this.#rng()),
      });
      if (!choice.ok) {
        return err({ ...choice.error, message: vmidExhaustedReason(choice.error).message });
      }
      const vmid = choice.value.vmid;
      this.#ledger.reserve(vmid, this.#t.vmidReservation);
      flight.vmid = vmid;
      const free = await this.#c.nextid(vmid);
      if (!free.ok) {
        this.#ledger.release(vmid);
        if (free.error.kind === "alreadyExists") {
          avoid.add(vmid);
          last = `VMID ${vmid} taken`;
          attempt--; // a cheap check, not a launch: bounded by the range via `avoid`
          if (avoid.size > this.#maxAttempts * 4) {
            return err(this.#exhaustedAttempts(attempt, last));
          }
          continue;
        }
        return err(pveFail(`check VMID ${vmid}`, free.error));
      }
      const out = await this.#launch(host, vmid, claim, template, desired, res.value, opts);
      if (out.kind === "ok") return ok({ node: out.node, vmid });
      if (out.kind === "fail") return err(out.error);
      this.#ledger.release(vmid);
      avoid.add(vmid);
      last = out.why;
    }
    return err(this.#exhaustedAttempts(this.#maxAttempts, last));
  }

  #exhaustedAttempts(attempts: number, last: string): ProviderError {
    return {
      kind: "AttemptsExhausted",
      attempts,
      last,
      message: `gave up after ${attempts} launch attempts; last: ${last}`,
    };
  }

  /** One create or clone at `vmid`, awaited and verified. Never re-sends the POST. */
  async #launch(
    host: string,
    vmid: number,
    claim: NodeClaim,
    template: MachineTemplate,
    desired: DesiredConfig,
    vms: ResourceVm[],
    opts: CreateOptions,
  ): Promise<LaunchOutcome> {
    const source = template.source;
    const pool = template.resourcePool ?? this.#p.resourcePool;
    let step: string;
    let start: () => Promise<Result<string, PveError>>;
    let storageKey = "";
    if (source.kind === "scratch") {
      step = `create VM ${vmid} on ${host}`;
      const params = createParams(vmid, desired, source.options, pool);
      start = () => this.#c.createVm(host, params);
    } else {
      const templateVmid = source.perHost?.[host] ?? source.templateVmid;
      const srcNode = source.perHost?.[host] !== undefined
        ? host
        : vms.find((v) => v.vmid === templateVmid)?.node;
      if (templateVmid === undefined || srcNode === undefined) {
        return {
          kind: "fail",
          error: {
            kind: "InvalidTemplate",
            message: `template VM ${templateVmid ?? "(none)"} for host ${host} does not exist`,
          },
        };
      }
      step = `clone template ${templateVmid} to VM ${vmid} on ${host}`;
      storageKey = source.storage ?? `${srcNode}:template-${templateVmid}`;
      start = () =>
        this.#c.cloneVm(srcNode, templateVmid, {
          newid: vmid,
          name: desired.scalars.name,
          description: desired.scalars.description,
          full: source.full,
          storage: source.full ? source.storage : undefined,
          target: srcNode !== host ? host : undefined,
          pool,
        });
    }
    const gate = storageKey ? this.#cloneGate(storageKey) : undefined;
    const release = gate ? await gate.acquire() : () => {};
    try {
      const started = await start();
      if (!started.ok) {
        const e = started.error;
        if (e.kind === "alreadyExists") {
          return { kind: "collision", why: `${step}: ${e.pveMessage}` };
        }
        if (e.ambiguous) return await this.#resolve(vmid, claim, step, e);
        if (
          ["lockTimeout", "noQuorum", "transient", "circuitOpen", "connection"].includes(e.kind)
        ) {
          return { kind: "retry", why: e.message }; // PVE said no, or nothing was sent: not created
        }
        return { kind: "fail", error: pveFail(step, e) };
      }
      const done = await this.#c.waitTask(started.value, {
        endpoint: step,
        deadlineMs: opts.taskDeadlineMs ?? this.#t.taskDeadline,
      });
      if (!done.ok) {
        if (done.error.kind === "taskDeadline") {
          return {
            kind: "fail",
            error: {
              kind: "InProgress",
              vmid,
              host,
              upid: started.value,
              message: `${step}: task ${started.value} still running at the deadline; ` +
                `it is watched again on the next attempt, not destroyed`,
            },
          };
        }
        // The task failed (PVE rolled it back) or its status is unknown: look at the VMID.
        return await this.#resolve(vmid, claim, step, done.error);
      }
    } finally {
      release();
    }
    return await this.#verify(host, vmid, claim, step);
  }

  /** After an unclear or failed launch: is the VMID ours, someone else's, or free? */
  async #resolve(
    vmid: number,
    claim: NodeClaim,
    step: string,
    cause: PveError,
  ): Promise<LaunchOutcome> {
    const graceEnd = this.#now() + this.#t.ambiguousGrace;
    const lockEnd = this.#now() + this.#t.taskDeadline;
    for (;;) {
      const res = await this.#c.resourcesVm();
      const entry = res.ok ? res.value.find((v) => v.vmid === vmid) : undefined;
      if (res.ok && !entry) {
        if (!cause.ambiguous || this.#now() >= graceEnd) {
          return { kind: "retry", why: `${step}: ${cause.message}` };
        }
      } else if (entry && !entry.lock) {
        return await this.#verify(entry.node, vmid, claim, step);
      } else if (entry && this.#now() >= lockEnd) {
        return {
          kind: "fail",
          error: {
            kind: "InProgress",
            vmid,
            host: entry.node,
            message: `${step}: VM ${vmid} still locked (${entry.lock}) after ${cause.message}`,
          },
        };
      } else if (!res.ok && this.#now() >= lockEnd) {
        return { kind: "fail", error: pveFail(step, res.error) };
      }
      await this.#sleep(this.#t.poll);
    }
  }

  /** Reads the VM under `vmid` and checks it carries this claim; never touches a foreign VM. */
  async #verify(
    node: string,
    vmid: number,
    claim: NodeClaim,
    step: string,
  ): Promise<LaunchOutcome> {
    const cfg = await this.#c.vmConfig(node, vmid);
    if (!cfg.ok) {
      if (cfg.error.kind === "notFound") return { kind: "retry", why: `${step}: VM vanished` };
      return { kind: "fail", error: pveFail(`verify VM ${vmid}`, cfg.error) };
    }
    if (claimFromDescription(cfg.value.description) !== claim.name) {
      return { kind: "collision", why: `${step}: VMID ${vmid} holds another VM` };
    }
    return { kind: "ok", node };
  }

  /** Converges config, starts, and returns the machine; on failure removes the VM again. */
  async #finish(
    node: string,
    vmid: number,
    desired: DesiredConfig,
    claim: NodeClaim,
  ): Promise<Result<Machine, ProviderError>> {
    const done = await this.#converge(node, vmid, desired);
    const started = done.ok ? await this.#start(node, vmid) : done;
    if (!started.ok) {
      if (started.error.kind === "InProgress") return started;
      // A half-made VM would hold capacity and confuse the next attempt: remove it.
      const cleaned = await this.#destroy(node, vmid, claim.name, false);
      const note = cleaned.ok
        ? "the VM was removed"
        : `removing it failed too: ${cleaned.error.message}`;
      return err({ ...started.error, message: `${started.error.message} (${note})` });
    }
    const cfg = await this.#c.vmConfig(node, vmid);
    if (!cfg.ok) return err(pveFail(`read config of VM ${vmid}`, cfg.error));
    const m = this.#machine(node, vmid, cfg.value, "running");
    if (!m) {
      return err({ kind: "NotOwned", vmid, host: node, message: `VM ${vmid} lost its identity` });
    }
    return ok(m);
  }

  async #converge(
    node: string,
    vmid: number,
    desired: DesiredConfig,
  ): Promise<Result<void, ProviderError>> {
    for (let round = 1; round <= 6; round++) {
      const cfg = await this.#unlocked(node, vmid);
      if (!cfg.ok) return cfg;
      const changes = configChanges(desired, cfg.value);
      const keys = Object.keys(changes.set);
      if (keys.length === 0 && changes.resize.length === 0) return ok(undefined);
      if (keys.length) {
        const r = await this.#c.updateConfig(node, vmid, {
          ...changes.set,
          digest: cfg.value.digest,
        });
        if (!r.ok) {
          if (
            ["conflict", "lockTimeout", "locked", "transient", "timeout", "connection"].includes(
              r.error.kind,
            )
          ) {
            await this.#sleep(this.#backoff(round));
            continue; // re-read and diff again: a change that landed shows up there
          }
          return err(pveFail(`configure VM ${vmid}`, r.error));
        }
      }
      for (const rz of changes.resize) {
        const r = await this.#c.runTask(
          this.#c.resize(node, vmid, rz.disk, rz.size),
          `resize ${rz.disk} of VM ${vmid}`,
          this.#t.powerDeadline,
        );
        if (
          !r.ok && !["lockTimeout", "transient", "connection", "timeout"].includes(r.error.kind)
        ) {
          return err(pveFail(`resize ${rz.disk} of VM ${vmid}`, r.error));
        }
      }
    }
    return err({
      kind: "AttemptsExhausted",
      attempts: 6,
      last: "config kept changing",
      message: `VM ${vmid}: configuration did not converge after 6 rounds`,
    });
  }

  /** GET config, waiting while a create/clone task still holds the `lock` property. */
  async #unlocked(node: string, vmid: number): Promise<Result<VmConfig, ProviderError>> {
    const end = this.#now() + this.#t.taskDeadline;
    for (;;) {
      const cfg = await this.#c.vmConfig(node, vmid);
      if (!cfg.ok) return err(pveFail(`read config of VM ${vmid}`, cfg.error));
      if (!cfg.value.lock) return ok(cfg.value);
      if (this.#now() >= end) {
        return err({
          kind: "InProgress",
          vmid,
          host: node,
          message:
            `VM ${vmid} is locked (${cfg.value.lock}); a task still runs on it or an operator must unlock it`,
        });
      }
      await this.#sleep(this.#t.poll);
    }
  }

  async #start(node: string, vmid: number): Promise<Result<void, ProviderError>> {
    for (let round = 1; round <= 4; round++) {
      const st = await this.#c.vmStatus(node, vmid);
      if (!st.ok) return err(pveFail(`status of VM ${vmid}`, st.error));
      if (st.value.status === "running") return ok(undefined);
      const r = await this.#c.runTask(
        this.#c.power(node, vmid, "start"),
        `start VM ${vmid}`,
        this.#t.powerDeadline,
      );
      if (r.ok || r.error.kind === "vmRunning") return ok(undefined);
      if (r.error.kind === "taskDeadline") {
        return err({ kind: "InProgress", vmid, host: node, message: r.error.message });
      }
      if (!["lockTimeout", "transient", "connection", "timeout", "locked"].includes(r.error.kind)) {
        return err(pveFail(`start VM ${vmid}`, r.error));
      }
      await this.#sleep(this.#backoff(round));
    }
    return err({
      kind: "AttemptsExhausted",
      attempts: 4,
      last: "start",
      message: `VM ${vmid} did not start`,
    });
  }

  // ---- delete ------------------------------------------------------------------------------

  /**
   * Stops and destroys VM `vmid` if (and only if) it is the claim's: description identity, and
   * for `requireTag` the exact managed tag. Gone already counts as done.
   */
  async #destroy(
    node: string,
    vmid: number,
    claimName: string,
    requireTag: boolean,
  ): Promise<Result<void, ProviderError>> {
    let host = node;
    let relocated = false;
    for (let round = 1; round <= 6; round++) {
      if (round > 1) await this.#sleep(this.#backoff(round - 1));
      const cfg = await this.#c.vmConfig(host, vmid);
      if (!cfg.ok) {
        if (cfg.error.kind !== "notFound") {
          return err(pveFail(`read config of VM ${vmid}`, cfg.error));
        }
        if (relocated) return this.#deleted(vmid);
        // The VM may have been migrated: find its node once; gone everywhere means done.
        const res = await this.#c.resourcesVm();
        if (!res.ok) return err(pveFail("list VMs", res.error));
        const entry = res.value.find((v) => v.vmid === vmid);
        if (!entry) return this.#deleted(vmid);
        host = entry.node;
        relocated = true;
        round--;
        continue;
      }
      const c = cfg.value;
      if (
        claimFromDescription(c.description) !== claimName ||
        (requireTag && !hasTag(c.tags, this.#p.managedTag))
      ) {
        return err({
          kind: "NotOwned",
          vmid,
          host,
          message: `VM ${vmid} on ${host} is not NodeClaim ${claimName}'s (tags "${
            c.tags ?? ""
          }"); refusing to delete it`,
        });
      }
      if (c.lock && c.lock !== "destroyed") {
        if (round < 6) continue;
        return err({
          kind: "InProgress",
          vmid,
          host,
          message: `VM ${vmid} is locked (${c.lock}); not destroying it`,
        });
      }
      const st = await this.#c.vmStatus(host, vmid);
      if (!st.ok) {
        if (st.error.kind === "notFound") return this.#deleted(vmid);
        return err(pveFail(`status of VM ${vmid}`, st.error));
      }
      if (st.value.status !== "stopped") {
        const stop = await this.#c.runTask(
          this.#c.power(host, vmid, "stop"),
          `stop VM ${vmid}`,
          this.#t.powerDeadline,
        );
        if (!stop.ok) {
          if (stop.error.kind === "notFound") return this.#deleted(vmid);
          if (!this.#retryableStep(stop.error)) return err(pveFail(`stop VM ${vmid}`, stop.error));
          continue;
        }
      }
      const del = await this.#c.runTask(
        this.#c.deleteVm(host, vmid),
        `destroy VM ${vmid}`,
        this.#t.powerDeadline,
      );
      if (del.ok || del.error.kind === "notFound") return this.#deleted(vmid);
      if (!this.#retryableStep(del.error) && del.error.kind !== "vmRunning") {
        return err(pveFail(`destroy VM ${vmid}`, del.error));
      }
    }
    return err({
      kind: "AttemptsExhausted",
      attempts: 6,
      last: "destroy",
      message: `VM ${vmid} could not be destroyed`,
    });
  }

  #retryableStep(e: PveError): boolean {
    return [
      "lockTimeout",
      "transient",
      "connection",
      "timeout",
      "taskFailed",
      "locked",
      "malformed",
    ]
      .includes(e.kind) || e.ambiguous === true;
  }

  #deleted(vmid: number): Result<void, ProviderError> {
    this.#ledger.quarantine(vmid, this.#t.quarantine);
    return ok(undefined);
  }

  // ---- views -------------------------------------------------------------------------------

  /** The claim's VM if one exists anywhere (by name, confirmed by the description identity). */
  async #findClaimVm(claimName: string): Promise<Result<Located | undefined, ProviderError>> {
    const nodes = await this.#c.nodes();
    if (!nodes.ok) return err(pveFail("list hosts", nodes.error));
    const res = await this.#c.resourcesVm();
    if (!res.ok) return err(pveFail("list VMs", res.error));
    for (const n of nodes.value) {
      if (n.status !== "online") continue;
      const list = await this.#c.qemuList(n.node);
      if (!list.ok) {
        if (list.error.kind === "nodeUnreachable" || list.error.kind === "circuitOpen") continue;
        return err(pveFail(`list VMs on ${n.node}`, list.error));
      }
      for (const v of list.value) {
        // Names do not lag in this listing; a name match is confirmed by the description.
        if (v.template || (v.name !== vmNameOf(claimName) && !v.lock)) continue;
        const cfg = await this.#c.vmConfig(n.node, v.vmid);
        if (!cfg.ok) continue;
        if (claimFromDescription(cfg.value.description) === claimName) {
          return ok({ node: n.node, vmid: v.vmid, config: cfg.value });
        }
      }
    }
    return ok(undefined);
  }

  async #view(): Promise<Result<View, ProviderError>> {
    const [nodes, status] = await Promise.all([this.#c.nodes(), this.#c.clusterStatus()]);
    if (!nodes.ok) return err(pveFail("list hosts", nodes.error));
    if (nodes.value.length === 0) {
      return err(pveFail("list hosts", {
        kind: "permission",
        endpoint: "GET /nodes",
        message:
          "PVE shows no hosts: the API token probably lacks Sys.Audit (listings are filtered silently)",
      }));
    }
    const quorate = !status.ok || (status.value.find((e) => e.type === "cluster")?.quorate ?? true);
    const byName = new Map(nodes.value.map((n) => [n.node, n]));
    const lists = new Map<string, QemuListEntry[]>();
    const zoneCounts = new Map<string, number>();
    for (const h of this.#p.hosts) {
      const n = byName.get(h.name);
      if (!n || n.status !== "online" || this.#c.hostTripped(h.name)) continue;
      const l = await this.#c.qemuList(h.name);
      if (!l.ok) {
        if (["nodeUnreachable", "circuitOpen", "timeout", "connection"].includes(l.error.kind)) {
          continue;
        }
        return err(pveFail(`list VMs on ${h.name}`, l.error));
      }
      lists.set(h.name, l.value);
      const owned = l.value.filter((v) => hasTag(v.tags, this.#p.managedTag)).length;
      zoneCounts.set(h.zone, (zoneCounts.get(h.zone) ?? 0) + owned);
    }
    return ok({ byName, lists, quorate, zoneCounts });
  }

  /** Hosts with committed resources: every VM's size (+overhead) plus this process's in-flight launches. */
  #hosts(view: View): Host[] {
    const now = this.#now();
    for (const [k, f] of this.#inFlight) if (f.expires <= now) this.#inFlight.delete(k);
    const flights = [...this.#inFlight.values()];
    const flightIds = new Set(flights.flatMap((f) => (f.vmid === undefined ? [] : [f.vmid])));
    return this.#p.hosts.map((h): Host => {
      const n = view.byName.get(h.name);
      const list = view.lists.get(h.name);
      const committed = { cpu: 0, memory: 0 };
      for (const v of list ?? []) {
        if (v.template || flightIds.has(v.vmid)) continue;
        committed.cpu += Math.ceil(v.cpus ?? 1) * 1000;
        committed.memory += (v.maxmem ?? 0) + this.#overhead;
      }
      for (const f of flights) {
        if (f.host !== h.name) continue;
        committed.cpu += f.footprint.cpu;
        committed.memory += f.footprint.memory;
      }
      return {
        name: h.name,
        provider: this.#p.name,
        zone: h.zone,
        online: view.quorate && list !== undefined,
        capacity: { cpu: Math.round((n?.maxcpu ?? 0) * 1000), memory: n?.maxmem ?? 0 },
        cpuOvercommit: h.cpuOvercommit,
        memoryOvercommit: h.memoryOvercommit,
        reserved: h.reserved,
        committed,
      };
    });
  }

  #machine(
    node: string,
    vmid: number,
    c: VmConfig,
    status: string | undefined,
  ): Machine | undefined {
    const claim = claimFromDescription(c.description);
    if (!claim || !hasTag(c.tags, this.#p.managedTag)) return undefined;
    const s = status === "running" || status === "stopped" || status === "paused"
      ? status
      : "unknown";
    return {
      vmid,
      host: node,
      provider: this.#p.name,
      name: c.name ?? `VM ${vmid}`,
      tags: parseTags(c.tags),
      status: s,
      size: { cpu: (c.cores ?? 1) * (c.sockets ?? 1) * 1000, memory: (c.memory ?? 512) * 2 ** 20 },
      claim,
    };
  }

  #cloneGate(storage: string): Semaphore {
    let s = this.#clones.get(storage);
    if (!s) {
      s = new Semaphore(this.#clonesPerStorage);
      this.#clones.set(storage, s);
    }
    return s;
  }

  #backoff(n: number): number {
    const exp = Math.min(30_000, this.#t.retryBase * 2 ** Math.max(0, n - 1));
    return Math.round(exp / 2 + this.#rng() * exp / 2);
  }
}

type View = {
  byName: Map<string, NodeEntry>;
  lists: Map<string, QemuListEntry[]>;
  quorate: boolean;
  zoneCounts: Map<string, number>;
};
