/**
 * The proxscale policy in the simulator: its decide is the production decision core and
 * nothing else — provisioning from core/provisioning.ts and scale-down from the core's
 * disruption pass (the interim emptiness pass until core/disruption.ts lands; see
 * empty_scale_down.ts). The functions are held in CORE_DECIDERS so a test can check they are
 * the very objects the daemon imports: there is no second decider.
 *
 * May import: core/, sim/engine/policy.ts, sim/policies/.
 */
import type { Config } from "../../core/model.ts";
import { provision } from "../../core/provisioning.ts";
import type { Decide, Decision, Launch, Policy } from "../engine/policy.ts";
import { type EmptinessState, emptyNodeScaleDown, type ScaleDown } from "./empty_scale_down.ts";

/** The decision functions the proxscale policy calls, exactly as the daemon imports them. */
export type CoreDeciders<S> = {
  provision: typeof provision;
  scaleDown: ScaleDown<S>;
  initialScaleDownState: () => S;
};

/** The production core: what `proxscale plan` and the daemon call. */
export const CORE_DECIDERS: CoreDeciders<EmptinessState> = {
  provision,
  scaleDown: emptyNodeScaleDown,
  initialScaleDownState: () => ({ emptySince: {} }),
};

/** decide = provision + scale-down, as reconcile will compose them; launches are the plan's claims. */
export function proxscaleDecide<S>(core: CoreDeciders<S>): Decide<S> {
  return (snapshot, config, state): Decision<S> => {
    const plan = core.provision(snapshot, config);
    const protect = new Set(plan.placements.filter((p) => p.kind === "node").map((p) => p.target));
    const down = core.scaleDown(snapshot, config, state, protect);
    const launches: Launch[] = plan.claims;
    return {
      launches,
      deletions: down.deletions,
      state: down.state,
      ...(down.wakeAt !== undefined ? { wakeAt: down.wakeAt } : {}),
    };
  };
}

/** The proxscale policy for `config`, batching like the daemon (settings.batchIdle/batchMax). */
export function proxscalePolicy<S = EmptinessState>(
  config: Config,
  core: CoreDeciders<S> = CORE_DECIDERS as unknown as CoreDeciders<S>,
): Policy<S> {
  return {
    name: "proxscale",
    description: "proxscale core: provisioning + scale-down, batch window " +
      `${config.settings.batchIdle / 1000}s idle / ${config.settings.batchMax / 1000}s max`,
    config,
    trigger: { kind: "batch", idle: config.settings.batchIdle, max: config.settings.batchMax },
    initialState: core.initialScaleDownState,
    decide: proxscaleDecide(core),
  };
}
