/**
 * The daemon's side of launch backoff (core/launch_backoff.ts): remembers permanent launch
 * failures per NodePool and cause and the NodeClaims each pool created, answers whether a pool
 * may create a NodeClaim now, and on each change writes the pool's LaunchFailing condition and a
 * Warning Event on the NodePool. The configuration digest of a pool covers the pool, its
 * MachineTemplate and its Provider, so fixing any of them (hot reload) lifts the backoff at once.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { Config } from "../core/model.ts";
import { reason } from "../core/reason.ts";
import { fnv1a, stableJson } from "../core/hash.ts";
import {
  activeBackoffs,
  DEFAULT_LAUNCH_BACKOFF,
  initialLaunchBackoff,
  type LaunchBackoffSettings,
  type LaunchGate,
  launchGate,
  recordClaimCreated,
  recordLaunchSuccess,
  recordPermanentFailure,
} from "../core/launch_backoff.ts";
import { setConfigStatus } from "../adapters/kubernetes/config_status_writer.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import { type EventRecorder, nodePoolSubject } from "../adapters/kubernetes/events.ts";

/** What a pool's launches are made from: a change to any of it lifts the backoff. */
export function poolDigest(config: Config, pool: string): string {
  const p = config.nodePools.find((x) => x.name === pool);
  const t = config.machineTemplates.find((x) => x.name === p?.machineTemplate);
  const v = config.providers.find((x) => x.name === t?.provider);
  return fnv1a(stableJson({ p: p ?? null, t: t ?? null, v: v ?? null })).toString(16);
}

/** Per-pool launch backoff and claim rate, with its condition and Event writes. */
export class LaunchGuard {
  #state = initialLaunchBackoff();

  constructor(
    private readonly o: {
      config: () => Config;
      now: () => number;
      kube?: KubeClient;
      events?: EventRecorder;
    },
  ) {}

  #settings(): LaunchBackoffSettings {
    return this.o.config().settings.launchBackoff ?? DEFAULT_LAUNCH_BACKOFF;
  }

  /** May `pool` create a NodeClaim now? */
  gate(pool: string): LaunchGate {
    const now = this.o.now();
    return launchGate(this.#state, pool, poolDigest(this.o.config(), pool), now, this.#settings());
  }

  /** A NodeClaim of `pool` was created. */
  created(pool: string): void {
    this.#state = recordClaimCreated(this.#state, pool, this.o.now());
  }

  /** A launch of `pool` failed for a reason retrying cannot heal. */
  async failed(pool: string, cause: string, message: string): Promise<void> {
    const config = this.o.config();
    this.#state = recordPermanentFailure(
      this.#state,
      pool,
      cause,
      message,
      poolDigest(config, pool),
      this.o.now(),
      this.#settings(),
    );
    const b = activeBackoffs(this.#state, pool, poolDigest(config, pool))
      .find((x) => x.cause === cause)!;
    const why = reason(
      "LaunchFailing",
      `launches of NodePool ${pool} fail and retrying will not help (${cause}: ${message}); ` +
        `${b.failures} in a row, next try at ${new Date(b.until).toISOString()} or when the ` +
        `configuration changes`,
    );
    await this.o.events?.record(nodePoolSubject(pool), why);
    await this.#condition(pool, "True", cause.replace(/[^A-Za-z0-9]/g, ""), why.message);
  }

  /** A launch of `pool` succeeded: its backoff ends, its condition goes False. */
  async succeeded(pool: string): Promise<void> {
    const had = this.#state.backoffs[pool] !== undefined;
    this.#state = recordLaunchSuccess(this.#state, pool);
    if (had) await this.#condition(pool, "False", "Launched", `a launch of ${pool} succeeded`);
  }

  /** Pools backing off now, for status and metrics. */
  backingOff(): string[] {
    const config = this.o.config();
    const now = this.o.now();
    return config.nodePools.map((p) => p.name).filter((p) =>
      activeBackoffs(this.#state, p, poolDigest(config, p)).some((b) => b.until > now)
    );
  }

  async #condition(pool: string, status: "True" | "False", why: string, message: string) {
    if (!this.o.kube) return;
    // A pool that lives only in the configuration file has no object to carry it (404). A
    // failed write is not retried here: the Warning Event already told, and the condition is
    // written again at the pool's next failure or success.
    await setConfigStatus(this.o.kube, "nodepools", pool, {
      conditions: [{
        type: "LaunchFailing",
        status,
        reason: why || "LaunchFailing",
        message,
        lastTransitionTime: this.o.now(),
      }],
    }, this.o.now);
  }
}
