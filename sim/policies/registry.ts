/**
 * The policies `proxscale sim` compares, by name, built for one config.
 *
 * May import: core/ (types), sim/engine/policy.ts (types).
 */
import type { Config } from "../../core/model.ts";
import type { DemandHistory } from "../../core/forecast_history.ts";
import type { Policy } from "../engine/policy.ts";
import { clusterAutoscalerPolicy } from "./cluster_autoscaler.ts";
import { karpenterPolicy } from "./karpenter.ts";
import { kubeNodeSmithPolicy } from "./kubenodesmith.ts";
import { proxscaleForecastPolicy } from "./proxscale_forecast.ts";
import { proxscaleAsConfigured } from "./proxscale_as_configured.ts";

/** Policy names in report order. */
export const POLICY_NAMES = [
  "proxscale",
  "cluster-autoscaler",
  "karpenter",
  "kubenodesmith-v0",
] as const;
/** Policies run only when named with --policies (the default comparison stays as it was). */
export const OPTIONAL_POLICY_NAMES = ["proxscale-forecast"] as const;
export type PolicyName = typeof POLICY_NAMES[number] | typeof OPTIONAL_POLICY_NAMES[number];

/** Builds the named policy; `demandHistory` seeds proxscale-forecast's history. */
export function buildPolicy(
  name: PolicyName,
  config: Config,
  demandHistory?: Record<string, DemandHistory>,
): Policy<unknown> {
  switch (name) {
    case "proxscale":
      // A pool with scaleUp.forecast forecasts from the history the policy records.
      return proxscaleAsConfigured(config, demandHistory);
    case "cluster-autoscaler":
      return clusterAutoscalerPolicy(config) as Policy<unknown>;
    case "karpenter":
      return karpenterPolicy(config) as Policy<unknown>;
    case "kubenodesmith-v0":
      return kubeNodeSmithPolicy(config) as Policy<unknown>;
    case "proxscale-forecast":
      return proxscaleForecastPolicy(config, demandHistory) as Policy<unknown>;
  }
}
