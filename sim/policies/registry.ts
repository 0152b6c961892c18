/**
 * The policies `proxscale sim` compares, by name, built for one config.
 *
 * May import: core/ (types), sim/engine/policy.ts (types).
 */
import type { Config } from "../../core/model.ts";
import type { Policy } from "../engine/policy.ts";
import { proxscalePolicy } from "./proxscale.ts";
import { clusterAutoscalerPolicy } from "./cluster_autoscaler.ts";
import { karpenterPolicy } from "./karpenter.ts";
import { kubeNodeSmithPolicy } from "./kubenodesmith.ts";

/** Policy names in report order. */
export const POLICY_NAMES = [
  "proxscale",
  "cluster-autoscaler",
  "karpenter",
  "kubenodesmith-v0",
] as const;
export type PolicyName = typeof POLICY_NAMES[number];

/** Builds the named policy. */
export function buildPolicy(name: PolicyName, config: Config): Policy<unknown> {
  switch (name) {
    case "proxscale":
      return proxscalePolicy(config) as Policy<unknown>;
    case "cluster-autoscaler":
      return clusterAutoscalerPolicy(config) as Policy<unknown>;
    case "karpenter":
      return karpenterPolicy(config) as Policy<unknown>;
    case "kubenodesmith-v0":
      return kubeNodeSmithPolicy(config) as Policy<unknown>;
  }
}
