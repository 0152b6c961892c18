/**
 * Hot reload of the configuration, from the YAML file (polled: mtime and content, which also
 * catches the symlink swap of a mounted ConfigMap) or from the CRDs (the ConfigWatcher's
 * informers). A new configuration that validates is handed to the daemon (`setConfig`; the
 * next pass uses it) and logged; one that does not is rejected: the validation errors go to
 * the log and to a Warning Event (reason ConfigInvalid) on the object at fault, and the daemon
 * keeps acting on the last good configuration. `state()` feeds `proxscale status`.
 *
 * Provider connections (endpoint, token, TLS): with `reconnect` (daemon/provider_connections.ts)
 * a changed or added Provider gets a new PVE client before the configuration naming it is
 * applied, so the next job uses the new credentials; without it the change is logged as needing
 * a restart.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { Config, Provider } from "../core/model.ts";
import { reason } from "../core/reason.ts";
import type { Result } from "../core/result.ts";
import { formatProblem, parseConfigText } from "../adapters/config/load.ts";
import { type CrdProblem, formatCrdProblem } from "../adapters/config/crd_source.ts";
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import { ConfigWatcher, type ConfigWatcherOptions } from "../adapters/kubernetes/config_watcher.ts";
import type { EventSubject } from "../adapters/kubernetes/events.ts";
import type { ReloadState } from "./status_report.ts";
import type { ReconnectOutcome } from "./provider_connections.ts";

/** Where the reloader reports (a telemetry Logger fits). */
export type ReloadLog = {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
};

export type ReloaderOptions = {
  /** The daemon's `setConfig`. */
  apply: (config: Config) => void;
  log?: ReloadLog;
  /** Events on rejection (an EventRecorder). */
  events?: {
    record(subject: EventSubject, r: ReturnType<typeof reason>): Promise<{ ok: boolean }>;
  };
  /** Subject of Events for a file source (e.g. the daemon's Pod); none: log only. */
  subject?: EventSubject;
  now?: () => number;
  /** Rebuilds the PVE connections of new or changed Providers (ProviderConnections.update). */
  reconnect?: (providers: readonly Provider[]) => Promise<ReconnectOutcome>;
};

/** One problem of a rejected configuration, and the object it is about (CRD sources). */
export type ReloadProblem = { text: string; subject?: EventSubject };

const quiet: ReloadLog = { info() {}, warn() {}, error() {} };

function providerKey(p: Provider): string {
  return JSON.stringify([p.name, p.endpoint, p.tokenId, p.tokenSecret, p.tls, p.redfish]);
}

/** Decides whether an offered configuration replaces the one in use. */
export class ConfigReloader {
  readonly #o: ReloaderOptions;
  readonly #log: ReloadLog;
  readonly #now: () => number;
  #current: Config;
  #currentText: string;
  #state: ReloadState;
  /** Pending reconnect-then-apply steps; later applies queue behind them to keep order. */
  #pending: Promise<void> | undefined;

  constructor(initial: Config, source: string, o: ReloaderOptions) {
    this.#o = o;
    this.#log = o.log ?? quiet;
    this.#now = o.now ?? Date.now;
    this.#current = initial;
    this.#currentText = JSON.stringify(initial);
    this.#state = { source, loadedAt: this.#now(), generation: 1 };
  }

  /** The configuration in use. */
  current(): Config {
    return this.#current;
  }

  state(): ReloadState {
    return structuredClone(this.#state);
  }

  /** A valid new configuration: applied unless identical. */
  accept(config: Config): "applied" | "unchanged" {
    const text = JSON.stringify(config);
    if (text === this.#currentText) {
      // A fixed file/object clears a rejection even when it returns to the config in use.
      delete this.#state.rejected;
      return "unchanged";
    }
    const before = new Map(this.#current.providers.map((p) => [p.name, providerKey(p)]));
    const changed = config.providers.filter((p) => before.get(p.name) !== providerKey(p));
    this.#current = config;
    this.#currentText = text;
    const reconnect = this.#o.reconnect;
    if (changed.length > 0 && reconnect) {
      this.#queue(async () => {
        const r = await reconnect(config.providers);
        if (r.reconnected.length > 0) {
          this.#log.info("provider connections rebuilt", {
            providers: r.reconnected.join(","),
          });
        }
        for (const f of r.failed) {
          this.#log.error("provider connection failed; the previous one stays in use", {
            provider: f.provider,
            error: f.message,
          });
        }
        this.#o.apply(config);
      });
    } else if (this.#pending) this.#queue(() => Promise.resolve(this.#o.apply(config)));
    else this.#o.apply(config);
    this.#state = {
      source: this.#state.source,
      loadedAt: this.#now(),
      generation: this.#state.generation + 1,
    };
    this.#log.info("configuration reloaded", {
      source: this.#state.source,
      generation: this.#state.generation,
      nodepools: config.nodePools.map((p) => p.name).join(","),
    });
    if (changed.length > 0 && !reconnect) {
      this.#log.warn("provider connection settings changed; restart to reconnect", {
        providers: changed.map((p) => p.name).join(","),
      });
    }
    return "applied";
  }

  /** Resolves once every accepted configuration has been applied (reconnects included). */
  async settled(): Promise<void> {
    while (this.#pending) await this.#pending;
  }

  #queue(step: () => Promise<void>): void {
    const run: Promise<void> = (this.#pending ?? Promise.resolve()).then(step).catch((e) =>
      this.#log.error("configuration apply failed", { error: String(e) })
    ).finally(() => {
      if (this.#pending === run) this.#pending = undefined;
    });
    this.#pending = run;
  }

  /** An invalid new configuration: rejected, the old one stays; log and Events say why. */
  async reject(problems: ReloadProblem[]): Promise<void> {
    const texts = problems.map((p) => p.text);
    this.#state.rejected = { at: this.#now(), problems: texts };
    this.#log.error("configuration change rejected; keeping the last valid one", {
      reason: reason("ConfigInvalid", texts.join("; ")),
      source: this.#state.source,
      generation: this.#state.generation,
    });
    const events = this.#o.events;
    if (!events) return;
    const bySubject = new Map<string, { subject: EventSubject; texts: string[] }>();
    for (const p of problems) {
      const subject = p.subject ?? this.#o.subject;
      if (!subject) continue;
      const key = JSON.stringify(subject);
      const entry = bySubject.get(key) ?? { subject, texts: [] };
      entry.texts.push(p.text);
      bySubject.set(key, entry);
    }
    for (const { subject, texts: t } of bySubject.values()) {
      const r = await events.record(
        subject,
        reason(
          "ConfigInvalid",
          `configuration change rejected, the last valid one stays in use: ${t.join("; ")}`,
        ),
      );
      if (!r.ok) {
        this.#log.warn("could not record the ConfigInvalid Event", {
          object: `${subject.kind}/${subject.name}`,
        });
      }
    }
  }
}

/** The object a CRD problem is about, as an Event subject. */
export function crdProblemSubject(p: CrdProblem, namespace: string): EventSubject | undefined {
  const [kind, name] = p.object.split("/");
  if (!kind || !name) return undefined;
  if (kind === "ConfigMap") return { apiVersion: "v1", kind, name, namespace };
  if (!["NodePool", "MachineTemplate", "Provider"].includes(kind)) return undefined;
  return { apiVersion: "proxscale.io/v1alpha1", kind, name };
}

/** Feeds every ConfigWatcher result to the reloader; returns the started watcher. */
export function watchConfigCrds(
  kube: KubeClient,
  reloader: ConfigReloader,
  opts: ConfigWatcherOptions = {},
): ConfigWatcher {
  const namespace = opts.namespace ?? "proxscale-system";
  const watcher = new ConfigWatcher(kube, (r: Result<Config, CrdProblem[]>) => {
    if (r.ok) reloader.accept(r.value);
    else {
      const problems = r.error.map((p) => {
        const subject = crdProblemSubject(p, namespace);
        return { text: formatCrdProblem(p), ...(subject ? { subject } : {}) };
      });
      void reloader.reject(problems);
    }
  }, opts);
  watcher.start();
  return watcher;
}

/** A running file watch. */
export type FileWatch = {
  /** Checks the file now (the timer does this every interval). */
  check(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Polls `path` every `intervalMs` (default 2 s): when its mtime or content changed, parses and
 * validates it (errors as file:line:column) and offers it to the reloader. A file that cannot
 * be read is reported once per distinct error, the configuration in use stays.
 */
export function watchConfigFile(
  path: string,
  reloader: ConfigReloader,
  opts: { intervalMs?: number } = {},
): FileWatch {
  let lastText: string | undefined;
  let lastMtime: number | undefined;
  let lastError: string | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const once = async () => {
    let text: string;
    try {
      const st = await Deno.stat(path);
      const mtime = st.mtime?.getTime() ?? 0;
      // An unchanged mtime proves nothing for a file written in the last moments: two writes in
      // one timestamp tick (coarse on some filesystems) share it. Those are read and compared.
      const settled = Date.now() - mtime > 2_000;
      if (mtime === lastMtime && lastText !== undefined && settled) return;
      text = await Deno.readTextFile(path);
      lastMtime = mtime;
    } catch (e) {
      const msg = `${path}: cannot be read (${e instanceof Error ? e.name : "error"})`;
      if (msg !== lastError) await reloader.reject([{ text: msg }]);
      lastError = msg;
      return;
    }
    lastError = undefined;
    if (text === lastText) return;
    lastText = text;
    let parsed: ReturnType<typeof parseConfigText>;
    try {
      parsed = parseConfigText(text, path);
    } catch (e) {
      // A bug in reading must not stop the daemon: the last valid configuration stays.
      const why = e instanceof Error ? e.message : String(e);
      await reloader.reject([{ text: `${path}: could not be read as a configuration (${why})` }]);
      return;
    }
    if (parsed.ok) reloader.accept(parsed.value);
    else await reloader.reject(parsed.error.map((p) => ({ text: formatProblem(p) })));
  };
  const check = () => {
    if (stopped) return Promise.resolve();
    running ??= once().finally(() => (running = undefined));
    return running;
  };
  // The first read only records what is there: the daemon started with it.
  const first = (async () => {
    try {
      lastText = await Deno.readTextFile(path);
      lastMtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
    } catch {
      // Reported by the first check.
    }
  })();
  const timer = setInterval(() => void check(), opts.intervalMs ?? 2_000);
  return {
    check: async () => {
      await first;
      await check();
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await first;
      await running;
    },
  };
}
