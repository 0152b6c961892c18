/**
 * An in-memory machine provider for the daemon's unit tests: it keeps its VMs in a Map, records
 * every call, can be told to fail the next call of a method, and opens no socket. It behaves as
 * the port promises (create is idempotent per claim, deleting a VM already gone succeeds, a VM
 * on an unreachable host is listed as unknown), without any one provider's API behind it; the
 * real adapters keep their contract suites against the fake servers.
 *
 * May import: core/, daemon/ports/.
 */
import type { Host, MachineTemplate, NodeClaim, Provider } from "../../core/model.ts";
import { reason } from "../../core/reason.ts";
import { err, ok, type Result } from "../../core/result.ts";
import type {
  CreateOptions,
  Listing,
  Machine,
  MachineProvider,
  ProviderError,
  SeedIsoRef,
} from "../ports/provider.ts";

/** The port's methods, by name. */
export type ProviderMethod =
  | "list"
  | "listing"
  | "inventory"
  | "create"
  | "delete"
  | "releaseSeedIso";

/** One recorded call: the method, and the claim, VMID and host it was about when it had one. */
export type ProviderCall = { method: ProviderMethod; claim?: string; vmid?: number; host?: string };

/** How the fake provider starts: its name, hosts, VMID range and host capacity. */
export type FakeProviderOptions = {
  name?: string;
  hosts?: string[];
  vmidRange?: { lower: number; upper: number };
  /** Per host; default 16 cores and 64 GiB. */
  capacity?: { cpu: number; memory: number };
};

const GiB = 2 ** 30;

/** A NodeClaim of pool `general` on Provider `fake` (2 cores, 4 GiB), for tests to adjust. */
export function fakeClaim(name: string, over: Partial<NodeClaim> = {}): NodeClaim {
  return {
    name,
    nodePool: "general",
    machineTemplate: "tpl",
    provider: "fake",
    shape: { name: "m", cpu: 2000, memory: 4 * GiB },
    createdAt: 0,
    labels: {},
    taints: [],
    startupTaints: [],
    conditions: [],
    ...over,
  };
}

/** An in-memory MachineProvider that records its calls and fails on request. */
export class FakeProvider implements MachineProvider {
  readonly name: string;
  readonly hosts: string[];
  /** The VMs that exist, by VMID. */
  readonly machines = new Map<number, Machine>();
  /** Every call, in order. */
  readonly calls: ProviderCall[] = [];
  /** Hosts that cannot be reached: their VMs are unknown, neither listed nor absent. */
  readonly unreachable = new Set<string>();
  readonly #range: { lower: number; upper: number };
  readonly #capacity: { cpu: number; memory: number };
  readonly #failures = new Map<ProviderMethod, ProviderError[]>();

  constructor(opts: FakeProviderOptions = {}) {
    this.name = opts.name ?? "fake";
    this.hosts = opts.hosts ?? ["host1", "host2"];
    this.#range = opts.vmidRange ?? { lower: 1000, upper: 1999 };
    this.#capacity = opts.capacity ?? { cpu: 16_000, memory: 64 * GiB };
  }

  /** The next call of `method` fails with `error` (queued: several calls, several errors). */
  failNext(method: ProviderMethod, error: ProviderError): void {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), error]);
  }

  /** Puts a VM of `claim` on `host` as if it had been made earlier (by another daemon). */
  seed(claim: string, host: string, vmid?: number): Machine {
    vmid ??= this.#freeVmid();
    if (vmid === undefined) throw new Error("the fake provider's VMID range is full");
    const m: Machine = {
      vmid,
      host,
      provider: this.name,
      name: claim,
      tags: ["proxscale"],
      status: "running",
      size: { cpu: 2000, memory: 4 * GiB },
      claim,
    };
    this.machines.set(vmid, m);
    return m;
  }

  /** The calls of one method, in order. */
  callsOf(method: ProviderMethod): ProviderCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  list(): Promise<Result<Machine[], ProviderError>> {
    return this.#call({ method: "list" }, () => ok(this.#visible()));
  }

  listing(): Promise<Result<Listing, ProviderError>> {
    return this.#call({ method: "listing" }, () =>
      ok({
        machines: this.#visible(),
        unknownHosts: this.hosts.filter((h) => this.unreachable.has(h)),
      }));
  }

  inventory(): Promise<Result<Host[], ProviderError>> {
    return this.#call({ method: "inventory" }, () =>
      ok(this.hosts.map((name) => {
        const on = [...this.machines.values()].filter((m) => m.host === name);
        return {
          name,
          provider: this.name,
          zone: name,
          online: !this.unreachable.has(name),
          capacity: { ...this.#capacity },
          cpuOvercommit: 1,
          memoryOvercommit: 1,
          reserved: { cpu: 0, memory: 0 },
          committed: {
            cpu: on.reduce((s, m) => s + m.size.cpu, 0),
            memory: on.reduce((s, m) => s + m.size.memory, 0),
          },
        };
      })));
  }

  create(
    claim: NodeClaim,
    _template: MachineTemplate,
    _provider: Provider,
    opts?: CreateOptions,
  ): Promise<Result<Machine, ProviderError>> {
    return this.#call({ method: "create", claim: claim.name }, async () => {
      const existing = [...this.machines.values()].find((m) => m.claim === claim.name);
      if (existing) return ok(existing);
      const host = claim.host ?? this.hosts.find((h) => !this.unreachable.has(h));
      if (host === undefined || this.unreachable.has(host)) {
        const why = claim.host === undefined
          ? reason("HostCapacityExhausted", `no reachable host for ${claim.name}`)
          : reason("PlannedHostUnavailable", `planned host ${claim.host} cannot be reached`);
        return err({ kind: "NoHost", reason: why, message: why.message });
      }
      const vmid = this.#freeVmid();
      if (vmid === undefined) {
        const { lower, upper } = this.#range;
        return err({
          kind: "VmidRangeExhausted",
          lower,
          upper,
          blocked: this.machines.size,
          message: `no free VMID in ${lower}-${upper}`,
        });
      }
      const recorded = await opts?.recordVmid?.(vmid, host);
      if (recorded && !recorded.ok) {
        return err({ kind: "VmidNotRecorded", vmid, message: recorded.error });
      }
      if (opts?.seedIso) {
        const built = await opts.seedIso.build({ host, vmid, macs: { net0: "BC:24:11:00:00:01" } });
        if (!built.ok) return err({ kind: "BootstrapFailed", message: built.error });
      }
      const m: Machine = {
        ...this.seed(claim.name, host, vmid),
        size: { cpu: claim.shape.cpu, memory: claim.shape.memory },
      };
      this.machines.set(vmid, m);
      return ok(m);
    });
  }

  delete(machine: Machine): Promise<Result<void, ProviderError>> {
    const { vmid, host, claim } = machine;
    return this.#call({ method: "delete", claim, vmid, host }, () => {
      const there = this.machines.get(vmid);
      if (!there) return ok(undefined);
      if (there.claim !== claim || there.host !== host) {
        return err({
          kind: "NotOwned",
          vmid,
          host,
          message: `VM ${vmid} on ${host} belongs to ${there.claim}, not ${claim}`,
        });
      }
      this.machines.delete(vmid);
      return ok(undefined);
    });
  }

  releaseSeedIso(
    claim: string,
    _iso: SeedIsoRef,
  ): Promise<Result<{ detached: boolean; deleted: string[] }, ProviderError>> {
    return this.#call({ method: "releaseSeedIso", claim }, () => {
      const vm = [...this.machines.values()].find((m) => m.claim === claim);
      return ok({ detached: vm !== undefined, deleted: [] });
    });
  }

  async #call<T>(
    call: ProviderCall,
    run: () => Result<T, ProviderError> | Promise<Result<T, ProviderError>>,
  ): Promise<Result<T, ProviderError>> {
    this.calls.push(call);
    const queued = this.#failures.get(call.method);
    const failure = queued?.shift();
    if (failure) return err(failure);
    return await run();
  }

  #visible(): Machine[] {
    return [...this.machines.values()].filter((m) => !this.unreachable.has(m.host));
  }

  #freeVmid(): number | undefined {
    for (let id = this.#range.lower; id <= this.#range.upper; id++) {
      if (!this.machines.has(id)) return id;
    }
    return undefined;
  }
}
