/**
 * The one seam between the simulated world and whatever decides: a policy is a single
 * `decide(snapshot, config, state)` function plus when it wants to be called. The proxscale
 * policy's decide calls the production core (sim/policies/proxscale.ts); the baselines are
 * reimplementations of other autoscalers behind the same seam, so all of them face the same
 * world, delays and scheduler.
 *
 * May import: core/ (types only).
 */
import type { Config, Shape, Snapshot, Taint } from "../../core/model.ts";
import type { Reason } from "../../core/reason.ts";

/** A VM to create: the fields of a planned NodeClaim the world needs. */
export type Launch = {
  name: string;
  nodePool: string;
  machineTemplate: string;
  provider: string;
  shape: Shape;
  host: string;
  labels: Record<string, string>;
  taints: Taint[];
  startupTaints: Taint[];
  reason: Reason;
};

/** A NodeClaim to remove: the world drains its node (evicting pods) and destroys the VM. */
export type Deletion = { claim: string; reason: Reason };

/** Power a Proxmox host on or off through its BMC (host power management). */
export type PowerRequest = { host: string; on: boolean; reason: Reason };

/** What one call decided, the policy's state to carry to the next call, and when to call again. */
export type Decision<S> = {
  launches: Launch[];
  deletions: Deletion[];
  /** Host power requests (absent: none). */
  power?: PowerRequest[];
  state: S;
  /** Virtual time (ms) the policy wants to be asked again even if nothing changes. */
  wakeAt?: number;
};

/** The decision function: pure in its arguments (the state is returned, not mutated in place). */
export type Decide<S> = (snapshot: Snapshot, config: Config, state: S) => Decision<S>;

/**
 * When the engine calls decide after the world changed: after a batch window (idle/max, as
 * Karpenter and proxscale batch pending pods) or on the next tick of a fixed scan interval (as
 * Cluster Autoscaler's loop; a tick with nothing changed costs nothing and is skipped).
 */
export type Trigger =
  | { kind: "batch"; idle: number; max: number }
  | { kind: "interval"; every: number };

/** A named decision maker. */
export type Policy<S = unknown> = {
  name: string;
  description: string;
  config: Config;
  trigger: Trigger;
  initialState: () => S;
  decide: Decide<S>;
  /**
   * The policy powers hosts on and off (its decisions carry `power`); for any other policy every
   * host stays on for the whole run, whatever the world's hostsPoweredOff says.
   */
  powersHosts?: boolean;
};
