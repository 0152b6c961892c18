/**
 * The daemon's PVE connections, rebuilt on a hot reload: when a Provider's endpoint, token
 * (id or secret reference) or TLS settings change, or a Provider is added, a new client and
 * MachineProvider are made and swapped into the map the daemon reads (`ctx.providers`), so
 * every job that starts afterwards uses them. A job already running keeps the provider it
 * looked up; the old client is therefore not closed at once but retired and closed with the
 * daemon (closing it under an in-flight call would fail that call). A connection that cannot
 * be made (unreadable secret, CA file) leaves the old one in use and is reported. A Provider
 * removed from the configuration stays connected: claims made by it still need their VMs
 * deleted.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { Provider } from "../core/model.ts";
import type { Result } from "../core/result.ts";
import type { MachineProvider } from "./ports/provider.ts";

/** A connected Provider: what jobs call, and how to close its client. */
export type ProviderConnection = { provider: MachineProvider; close(): void };

/** Makes the connection of one Provider (production: connectPveClient + ProxmoxProvider). */
export type ConnectProvider = (p: Provider) => Promise<Result<ProviderConnection, string>>;

/** What one update did, for the reload log. */
export type ReconnectOutcome = {
  reconnected: string[];
  failed: { provider: string; message: string }[];
};

/** The fields whose change needs a new client; other Provider fields are read per call. */
export function connectionKey(p: Provider): string {
  return JSON.stringify([p.endpoint, p.tokenId, p.tokenSecret, p.tls, p.redfish]);
}

/** Owns the providers map handed to the daemon and the clients behind it. */
export class ProviderConnections {
  /** The map the daemon reads; entries are replaced in place on reconnect. */
  readonly providers = new Map<string, MachineProvider>();
  readonly #connect: ConnectProvider;
  readonly #keys = new Map<string, string>();
  readonly #closers = new Map<string, () => void>();
  readonly #retired: (() => void)[] = [];
  #chain: Promise<unknown> = Promise.resolve();

  constructor(connect: ConnectProvider) {
    this.#connect = connect;
  }

  /** Connects every Provider of the starting configuration; the first failure is returned. */
  async start(providers: readonly Provider[]): Promise<Result<void, string>> {
    const r = await this.update(providers);
    const f = r.failed[0];
    return f
      ? { ok: false, error: `provider ${f.provider}: ${f.message}` }
      : { ok: true, value: undefined };
  }

  /**
   * Rebuilds the connections of Providers that are new or whose connection fields changed.
   * Updates run one after another, so a quick second reload cannot be overtaken by the first.
   */
  update(providers: readonly Provider[]): Promise<ReconnectOutcome> {
    const run = this.#chain.then(() => this.#update(providers));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #update(providers: readonly Provider[]): Promise<ReconnectOutcome> {
    const out: ReconnectOutcome = { reconnected: [], failed: [] };
    for (const p of providers) {
      const key = connectionKey(p);
      if (this.#keys.get(p.name) === key) continue;
      const c = await this.#connect(p);
      if (!c.ok) {
        out.failed.push({ provider: p.name, message: c.error });
        continue;
      }
      const old = this.#closers.get(p.name);
      if (old) this.#retired.push(old);
      this.providers.set(p.name, c.value.provider);
      this.#closers.set(p.name, () => c.value.close());
      this.#keys.set(p.name, key);
      out.reconnected.push(p.name);
    }
    return out;
  }

  /** Closes every client, current and retired (after the daemon stopped its jobs). */
  async close(): Promise<void> {
    await this.#chain;
    for (const c of [...this.#retired, ...this.#closers.values()]) c();
    this.#retired.length = 0;
    this.#closers.clear();
  }
}
