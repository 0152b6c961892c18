/**
 * What /healthz and /readyz report. Liveness means the observe-decide-act loop still turns (its
 * last tick is recent), so Kubernetes restarts a daemon whose loop hung. Readiness means the
 * daemon can decide safely: informer caches synced and the PVE API reachable. The loop and the
 * adapters write this state; daemon/http.ts only reads it through `HealthSource`.
 */

/** One named probe result; `detail` is plain words for the probe body. */
export type Check = { name: string; ok: boolean; detail: string };

/** The read side, injected into the HTTP server (tests pass a stub). */
export interface HealthSource {
  liveness(): Check;
  readiness(): Check[];
}

/** The write side the daemon updates. */
export interface HealthState extends HealthSource {
  /** The loop finished a pass (or is waiting healthily for its next one). */
  tick(): void;
  setCachesSynced(synced: boolean): void;
  setPveReachable(reachable: boolean, detail?: string): void;
  /** Any further readiness condition (e.g. `config` valid). */
  setCheck(name: string, ok: boolean, detail?: string): void;
}

export type HealthStateOptions = {
  /** Epoch ms. */
  now: () => number;
  /** The loop is dead when its last tick is older than this (ms); e.g. 3 loop intervals. */
  maxTickAgeMs: number;
  /** Told after every write, with everything the probes are computed from (a mirror's feed). */
  onChange?: (facts: HealthFacts) => void;
};

/** What the probes are computed from: the last loop tick and the readiness checks. */
export type HealthFacts = { lastTick: number; ticked: boolean; checks: Check[] };

/** The liveness probe's answer from the last tick, at `now`. */
export function livenessCheck(
  facts: Pick<HealthFacts, "lastTick" | "ticked">,
  now: number,
  maxTickAgeMs: number,
): Check {
  const age = now - facts.lastTick;
  const since = facts.ticked ? "last loop tick" : "started, no loop tick yet,";
  return {
    name: "loop",
    ok: age <= maxTickAgeMs,
    detail: `${since} ${Math.round(age / 1000)}s ago (limit ${Math.round(maxTickAgeMs / 1000)}s)`,
  };
}

/**
 * Health state with an injected clock. Before the first tick the start time counts as one,
 * so a fresh daemon gets `maxTickAgeMs` of grace.
 */
export function createHealthState(opts: HealthStateOptions): HealthState {
  let lastTick = opts.now();
  let ticked = false;
  const checks = new Map<string, Check>([
    ["caches", { name: "caches", ok: false, detail: "informer caches not synced yet" }],
    ["pve", { name: "pve", ok: false, detail: "PVE API not reached yet" }],
  ]);
  const changed = () => opts.onChange?.({ lastTick, ticked, checks: [...checks.values()] });
  const set = (name: string, ok: boolean, detail: string) => {
    checks.set(name, { name, ok, detail });
    changed();
  };
  return {
    tick() {
      lastTick = opts.now();
      ticked = true;
      changed();
    },
    setCachesSynced: (s) => set("caches", s, s ? "synced" : "informer caches not synced"),
    setPveReachable: (r, detail) =>
      set("pve", r, detail ?? (r ? "reachable" : "PVE API unreachable")),
    setCheck: (name, ok, detail) => set(name, ok, detail ?? (ok ? "ok" : "failing")),
    liveness: () => livenessCheck({ lastTick, ticked }, opts.now(), opts.maxTickAgeMs),
    readiness: () => [...checks.values()],
  };
}
