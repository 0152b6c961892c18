/**
 * Host health across passes: a Proxmox host that goes offline or stops answering is reported
 * once when it goes and once when it comes back (log line, Event on its Provider), and listed in
 * `down()` for status and metrics. A host down makes only its own VMs unknown: the pass goes on
 * with the other hosts, and a provider that cannot be read at all leaves Kubernetes-only work
 * (registration, initialisation, disruption) running.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { Host, HostMaintenance } from "../core/model.ts";
import { type Reason, reason } from "../core/reason.ts";
import type { DecisionReport } from "./context.ts";

/** Where a change of host health is told. */
export type HostHealthSinks = {
  report: (d: DecisionReport) => void;
  event: (provider: string, why: Reason) => Promise<void>;
};

/** One host that cannot be read now, and why. */
export type HostDown = { provider: string; host: string; since: number; reason: Reason };

/** A host the provider itself reports in maintenance (PVE's HA node maintenance). */
export type HostInMaintenance = { provider: string; host: string; maintenance: HostMaintenance };

/** Remembers which hosts were down last pass; reports the changes. */
export class HostHealth {
  #down = new Map<string, HostDown>();
  #maintenance: HostInMaintenance[] = [];
  readonly #sinks: HostHealthSinks;

  constructor(sinks: HostHealthSinks) {
    this.#sinks = sinks;
  }

  /**
   * Takes one pass's hosts (and the providers that could not be read at all, whose hosts are
   * then all down with the provider's message).
   */
  async observe(
    hosts: readonly Host[],
    unavailable: ReadonlyMap<string, string>,
    configured: readonly { provider: string; host: string }[],
    now: number,
  ): Promise<void> {
    this.#maintenance = hosts.flatMap((h) =>
      h.maintenance ? [{ provider: h.provider, host: h.name, maintenance: h.maintenance }] : []
    );
    const next = new Map<string, HostDown>();
    const seen = new Map(hosts.map((h) => [`${h.provider}/${h.name}`, h]));
    for (const { provider, host } of configured) {
      const key = `${provider}/${host}`;
      const h = seen.get(key);
      const providerDown = unavailable.get(provider);
      if (h?.online && providerDown === undefined) continue;
      const why = providerDown !== undefined
        ? `Provider ${provider} cannot be read (${providerDown}): host ${host} is unknown`
        : `host ${host} of Provider ${provider} is offline or not answering: its VMs are ` +
          "unknown (kept as they are, never deleted) and no VM is placed there";
      next.set(key, {
        provider,
        host,
        since: this.#down.get(key)?.since ?? now,
        reason: reason("HostUnavailable", why),
      });
    }
    for (const [key, d] of next) {
      if (this.#down.has(key)) continue;
      this.#sinks.report({ time: now, what: "HostUnavailable", host: d.host, reason: d.reason });
      await this.#sinks.event(d.provider, d.reason);
    }
    for (const [key, d] of this.#down) {
      if (next.has(key)) continue;
      const back = reason(
        "HostAvailable",
        `host ${d.host} of Provider ${d.provider} answers again after ${
          Math.round((now - d.since) / 1000)
        } s`,
      );
      this.#sinks.report({ time: now, what: "HostAvailable", host: d.host, reason: back });
      await this.#sinks.event(d.provider, back);
    }
    this.#down = next;
  }

  /** Hosts the provider reported in maintenance on the last pass (not the configured ones). */
  maintenance(): HostInMaintenance[] {
    return [...this.#maintenance];
  }

  /** Hosts down as of the last pass. */
  down(): HostDown[] {
    return [...this.#down.values()];
  }
}
