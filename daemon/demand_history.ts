/**
 * The daemon's demand history (core/forecast_history.ts) for pools with scaleUp.forecast: every
 * pass records each pool's demand; the first pass reads what is stored in the cluster
 * (adapters/kubernetes/demand_history_store.ts) and merges it in, so a restart keeps it; the
 * leader writes it back at most every `persistEveryMs`, and a follower reads it back as often,
 * so the replica that takes over after a failover has what the old leader recorded. A read or a
 * write that fails is reported and tried again next time; the pass goes on.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { Config, Snapshot } from "../core/model.ts";
import {
  demandByPool,
  type DemandHistory,
  emptyHistory,
  mergeHistory,
  recordDemand,
} from "../core/forecast_history.ts";
import {
  readDemandHistories,
  writeDemandHistories,
} from "../adapters/kubernetes/demand_history_store.ts";
import { describeKubeError, type KubeClient } from "../adapters/kubernetes/client.ts";

/** Default interval between writes (leader) or reads (followers), ms. */
export const DEFAULT_PERSIST_MS = 60_000;

/** Records, restores and shares the pools' demand history. */
export class DemandRecorder {
  #h: Record<string, DemandHistory> = {};
  #loaded = false;
  #lastSync = -Infinity;
  readonly #kube: KubeClient;
  readonly #namespace: string;
  readonly #every: number;
  readonly #onError: (message: string) => void;

  constructor(
    kube: KubeClient,
    namespace: string,
    o: { persistEveryMs?: number; onError?: (message: string) => void } = {},
  ) {
    this.#kube = kube;
    this.#namespace = namespace;
    this.#every = o.persistEveryMs ?? DEFAULT_PERSIST_MS;
    this.#onError = o.onError ?? (() => {});
  }

  /** One pass: restore (first time), record, then write (leader) or read (follower) when due. */
  async observe(snapshot: Snapshot, config: Config, leader: boolean): Promise<void> {
    if (!this.#loaded) this.#loaded = await this.#read();
    for (const [pool, d] of Object.entries(demandByPool(snapshot, config))) {
      this.#h[pool] = recordDemand(this.#h[pool] ?? emptyHistory(), snapshot.now, d);
    }
    if (snapshot.now - this.#lastSync < this.#every) return;
    this.#lastSync = snapshot.now;
    if (leader) await this.#write();
    else await this.#read();
  }

  /** The histories by pool, as the core reads them from the Snapshot. */
  histories(): Record<string, DemandHistory> {
    return this.#h;
  }

  /** Writes now (leader): also on a clean stop, so a restart loses nothing. */
  async flush(): Promise<void> {
    if (Object.keys(this.#h).length > 0) await this.#write();
  }

  async #read(): Promise<boolean> {
    const r = await readDemandHistories(this.#kube, this.#namespace);
    if (!r.ok) {
      this.#onError(`reading the demand history: ${describeKubeError(r.error)}`);
      return false;
    }
    for (const [pool, stored] of Object.entries(r.value)) {
      this.#h[pool] = this.#h[pool] ? mergeHistory(this.#h[pool]!, stored) : stored;
    }
    return true;
  }

  async #write(): Promise<void> {
    const w = await writeDemandHistories(this.#kube, this.#namespace, this.#h);
    if (!w.ok) this.#onError(`writing the demand history: ${describeKubeError(w.error)}`);
  }
}
