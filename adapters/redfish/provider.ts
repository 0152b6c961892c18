/**
 * The bare-metal MachineProvider: a Provider's machines are physical servers behind Redfish
 * BMCs, each one Node at most. A machine is proxscale's exactly while its virtual CD holds a
 * proxscale seed URL naming this Provider (the URL path names the claim, so a restarted daemon
 * finds every launch it began); a machine without that media is foreign and never touched.
 * Capacity is read from the System; a launch picks the planned or a free machine whose size is
 * exactly the claim's shape, inserts the claim's NoCloud seed ISO served on a one-time URL,
 * sets a one-time boot from CD and powers it on. Deletion powers off and ejects, which returns
 * the machine to the free set. Provider ID: redfish://<provider>/<system uuid>.
 *
 * May import: core/, adapters/, daemon/ports/.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { reason } from "../../core/reason.ts";
import type { Host, MachineTemplate, NodeClaim, Provider, VmStatus } from "../../core/model.ts";
import type {
  ApiFailure,
  CreateOptions,
  Listing,
  Machine,
  MachineProvider,
  ProviderError,
} from "../../daemon/ports/provider.ts";
import { CircuitBreakers } from "../proxmox/breaker.ts";
import { RedfishClient, type TrustMode } from "./client.ts";
import type { RedfishError } from "./errors.ts";
import { parseSeedUrl } from "./seed_server.ts";
import { findSystem, readSystem, resetSystem, setBootOnce, type SystemInfo } from "./systems.ts";
import { ejectMedia, findCdMedia, insertMedia, type MediaInfo } from "./virtual_media.ts";

const GiB = 1024 ** 3;

/**
 * A machine's number in its Provider (the `vmid` of its Machine): 100 + its position in the
 * list, so it lies where NodeClaim status numbers do.
 */
export const VMID_BASE = 100;

/** One bare-metal machine of a Redfish Provider, credentials resolved. */
export type RedfishMachine = {
  /** Its name in proxscale (the "host" of its claim). */
  name: string;
  zone: string;
  /** https://bmc[:port] */
  endpoint: string;
  /** The System's Id or UUID on that BMC. */
  systemId: string;
  username: string;
  password: () => string;
  trust: TrustMode;
};

/** Where seed ISOs are offered to BMCs (SeedServer in production). */
export type SeedOffers = {
  offer(provider: string, claim: string, bytes: Uint8Array, ttlMs: number): string;
  withdraw(provider: string, claim: string): void;
};

/** What the Redfish provider needs. */
export type RedfishProviderOptions = {
  provider: string;
  machines: RedfishMachine[];
  seeds: SeedOffers;
  /** How long a seed URL stays valid (default 10 minutes). */
  seedTtlMs?: number;
  /** How long a power-off may take before delete gives up for this pass (default 2 min). */
  powerOffWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Client tuning for tests (retries, task polling). */
  client?: Partial<ConstructorParameters<typeof RedfishClient>[0]>;
};

type Seen = {
  m: RedfishMachine;
  index: number;
  system: SystemInfo;
  media: MediaInfo;
  claim?: string;
};

/** The Redfish `redfish://<provider>/<uuid>` provider ID. */
export function redfishProviderId(provider: string, uuid: string): string {
  return `redfish://${provider}/${uuid}`;
}

/** Bare metal over Redfish, one Provider. */
export class RedfishProvider implements MachineProvider {
  readonly #o: RedfishProviderOptions;
  readonly #clients = new Map<string, RedfishClient>();
  readonly #breakers: CircuitBreakers;
  readonly #creating = new Map<string, Promise<Result<Machine, ProviderError>>>();
  readonly #sleep: (ms: number) => Promise<void>;
  /** Claim -> machine of the launches running in this process. */
  readonly #picks = new Map<string, string>();

  constructor(opts: RedfishProviderOptions) {
    this.#o = opts;
    this.#breakers = new CircuitBreakers({
      failureThreshold: 3,
      cooldownMs: 30_000,
      now: opts.now ?? Date.now,
    });
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async list(): Promise<Result<Machine[], ProviderError>> {
    const l = await this.listing();
    return l.ok ? ok(l.value.machines) : l;
  }

  async listing(): Promise<Result<Listing, ProviderError>> {
    const seen = await this.#survey();
    const machines: Machine[] = [];
    const unknownHosts: string[] = [];
    for (const s of seen) {
      if (!s.ok) unknownHosts.push(s.error.machine);
      else if (s.value.claim !== undefined) machines.push(this.#machine(s.value, s.value.claim));
    }
    return ok({ machines, unknownHosts: unknownHosts.sort() });
  }

  async inventory(_templates?: readonly MachineTemplate[]): Promise<Result<Host[], ProviderError>> {
    const seen = await this.#survey();
    return ok(seen.map((s, i): Host => {
      const m = this.#o.machines[i]!;
      const base = {
        name: m.name,
        provider: this.#o.provider,
        zone: m.zone,
        cpuOvercommit: 1,
        memoryOvercommit: 1,
        reserved: { cpu: 0, memory: 0 },
      };
      if (!s.ok) {
        return {
          ...base,
          online: false,
          capacity: { cpu: 0, memory: 0 },
          committed: { cpu: 0, memory: 0 },
        };
      }
      const cap = { cpu: s.value.system.cpus * 1000, memory: s.value.system.memoryGiB * GiB };
      return {
        ...base,
        online: true,
        capacity: cap,
        // A launch in flight here counts before its media shows on the BMC.
        committed: this.#free(s.value) && ![...this.#picks.values()].includes(m.name)
          ? { cpu: 0, memory: 0 }
          : cap,
      };
    }));
  }

  create(
    claim: NodeClaim,
    template: MachineTemplate,
    _provider: Provider,
    opts: CreateOptions = {},
  ): Promise<Result<Machine, ProviderError>> {
    const running = this.#creating.get(claim.name);
    if (running) return running;
    const p = this.#create(claim, template, opts).finally(() => {
      this.#creating.delete(claim.name);
      this.#picks.delete(claim.name);
    });
    this.#creating.set(claim.name, p);
    return p;
  }

  async delete(machine: Machine): Promise<Result<void, ProviderError>> {
    const m = this.#o.machines.find((x) => x.name === machine.host);
    if (!m) return ok(undefined); // not configured any more: nothing of ours to reach
    const s = await this.#look(m, this.#o.machines.indexOf(m));
    if (!s.ok) return err(s.error.error);
    const seen = s.value;
    if (seen.claim === undefined) return ok(undefined); // already returned to the free set
    if (seen.claim !== machine.claim) {
      return err({
        kind: "NotOwned",
        vmid: seen.index + VMID_BASE,
        host: m.name,
        message: `machine ${m.name} holds claim ${seen.claim}, not ${machine.claim}`,
      });
    }
    const c = this.#client(m);
    if (seen.system.powerState !== "Off") {
      if (seen.system.powerState !== "PoweringOff") {
        const off = await resetSystem(c, seen.system, "ForceOff");
        if (!off.ok && off.error.kind !== "conflict") return err(fail("power off", m, off.error));
      }
      const waited = await this.#waitPower(c, seen.system, "Off");
      if (!waited.ok) return waited;
    }
    const ej = await ejectMedia(c, seen.media);
    if (!ej.ok) return err(fail("eject media", m, ej.error));
    this.#o.seeds.withdraw(this.#o.provider, machine.claim);
    return ok(undefined);
  }

  /** Closes every BMC client. */
  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }

  async #create(
    claim: NodeClaim,
    template: MachineTemplate,
    opts: CreateOptions,
  ): Promise<Result<Machine, ProviderError>> {
    const seen = await this.#survey();
    // A launch this Provider began before (a restart mid-launch): finish it on that machine.
    let target = seen.find((s) => s.ok && s.value.claim === claim.name);
    if (!target) {
      const fits = (s: Seen) =>
        this.#free(s) && s.system.cpus * 1000 === claim.shape.cpu &&
        s.system.memoryGiB * GiB === claim.shape.memory &&
        !this.#busyElsewhere(s.m.name, claim.name);
      const planned = claim.host;
      const pick = seen.find((s) =>
        s.ok && (planned === undefined || s.value.m.name === planned) && fits(s.value)
      );
      if (!pick) {
        const why = reason(
          planned !== undefined ? "PlannedHostUnavailable" : "HostCapacityExhausted",
          planned !== undefined
            ? `machine ${planned} of Provider ${this.#o.provider} is not free or not of shape ${claim.shape.name}`
            : `no free machine of Provider ${this.#o.provider} is exactly ${claim.shape.name}`,
        );
        return err({ kind: "NoHost", reason: why, message: why.message });
      }
      target = pick;
    }
    if (!target.ok) throw new Error("unreachable");
    const t = target.value;
    this.#picks.set(claim.name, t.m.name);
    const c = this.#client(t.m);
    if (t.claim === undefined) {
      if (!opts.seedIso) {
        return err({
          kind: "InvalidTemplate",
          message:
            `MachineTemplate ${template.name}: bare metal boots from a seed ISO; set bootstrap.mode nocloudIso`,
        });
      }
      const built = await opts.seedIso.build({
        host: t.m.name,
        vmid: t.index + VMID_BASE,
        macs: {},
        providerID: redfishProviderId(this.#o.provider, t.system.uuid),
      });
      if (!built.ok) return err({ kind: "BootstrapFailed", message: built.error });
      const url = this.#o.seeds.offer(
        this.#o.provider,
        claim.name,
        built.value,
        this.#o.seedTtlMs ?? 600_000,
      );
      const ins = await insertMedia(c, t.media, url);
      if (!ins.ok) {
        this.#o.seeds.withdraw(this.#o.provider, claim.name);
        return err(fail("insert seed media", t.m, ins.error));
      }
    }
    if (t.system.powerState === "Off") {
      const fresh = await readSystem(c, t.system.path);
      if (!fresh.ok) return err(fail("read system", t.m, fresh.error));
      const boot = await setBootOnce(c, fresh.value, "Cd");
      if (!boot.ok) return err(fail("set one-time boot from CD", t.m, boot.error));
      const on = await resetSystem(c, fresh.value, "On");
      if (!on.ok && on.error.kind !== "conflict") return err(fail("power on", t.m, on.error));
    }
    return ok(
      this.#machine({ ...t, system: { ...t.system, powerState: "PoweringOn" } }, claim.name),
    );
  }

  /** Another launch in this process picked `machine` and has not shown on its BMC yet. */
  #busyElsewhere(machine: string, claim: string): boolean {
    return [...this.#picks.entries()].some(([c, m]) => m === machine && c !== claim);
  }

  #free(s: Seen): boolean {
    return s.claim === undefined && !s.media.inserted && s.system.powerState === "Off";
  }

  #machine(s: Seen, claim: string): Machine {
    const status: VmStatus = s.system.powerState === "On" || s.system.powerState === "PoweringOn"
      ? "running"
      : s.system.powerState === "Unknown"
      ? "unknown"
      : "stopped";
    return {
      vmid: s.index + VMID_BASE,
      host: s.m.name,
      provider: this.#o.provider,
      name: s.m.name,
      tags: [],
      status,
      size: { cpu: s.system.cpus * 1000, memory: s.system.memoryGiB * GiB },
      claim,
      providerID: redfishProviderId(this.#o.provider, s.system.uuid),
    };
  }

  async #survey(): Promise<Result<Seen, { machine: string; error: ProviderError }>[]> {
    return await Promise.all(this.#o.machines.map((m, i) => this.#look(m, i)));
  }

  async #look(
    m: RedfishMachine,
    index: number,
  ): Promise<Result<Seen, { machine: string; error: ProviderError }>> {
    const c = this.#client(m);
    const sys = await findSystem(c, m.systemId);
    if (!sys.ok) return err({ machine: m.name, error: fail("read system", m, sys.error) });
    const media = await findCdMedia(c, sys.value);
    if (!media.ok) {
      return err({ machine: m.name, error: fail("read virtual media", m, media.error) });
    }
    const mine = media.value.inserted ? parseSeedUrl(media.value.image) : undefined;
    const claim = mine?.provider === this.#o.provider ? mine.claim : undefined;
    return ok({
      m,
      index,
      system: sys.value,
      media: media.value,
      ...(claim !== undefined ? { claim } : {}),
    });
  }

  async #waitPower(
    c: RedfishClient,
    s: SystemInfo,
    want: "Off",
  ): Promise<Result<void, ProviderError>> {
    const now = this.#o.now ?? Date.now;
    const end = now() + (this.#o.powerOffWaitMs ?? 120_000);
    while (true) {
      const r = await readSystem(c, s.path);
      if (r.ok && r.value.powerState === want) return ok(undefined);
      if (now() > end) {
        return err({
          kind: "InProgress",
          vmid: 0,
          host: s.id,
          message: `System ${s.id} is not ${want} yet`,
        });
      }
      await this.#sleep(250);
    }
  }

  #client(m: RedfishMachine): RedfishClient {
    const key = `${m.endpoint}|${m.username}`;
    let c = this.#clients.get(key);
    if (!c) {
      c = new RedfishClient({
        endpoint: m.endpoint,
        username: m.username,
        password: m.password,
        trust: m.trust,
        breakers: this.#breakers,
        ...(this.#o.now ? { now: this.#o.now } : {}),
        ...this.#o.client,
      });
      this.#clients.set(key, c);
    }
    return c;
  }
}

function fail(step: string, m: RedfishMachine, e: RedfishError): ProviderError {
  const error: ApiFailure = {
    api: "Redfish",
    kind: e.kind,
    permanent: e.permanent,
    message: e.message,
    ...(e.status !== undefined ? { status: e.status } : {}),
  };
  return {
    kind: "Api",
    step: `${step} of machine ${m.name}`,
    error,
    message: `${step} of machine ${m.name}: ${e.message}`,
  };
}
