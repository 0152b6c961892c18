/**
 * Host power in the running daemon: after each pass's reconcile, the facts host power needs
 * are read (the PVE cluster's members from each Provider with `hostPower`, the BMC of each host
 * that has one), core/host_power.ts decides, and the decisions are carried out through the
 * HostPowerPort when this replica acts. Each decision, refusal and failure is reported with
 * its reason (log line, Event on the Provider, and for requests sent
 * `proxscale_host_power_actions_total`); a
 * refusal is reported when it changes, not every pass.
 *
 * May import: core/, adapters/, daemon/.
 */
import {
  decideHostPower,
  type HostPowerFact,
  type HostPowerPlan,
  type HostPowerState,
  initialHostPowerState,
} from "../core/host_power.ts";
import { withHostMaintenance } from "../core/host_maintenance.ts";
import type { Config, Resources, Snapshot } from "../core/model.ts";
import type { ProvisionPlan } from "../core/provisioning.ts";
import { type Reason, reason } from "../core/reason.ts";
import { providerSubject } from "../adapters/kubernetes/events.ts";
import type { DaemonContext } from "./context.ts";
import type { HostPowerPort } from "./ports/host_power.ts";

/** A host offline on purpose, as the status document shows it. */
export type HostPowered = {
  provider: string;
  host: string;
  power: "off" | "booting" | "shutting down";
};

/** Host power state across passes, and its one step per pass. */
export class HostPowerManager {
  #state: HostPowerState = initialHostPowerState();
  /** Capacity of each host as last seen online (PVE shows none for an offline host). */
  readonly #seen = new Map<string, Resources>();
  /** The last refusal reported per host, so an unchanged one is not repeated. */
  readonly #held = new Map<string, string>();
  /** Hosts with a refusal or failure reported (or repeated) in the running pass. */
  #current = new Set<string>();
  /** Hosts whose BMC said off at the last reading. */
  #off = new Set<string>();
  /** This pass's BMC readings (readBmcs), by `provider/host`; failures as their message. */
  #readings = new Map<string, Awaited<ReturnType<HostPowerPort["read"]>>>();

  constructor(readonly ctx: DaemonContext, readonly port: HostPowerPort) {}

  /**
   * Whether the host is offline on purpose: its BMC reported it off, or proxscale asked it to
   * power on (booting) or off. Host health does not report such a host as unavailable.
   */
  offlineByPower(provider: string, host: string): boolean {
    const k = `${provider}/${host}`;
    return this.#off.has(k) || this.#state.poweringOn[k] !== undefined ||
      this.#state.poweringOff[k] !== undefined;
  }

  /** Hosts offline on purpose and why: powered off, booting, or shutting down (status). */
  powerStates(): HostPowered[] {
    const out = new Map<string, HostPowered["power"]>();
    for (const k of this.#off) out.set(k, "off");
    for (const k of Object.keys(this.#state.poweringOn)) out.set(k, "booting");
    for (const k of Object.keys(this.#state.poweringOff)) out.set(k, "shutting down");
    return [...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, power]) => {
      const i = k.indexOf("/");
      return { provider: k.slice(0, i), host: k.slice(i + 1), power };
    });
  }

  /** The state kept for the next pass (status, tests). */
  get state(): HostPowerState {
    return this.#state;
  }

  /**
   * Reads the BMC of every configured host with one (once per pass, before host health is
   * judged, so that a host powered off is known as such from the first pass).
   */
  async readBmcs(config: Config): Promise<void> {
    this.#readings = new Map();
    for (const p of config.providers) {
      if (!p.hostPower) continue;
      for (const h of p.hosts) {
        if (!h.power) continue;
        const k = `${p.name}/${h.name}`;
        const r = await this.port.read(h.name, h.power);
        this.#readings.set(k, r);
        if (r.ok && r.value.power === "off") this.#off.add(k);
        else if (r.ok) this.#off.delete(k);
      }
    }
  }

  /** Reads facts, decides and (when `act`) carries out; undefined when no Provider has hostPower. */
  async pass(
    observed: Snapshot,
    config: Config,
    plan: ProvisionPlan,
    act: boolean,
  ): Promise<HostPowerPlan | undefined> {
    const providers = config.providers.filter((p) => p.hostPower !== undefined);
    if (providers.length === 0) return undefined;
    const snapshot = withHostMaintenance(observed, config.providers);
    this.#current = new Set();
    for (const h of snapshot.hosts) {
      if (h.online && h.capacity.cpu > 0) this.#seen.set(`${h.provider}/${h.name}`, h.capacity);
    }
    const facts: HostPowerFact[] = [];
    for (const p of providers) {
      const members = await this.ctx.providers.get(p.name)?.clusterMembers?.();
      if (!members?.ok) {
        this.#report(
          p.name,
          "",
          reason(
            "HostPowerHeld",
            `no host of ${p.name} is powered on or off this pass: its cluster members could not ` +
              `be read (${members ? members.error.message : "the provider has no cluster"})`,
          ),
        );
        continue;
      }
      const configured = new Map(p.hosts.map((h) => [h.name, h]));
      for (const m of members.value) {
        const power = configured.get(m.name)?.power;
        const fact: HostPowerFact = {
          provider: p.name,
          host: m.name,
          votes: m.votes,
          online: m.online,
          power: "unknown",
          haResources: m.haResources,
          ...(m.guests !== undefined ? { guests: m.guests } : {}),
        };
        if (power) {
          const k = `${p.name}/${m.name}`;
          const r = this.#readings.get(k) ?? await this.port.read(m.name, power);
          if (r.ok) {
            fact.power = r.value.power;
            if (r.value.power === "off") this.#off.add(k);
            else this.#off.delete(k);
            const cap = r.value.capacity ?? this.#seen.get(`${p.name}/${m.name}`);
            if (cap) fact.capacity = cap;
          } else {
            this.#report(
              p.name,
              m.name,
              reason("HostPowerFailed", `reading the BMC of ${m.name}: ${r.error.message}`),
            );
          }
        }
        facts.push(fact);
      }
    }
    const decided = decideHostPower({ snapshot, config, plan, facts, state: this.#state });
    this.#state = decided.state;
    for (const h of decided.holds) this.#report(h.provider, h.host, h.reason);
    this.#readings = new Map();
    for (const d of decided.decisions) {
      const cfg = config.providers.find((p) => p.name === d.provider)?.hosts.find((h) =>
        h.name === d.host
      )?.power;
      const base = {
        time: snapshot.now,
        what: d.kind,
        provider: d.provider,
        host: d.host,
        passAt: snapshot.now,
      };
      if (!act || !cfg) {
        // Decided again each pass while this replica does not act: reported once.
        const k = `${d.provider}/${d.host}/dry-${d.kind}`;
        this.#current.add(k);
        if (!this.#held.has(k)) this.ctx.report({ ...base, reason: d.reason, dryRun: true });
        this.#held.set(k, d.reason.message);
        this.#forget(d.provider, d.host);
        continue;
      }
      const r = await this.#traced(d, () => this.port.set(d.host, cfg, d.kind === "PowerOn"));
      if (r.ok) {
        this.ctx.report({ ...base, reason: d.reason, outcome: "succeeded" });
        await this.ctx.events?.record(providerSubject(d.provider), d.reason);
      } else {
        const why = reason(
          "HostPowerFailed",
          `${d.kind === "PowerOn" ? "powering on" : "powering off"} ${d.host} failed: ` +
            `${r.error.message} (decided because ${d.reason.message})`,
        );
        this.ctx.report({ ...base, reason: why, outcome: "failed" });
        await this.ctx.events?.record(providerSubject(d.provider), why);
        this.#forget(d.provider, d.host);
      }
    }
    // A refusal (or dry run) no longer current is forgotten: reported again if it comes back.
    for (const k of [...this.#held.keys()]) if (!this.#current.has(k)) this.#held.delete(k);
    return decided;
  }

  /** A request not sent: the next pass decides again from scratch. */
  #forget(provider: string, host: string): void {
    const k = `${provider}/${host}`;
    delete this.#state.poweringOn[k];
    delete this.#state.poweringOff[k];
  }

  /**
   * The BMC request inside an `action PowerOn|PowerOff` span that names the host and carries the
   * decision's reason, as the executor's spans do for claim actions; a failed request fails the
   * span with HostPowerFailed.
   */
  async #traced<T extends { ok: boolean; error?: { message: string } }>(
    d: { kind: "PowerOn" | "PowerOff"; provider: string; host: string; reason: Reason },
    set: () => Promise<T>,
  ): Promise<T> {
    const tracing = this.ctx.tracing;
    if (!tracing) return await set();
    const done = await tracing.action(
      d.kind,
      { provider: d.provider, host: d.host, reason: d.reason },
      async (span) => {
        const r = await set();
        if (!r.ok) span.fail({ kind: "HostPowerFailed", message: r.error?.message ?? "" });
        // Wrapped, so the span helper does not fail the span again with the bare Result.
        return { r };
      },
    );
    return done.r;
  }

  #report(provider: string, host: string, why: Reason): void {
    const k = `${provider}/${host}/${why.code}`;
    this.#current.add(k);
    if (this.#held.get(k) === why.message) return;
    this.#held.set(k, why.message);
    this.ctx.report({
      time: this.ctx.clock.now(),
      what: why.code,
      provider,
      ...(host ? { host } : {}),
      reason: why,
    });
    void this.ctx.events?.record(providerSubject(provider), why);
  }
}
