/**
 * Fault injection for the fake API server: 500s by rate, added latency, and dropped watch
 * streams (clean close or abrupt reset), all drawn from one seeded generator so a test run
 * is repeatable. The settings are mutable while the server runs.
 */

/** Fault settings; every field may be changed at any time. */
export type KubeFaults = {
  /** Fraction (0..1) of non-watch requests answered with a 500 InternalError Status. */
  errorRate: number;
  /** Extra delay before each response, in milliseconds (uniform in [min, max]). */
  latencyMs: { min: number; max: number };
  /** Fraction (0..1) of watch requests answered with a 500 instead of a stream. */
  watchErrorRate: number;
  /** Close every watch stream this long after it starts (undefined: never). */
  watchDropAfterMs: number | undefined;
  /** How dropped watches end: "close" (clean end of stream) or "reset" (aborted body). */
  watchDropMode: "close" | "reset";
  /** Only requests whose path matches are subject to errorRate/latency (undefined: all). */
  pathFilter: RegExp | undefined;
  /** Open watches stay connected but deliver nothing (a silent, half-dead watch). */
  muteWatches: boolean;
  /**
   * Rewrites objects on the wire (list items and watch event objects, not single GETs), so
   * clients can be shown malformed data: return the object to send, e.g. without metadata.
   */
  mangle: ((obj: Record<string, unknown>) => unknown) | undefined;
};

/** The handle `startFakeKube` returns: settings plus actions. */
export type FaultControl = KubeFaults & {
  /** Ends every open watch stream now ("close" by default). */
  dropWatches(mode?: "close" | "reset"): number;
};

/** Defaults: no faults. */
export function noFaults(): KubeFaults {
  return {
    errorRate: 0,
    latencyMs: { min: 0, max: 0 },
    watchErrorRate: 0,
    watchDropAfterMs: undefined,
    watchDropMode: "close",
    pathFilter: undefined,
    muteWatches: false,
    mangle: undefined,
  };
}
