/**
 * Keeps the in-cluster configuration current: informers on Provider, MachineTemplate and
 * NodePool objects and on the settings ConfigMap; after every change (debounced) the whole set
 * is validated again through adapters/config/crd_source.ts and handed to the daemon, as a
 * Config or as the list of problems (the daemon keeps acting on the last good Config).
 */
import type { Config } from "../../core/model.ts";
import { ok, type Result } from "../../core/result.ts";
import { configFromObjects, type CrdProblem, SETTINGS_CONFIGMAP } from "../config/crd_source.ts";
import { DEFAULT_NAMESPACE } from "../config/crd_manifests.ts";
import type { Backoff } from "./backoff.ts";
import type { KubeClient } from "./client.ts";
import { Informer } from "./informer.ts";
import type { Log } from "./log.ts";

export type ConfigWatcherOptions = {
  namespace?: string;
  /** Quiet time after a change before revalidating (default 200 ms). */
  debounceMs?: number;
  backoff?: Backoff;
  watchdogMs?: number;
  log?: Log;
};

/** Watches configuration objects; `onConfig` gets every revalidated result. */
export class ConfigWatcher {
  #informers: Informer<unknown>[];
  #onConfig: (c: Result<Config, CrdProblem[]>) => void;
  #debounceMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    client: KubeClient,
    onConfig: (c: Result<Config, CrdProblem[]>) => void,
    opts: ConfigWatcherOptions = {},
  ) {
    this.#onConfig = onConfig;
    this.#debounceMs = opts.debounceMs ?? 200;
    const common = {
      client,
      translate: (o: unknown) => ok(o),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.watchdogMs !== undefined ? { watchdogMs: opts.watchdogMs } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    };
    const ns = opts.namespace ?? DEFAULT_NAMESPACE;
    this.#informers = [
      ...["providers", "machinetemplates", "nodepools", "tenants"].map((plural) =>
        new Informer<unknown>({
          ...common,
          path: `/apis/proxscale.io/v1alpha1/${plural}`,
          resource: plural,
          // A cluster without the Tenant CRD has no tenants; the other kinds are required.
          ...(plural === "tenants" ? { optional: true } : {}),
        })
      ),
      new Informer<unknown>({
        ...common,
        path: `/api/v1/namespaces/${ns}/configmaps`,
        resource: "configmaps",
        fieldSelector: `metadata.name=${SETTINGS_CONFIGMAP}`,
      }),
    ];
    for (const i of this.#informers) i.on(() => this.#schedule());
  }

  /** Starts watching; the first result comes once every informer has listed. */
  start(): void {
    this.#stopped = false;
    for (const i of this.#informers) i.start();
    Promise.all(this.#informers.map((i) => i.synced())).then(() => this.#schedule());
  }

  /** The configuration objects as listed (for the history: adapters/kubernetes/config_history.ts). */
  objects(): unknown[] {
    return this.#informers.flatMap((i) => i.list());
  }

  /** The current configuration, computed now from the caches. */
  current(): Result<Config, CrdProblem[]> {
    return configFromObjects(this.#informers.flatMap((i) => i.list()));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#informers.map((i) => i.stop()));
  }

  #schedule() {
    if (this.#stopped || !this.#informers.every((i) => i.hasSynced)) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (!this.#stopped) this.#onConfig(this.current());
    }, this.#debounceMs);
  }
}
