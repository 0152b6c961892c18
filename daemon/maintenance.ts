/**
 * Maintenance mode (`proxscale pause|resume`): the daemon keeps deciding and reporting but
 * carries nothing out. Two switches, either of which pauses:
 *
 * - in-cluster, persistent: the annotation `proxscale.io/paused: "true"` on the ConfigMap
 *   `proxscale-maintenance` in the daemon's namespace. It survives restarts and leader changes,
 *   every replica reads it (the daemon only needs `get` on configmaps in its namespace, which
 *   deploy/'s Role already grants); an operator's `proxscale pause` writes it.
 * - standalone: `POST /pause` and `POST /resume` on the daemon's HTTP port (systemd installs
 *   without a cluster-side switch); held in memory, so a restart resumes unless `paused` is
 *   set in the options.
 *
 * The daemon reads the switch every pass through `paused()`; `start()` refreshes the
 * ConfigMap on the loop's tick. Decisions taken while paused are reported again with the
 * reason code `Paused` (see `pausedReporter`), so the log, Events and `proxscale status` say
 * why nothing happened.
 *
 * May import: core/, adapters/, daemon/.
 */
import type { KubeClient } from "../adapters/kubernetes/client.ts";
import { isNotFound } from "../adapters/kubernetes/client.ts";
import { type Reason, reason } from "../core/reason.ts";
import { type EventSubject, nodeClaimSubject, nodeSubject } from "../adapters/kubernetes/events.ts";
import type { DecisionReport } from "./context.ts";

/** Annotation that pauses every replica. */
export const PAUSED_ANNOTATION = "proxscale.io/paused";
/** ConfigMap (in the daemon's namespace) that carries the annotation. */
export const MAINTENANCE_CONFIGMAP = "proxscale-maintenance";

/** Where the current state came from, for `proxscale status`. */
export type MaintenanceState = {
  paused: boolean;
  /** Set by POST /pause (or the `paused` option). */
  local: boolean;
  /** Set by the ConfigMap annotation; undefined when never read. */
  cluster?: boolean;
  /** Last error reading the ConfigMap (the previous value is kept meanwhile). */
  error?: string;
  since?: number;
};

export type MaintenanceOptions = {
  /** Start paused (the standalone switch). */
  paused?: boolean;
  /** Client to read the ConfigMap with; without it only the HTTP switch exists. */
  kube?: KubeClient;
  namespace?: string;
  now?: () => number;
};

/** The maintenance switch of one daemon process. */
export class MaintenanceMode {
  #local: boolean;
  #cluster: boolean | undefined;
  #error: string | undefined;
  #since: number | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #refreshing: Promise<void> | undefined;
  readonly #o: MaintenanceOptions;
  readonly #listeners: ((paused: boolean, state: MaintenanceState) => void)[] = [];
  readonly #now: () => number;

  constructor(o: MaintenanceOptions = {}) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#local = o.paused ?? false;
    if (this.#local) this.#since = this.#now();
  }

  /** Whether the daemon must not act now. */
  paused(): boolean {
    return this.#local || this.#cluster === true;
  }

  state(): MaintenanceState {
    return {
      paused: this.paused(),
      local: this.#local,
      ...(this.#cluster !== undefined ? { cluster: this.#cluster } : {}),
      ...(this.#error !== undefined ? { error: this.#error } : {}),
      ...(this.#since !== undefined && this.paused() ? { since: this.#since } : {}),
    };
  }

  #set(update: () => void): void {
    const before = this.paused();
    update();
    const after = this.paused();
    if (before !== after) {
      this.#since = this.#now();
      for (const l of this.#listeners) l(after, this.state());
    }
  }

  /** Told on every change of `paused()`, e.g. the daemon's `setPaused`. */
  onChange(listener: (paused: boolean, state: MaintenanceState) => void): void {
    this.#listeners.push(listener);
  }

  /** The standalone switch (POST /pause, /resume). */
  setLocal(paused: boolean): void {
    this.#set(() => (this.#local = paused));
  }

  /** Reads the ConfigMap once; a missing ConfigMap means "not paused". */
  refresh(): Promise<void> {
    const kube = this.#o.kube;
    if (!kube) return Promise.resolve();
    this.#refreshing ??= (async () => {
      const ns = this.#o.namespace ?? "default";
      const r = await kube.requestJson(
        "GET",
        `/api/v1/namespaces/${ns}/configmaps/${MAINTENANCE_CONFIGMAP}`,
      );
      if (!r.ok && !isNotFound(r.error)) {
        this.#error = `reading configmap ${ns}/${MAINTENANCE_CONFIGMAP}: ${r.error.message}`;
        return;
      }
      this.#error = undefined;
      const value = r.ok ? pausedAnnotation(r.value.body) : false;
      this.#set(() => (this.#cluster = value));
    })().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  /** Refreshes now and then every `intervalMs` (the loop's tick). */
  async start(intervalMs: number): Promise<void> {
    await this.refresh();
    this.#timer ??= setInterval(() => void this.refresh(), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#refreshing;
  }

  /**
   * HTTP routes for daemon/http.ts: `POST /pause`, `POST /resume` switch the standalone
   * switch; `GET` on either answers the state. JSON bodies. `writable: false` refuses the POSTs
   * (403): in a cluster the metrics port is open to Prometheus, and whoever can reach it must
   * not be able to stop the autoscaler; the ConfigMap annotation (RBAC-guarded) is the switch.
   */
  routes(opts: { writable?: boolean } = {}): Record<string, (req: Request) => Response> {
    const writable = opts.writable ?? true;
    const handle = (target: boolean) => (req: Request) => {
      if (req.method === "POST") {
        if (!writable) {
          return json(403, {
            error: `the HTTP switch is off in a cluster; use proxscale ${
              target ? "pause" : "resume"
            } --kubeconfig (annotation ${PAUSED_ANNOTATION} on ConfigMap ${MAINTENANCE_CONFIGMAP})`,
          });
        }
        this.setLocal(target);
      } else if (req.method !== "GET") return json(405, { error: "use GET or POST" });
      return json(200, this.state());
    };
    return { "/pause": handle(true), "/resume": handle(false) };
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** Whether a ConfigMap object carries `proxscale.io/paused: "true"`. */
export function pausedAnnotation(obj: unknown): boolean {
  const a = (obj as { metadata?: { annotations?: Record<string, unknown> } } | undefined)
    ?.metadata?.annotations;
  return String(a?.[PAUSED_ANNOTATION] ?? "").toLowerCase() === "true";
}

/**
 * The ConfigMap merge patch `proxscale pause|resume` sends (create it first if missing).
 * Resume removes the annotation rather than writing "false", so the object says only what is set.
 */
export function pausePatch(
  paused: boolean,
  by: string,
  now: number,
): { metadata: { annotations: Record<string, string | null> } } {
  return {
    metadata: {
      annotations: paused
        ? {
          [PAUSED_ANNOTATION]: "true",
          "proxscale.io/paused-by": by,
          "proxscale.io/paused-at": new Date(now).toISOString(),
        }
        : {
          [PAUSED_ANNOTATION]: null,
          "proxscale.io/paused-by": null,
          "proxscale.io/paused-at": null,
        },
    },
  };
}

/** Where `pausedReporter` writes its Events (an EventRecorder). */
export type PausedEvents = {
  record(subject: EventSubject, r: Reason): Promise<unknown>;
};

/**
 * Wraps the daemon's `report`: a decision that was only decided because of maintenance mode
 * (dry run while `paused()`) goes out with the reason code `Paused`, naming what would have
 * happened and why, so every output says the daemon held back on purpose. With `events`, each
 * such decision is also a Normal Event (reason Paused) on its NodeClaim or Node; repeats of the
 * same decision are counted on one Event by the recorder.
 */
export function pausedReporter(
  inner: (d: DecisionReport) => void,
  paused: () => boolean,
  events?: PausedEvents,
): (d: DecisionReport) => void {
  return (d) => {
    if (!d.dryRun || !paused()) return inner(d);
    const why = reason(
      "Paused",
      `maintenance mode: ${d.what} not carried out (${d.reason.code}: ${d.reason.message})`,
    );
    inner({ ...d, reason: why });
    const subject: EventSubject | undefined = d.nodeclaim
      ? nodeClaimSubject(d.nodeclaim)
      : d.node
      ? nodeSubject(d.node)
      : undefined;
    // An Event is news, never a gate: a failed write must not stop the report.
    if (events && subject) void events.record(subject, why).catch(() => {});
  };
}

/** Keeps a daemon's pause flag equal to the switch from now on. */
export function attachMaintenance(
  daemon: { setPaused(paused: boolean): void },
  mode: MaintenanceMode,
): void {
  daemon.setPaused(mode.paused());
  mode.onChange((p) => daemon.setPaused(p));
}
