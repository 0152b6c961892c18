/**
 * The proxscale policy's host power in the simulator: core/host_power.ts decides, over facts the
 * simulated cluster gives as PVE and a BMC would (online from the snapshot's hosts, one quorum
 * vote each, no HA resources, a host asked to power on counts as on while it boots), and the
 * decisions become the world's power requests. It also says when to be asked again: when the
 * first idle host reaches powerOffAfter, since nothing else changes the answer meanwhile.
 *
 * May import: core/, sim/engine/policy.ts.
 */
import {
  decideHostPower,
  type HostPowerFact,
  type HostPowerState,
  initialHostPowerState,
} from "../../core/host_power.ts";
import type { Config, Snapshot } from "../../core/model.ts";
import type { ProvisionPlan } from "../../core/provisioning.ts";
import type { PowerRequest } from "../engine/policy.ts";

/** Whether the configuration manages host power (else the policy never calls into it). */
export function managesHostPower(config: Config): boolean {
  return config.providers.some((p) => p.hostPower !== undefined);
}

/** One pass of host power for the simulated cluster. */
export function simHostPower(
  snap: Snapshot,
  config: Config,
  plan: ProvisionPlan,
  state: HostPowerState = initialHostPowerState(),
): { requests: PowerRequest[]; state: HostPowerState; wakeAt?: number } {
  const facts: HostPowerFact[] = snap.hosts.map((h) => {
    const k = `${h.provider}/${h.name}`;
    return {
      provider: h.provider,
      host: h.name,
      votes: 1,
      online: h.online,
      power: h.online || state.poweringOn[k] !== undefined ? "on" : "off",
      haResources: 0,
      // The simulated cluster has no foreign VMs: its claims are all its guests (busy anyway).
      guests: 0,
      capacity: h.capacity,
    };
  });
  const d = decideHostPower({ snapshot: snap, config, plan, facts, state });
  const requests = d.decisions.map((x) => ({
    host: x.host,
    on: x.kind === "PowerOn",
    reason: x.reason,
  }));
  let wakeAt = Infinity;
  for (const p of config.providers) {
    if (!p.hostPower) continue;
    for (const [k, since] of Object.entries(d.state.idleSince)) {
      if (!k.startsWith(`${p.name}/`)) continue;
      const due = since + p.hostPower.powerOffAfter;
      if (due > snap.now) wakeAt = Math.min(wakeAt, due);
    }
  }
  return { requests, state: d.state, ...(wakeAt < Infinity ? { wakeAt } : {}) };
}
