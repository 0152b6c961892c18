/**
 * The `proxscale` policy exactly as configured: the production core, and, when some pool has
 * scaleUp.forecast, the demand history the daemon would keep for it (recorded at every call as
 * proxscale-forecast does), so a configuration or an advised patch that turns the forecast on
 * for a pool forecasts in `sim` and `advise` as the daemon would. Only those pools forecast
 * (proxscale-forecast turns it on in every pool); without any, this is sim/policies/proxscale.ts
 * unchanged.
 *
 * May import: core/ (types), sim/engine/policy.ts, sim/policies/.
 */
import type { Config } from "../../core/model.ts";
import type { DemandHistory } from "../../core/forecast_history.ts";
import type { Policy } from "../engine/policy.ts";
import { proxscalePolicy } from "./proxscale.ts";
import { proxscaleForecastPolicy } from "./proxscale_forecast.ts";

/** The proxscale policy for `config` as it is; `history` seeds its forecast pools' histories. */
export function proxscaleAsConfigured(
  config: Config,
  history?: Record<string, DemandHistory>,
): Policy<unknown> {
  const plain = proxscalePolicy(config);
  if (!config.nodePools.some((p) => p.scaleUp.forecast !== undefined)) {
    return plain as Policy<unknown>;
  }
  // The forecast policy's history recording and minute tick, deciding with `config` itself.
  const f = proxscaleForecastPolicy(config, history);
  return {
    ...f,
    name: plain.name,
    description: plain.description,
    config,
    trigger: plain.trigger,
  } as Policy<unknown>;
}
