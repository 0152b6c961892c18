/**
 * The `proxscale-forecast` policy: the proxscale policy (sim/policies/proxscale.ts, the
 * production core) with predictive scale-up switched on in every pool that does not configure
 * it (scaleUp.forecast with its defaults), fed the demand history the daemon would keep: each
 * call records every pool's demand (core/forecast_history.ts) into the policy's state and hands
 * the history to the core in the snapshot. It also asks to be called at least once a minute,
 * so the forecast can act between pod arrivals, as the daemon's periodic pass does.
 *
 * May import: core/, sim/engine/policy.ts, sim/policies/proxscale.ts.
 */
import type { Config } from "../../core/model.ts";
import { initialDisruptionState } from "../../core/disruption.ts";
import {
  demandByPool,
  type DemandHistory,
  emptyHistory,
  recordDemand,
} from "../../core/forecast_history.ts";
import type { Policy } from "../engine/policy.ts";
import { proxscaleDecide, type ProxscaleState } from "./proxscale.ts";

/** The proxscale state plus each pool's demand history. */
export type ForecastPolicyState = {
  inner: ProxscaleState;
  history: Record<string, DemandHistory>;
};

/** How often the policy asks to be called with nothing else happening, ms. */
const TICK = 60_000;

/** Defaults a pool without scaleUp.forecast gets in this policy. */
export const SIM_FORECAST = { maxNodes: 3, maxError: 0.2, horizon: null } as const;

/** `config` with scaleUp.forecast on in every pool (a pool's own settings are kept). */
export function withForecastOn(config: Config): Config {
  return {
    ...config,
    nodePools: config.nodePools.map((p) => ({
      ...p,
      scaleUp: { ...p.scaleUp, forecast: p.scaleUp.forecast ?? { ...SIM_FORECAST } },
    })),
  };
}

/**
 * The proxscale policy with the forecast on, for `config`; `history` (by pool, e.g. recorded
 * from a cluster) is what it starts from instead of nothing.
 */
export function proxscaleForecastPolicy(
  base: Config,
  history: Record<string, DemandHistory> = {},
): Policy<ForecastPolicyState> {
  const config = withForecastOn(base);
  const decide = proxscaleDecide();
  return {
    name: "proxscale-forecast",
    description: "proxscale core with predictive scale-up (scaleUp.forecast) from the demand " +
      "history it records",
    config,
    trigger: { kind: "batch", idle: config.settings.batchIdle, max: config.settings.batchMax },
    initialState: () => ({
      inner: { disruption: initialDisruptionState(), waiting: [] },
      history: { ...history },
    }),
    decide: (snap, cfg, state) => {
      const demand = demandByPool(snap, cfg);
      const history: Record<string, DemandHistory> = {};
      for (const [pool, d] of Object.entries(demand)) {
        history[pool] = recordDemand(state.history[pool] ?? emptyHistory(), snap.now, d);
      }
      const d = decide({ ...snap, demandHistory: history }, cfg, state.inner);
      const tick = snap.now + TICK;
      return {
        launches: d.launches,
        deletions: d.deletions,
        state: { inner: d.state, history },
        wakeAt: Math.min(d.wakeAt ?? Infinity, tick),
      };
    },
  };
}
