/**
 * The proxscale policy in the simulator: its decide is the production decision core and
 * nothing else — core/provisioning.ts `provision` for scale-up and core/disruption.ts `disrupt`
 * for scale-down and consolidation — composed by core/reconcile.ts `planCapacity`, the very
 * composition the daemon's reconcile uses: launches are the provisioning plan's claims plus any
 * disruption replacements; a disruption command's nodes are deleted at once, or, when it
 * launches replacements, once those are Ready; a command touching a node provisioning just
 * placed a pending pod on waits for the next pass. The functions are held in core/reconcile.ts CAPACITY_DECIDERS so a
 * test can check they are the very objects the daemon imports: there is no second decider.
 *
 * Besides the decision it computes when to ask again (the earliest consolidateAfter or
 * scaleDown.stabilizationWindow a kept node waits for): the engine calls decide on every world
 * change, so between changes only those timers can change the answer.
 *
 * May import: core/, sim/engine/policy.ts.
 */
import type { Config, Snapshot } from "../../core/model.ts";
import {
  type DisruptionPlan,
  type DisruptionState,
  initialDisruptionState,
} from "../../core/disruption.ts";
import { isClaimReady } from "../../core/claim_state.ts";
import { CAPACITY_DECIDERS, type CapacityDeciders, planCapacity } from "../../core/reconcile.ts";
import type { Reason } from "../../core/reason.ts";
import type { Decide, Decision, Deletion, Launch, Policy } from "../engine/policy.ts";
import type { HostPowerState } from "../../core/host_power.ts";
import { managesHostPower, simHostPower } from "./host_power_policy.ts";

/** A disruption command waiting for its replacements to become Ready. */
export type WaitingCommand = { candidates: string[]; replacements: string[]; reason: Reason };

export type ProxscaleState = {
  disruption: DisruptionState;
  waiting: WaitingCommand[];
  /** Host power's memory, when the configuration manages host power. */
  hostPower?: HostPowerState;
};

/** How often to re-check a command waiting on replacements (the disruption loop's period). */
const LOOP = 10_000;

/** decide = provision + disrupt; launches and deletions come only from their plans. */
export function proxscaleDecide(
  core: CapacityDeciders = CAPACITY_DECIDERS,
): Decide<ProxscaleState> {
  return (snap, config, state): Decision<ProxscaleState> => {
    const cap = planCapacity(snap, config, state.disruption, core);
    const plan = cap.provisioning;
    const d = cap.disruption;
    const launches: Launch[] = [...plan.claims];
    const deletions: Deletion[] = [];
    const waiting: WaitingCommand[] = [];
    // Built only when a command waits (most passes have none).
    let live: Set<string> | undefined;
    let ready: Set<string> | undefined;
    for (const w of state.waiting) {
      live ??= new Set(snap.nodeClaims.filter((c) => !c.deleting).map((c) => c.name));
      ready ??= new Set(snap.nodeClaims.filter(isClaimReady).map((c) => c.name));
      // A replacement lost to a launch failure aborts the command, as Karpenter does.
      if (w.replacements.some((r) => !live!.has(r))) continue;
      if (w.replacements.every((r) => ready!.has(r))) {
        for (const c of w.candidates) deletions.push({ claim: c, reason: w.reason });
      } else waiting.push(w);
    }
    for (const cmd of cap.commands) {
      if (cmd.replacements.length === 0) {
        for (const c of cmd.candidates) deletions.push({ claim: c.nodeClaim, reason: cmd.reason });
        continue;
      }
      launches.push(...cmd.replacements);
      waiting.push({
        candidates: cmd.candidates.map((c) => c.nodeClaim),
        replacements: cmd.replacements.map((r) => r.name),
        reason: cmd.reason,
      });
    }
    let wakeAt = nextTimer(snap, config, d);
    if (waiting.length > 0) wakeAt = Math.min(wakeAt ?? Infinity, snap.now + LOOP);
    // Host power, through the same core as the daemon, only when the configuration asks for it.
    if (managesHostPower(config)) {
      const hp = simHostPower(snap, config, plan, state.hostPower);
      if (hp.wakeAt !== undefined) wakeAt = Math.min(wakeAt ?? Infinity, hp.wakeAt);
      return {
        launches,
        deletions,
        power: hp.requests,
        state: { disruption: d.state, waiting, hostPower: hp.state },
        ...(wakeAt !== undefined ? { wakeAt } : {}),
      };
    }
    return {
      launches,
      deletions,
      state: { disruption: d.state, waiting },
      ...(wakeAt !== undefined ? { wakeAt } : {}),
    };
  };
}

/** The earliest time a node kept by a timer (consolidateAfter, stabilizationWindow) is due. */
function nextTimer(snap: Snapshot, config: Config, d: DisruptionPlan): number | undefined {
  let lastPod: Map<string, number> | undefined;
  let at = Infinity;
  for (const v of d.verdicts) {
    if (v.disrupt || v.reason.code !== "StabilizationWindow") continue;
    // Few pools and claims, looked up for the few verdicts a timer keeps: a scan, no index.
    const pool = lastNamed(config.nodePools, v.nodePool);
    const c = lastNamed(snap.nodeClaims, v.nodeClaim);
    if (!pool || !c) continue;
    const since = d.state.unneededSince[v.nodeClaim];
    if (since !== undefined) at = Math.min(at, since + pool.scaleDown.stabilizationWindow);
    const after = pool.disruption.consolidateAfter;
    if (after !== null) {
      // The core counts consolidateAfter from the last pod event it saw on the node.
      const event = d.state.podEvents?.[v.nodeClaim]?.at;
      let quietAt: number;
      if (event !== undefined) quietAt = event + after;
      else {
        if (!lastPod) {
          lastPod = new Map();
          for (const p of snap.pods) {
            if (p.nodeName) {
              lastPod.set(p.nodeName, Math.max(lastPod.get(p.nodeName) ?? 0, p.createdAt));
            }
          }
        }
        const init = c.conditions.find((x) => x.type === "Initialized")?.lastTransitionTime ??
          c.createdAt;
        quietAt = Math.max(init, lastPod.get(v.node ?? "") ?? 0) + after;
      }
      if (quietAt > snap.now) at = Math.min(at, quietAt);
    }
  }
  return at > snap.now && at < Infinity ? at : undefined;
}

/** The last item named `name`: the one a Map built from the list would hold. */
function lastNamed<T extends { name: string }>(list: readonly T[], name: string): T | undefined {
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.name === name) return list[i];
  return undefined;
}

/** The proxscale policy for `config`, batching like the daemon (settings.batchIdle/batchMax). */
export function proxscalePolicy(
  config: Config,
  core: CapacityDeciders = CAPACITY_DECIDERS,
): Policy<ProxscaleState> {
  return {
    name: "proxscale",
    description: "proxscale core (provision + disrupt), batch window " +
      `${config.settings.batchIdle / 1000}s idle / ${config.settings.batchMax / 1000}s max`,
    config,
    trigger: { kind: "batch", idle: config.settings.batchIdle, max: config.settings.batchMax },
    initialState: () => ({ disruption: initialDisruptionState(), waiting: [] }),
    decide: proxscaleDecide(core),
    ...(managesHostPower(config) ? { powersHosts: true } : {}),
  };
}
