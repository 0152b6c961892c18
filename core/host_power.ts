/**
 * Proxmox host power management: which hosts with a BMC to power on for pending pods, and
 * which empty hosts to power off. A host is powered on when pods wait for host capacity and
 * would fit it (its boot delay is weighed against capacity already being freed elsewhere); it
 * is powered off after it ran no VM at all (foreign ones included) for `powerOffAfter`, and
 * never below `minOnlineHosts`, never while it holds HA resources or is in maintenance, and
 * never so that the PVE cluster's online votes would no longer be strictly above half of all
 * votes (quorum). Every decision and every refusal carries its reason in plain words.
 *
 * May import: core/ only.
 */
import type {
  Config,
  Host,
  HostPowerConfig,
  HostPowerPolicy,
  Provider,
  Resources,
  Snapshot,
} from "./model.ts";
import { provision as provisionDefault, type ProvisionPlan } from "./provisioning.ts";
import { type Reason, reason } from "./reason.ts";

/** A host's power as its BMC reports it (unknown: the BMC could not be read). */
export type BmcPower = "on" | "off" | "unknown";

/** What the daemon (or the simulator) observed of one PVE cluster member this pass. */
export type HostPowerFact = {
  provider: string;
  host: string;
  /** Quorum votes of the node (corosync's quorum_votes; 1 unless configured). */
  votes: number;
  /** Online in PVE's /cluster/status. */
  online: boolean;
  /** The BMC's power state (hosts without a BMC: "unknown"). */
  power: BmcPower;
  /** HA resources placed on the node (ha-manager services and their current node). */
  haResources: number;
  /**
   * VMs and containers of any owner on the node, templates aside (PVE's cluster resources);
   * absent: unknown, and a host whose guests are unknown is never powered off.
   */
  guests?: number;
  /**
   * The host's physical capacity as the BMC reports it (or as last seen online): PVE shows none
   * for an offline host, and a power-on decision needs it.
   */
  capacity?: Resources;
};

/** What host power remembers from one pass to the next (plain data). */
export type HostPowerState = {
  /** `provider/host` -> since when the host has run no VM (ms). */
  idleSince: Record<string, number>;
  /** `provider/host` -> when proxscale asked the BMC to power it on (until it is online). */
  poweringOn: Record<string, number>;
  /** `provider/host` -> when proxscale asked the BMC to power it off (until it is offline). */
  poweringOff: Record<string, number>;
};

/** The state before the first pass. */
export function initialHostPowerState(): HostPowerState {
  return { idleSince: {}, poweringOn: {}, poweringOff: {} };
}

/** Power a host on or off through its BMC, and why. */
export type HostPowerDecision = {
  kind: "PowerOn" | "PowerOff";
  provider: string;
  host: string;
  reason: Reason;
};

/** A host left as it is although it was a candidate, and why. */
export type HostPowerHold = { provider: string; host: string; reason: Reason };

/** Everything one host power pass decided. */
export type HostPowerPlan = {
  decisions: HostPowerDecision[];
  holds: HostPowerHold[];
  state: HostPowerState;
};

/** The inputs of one pass. */
export type HostPowerInput = {
  /** The pass's snapshot, host maintenance applied. */
  snapshot: Snapshot;
  config: Config;
  /** The pass's provisioning plan (its claims pin their hosts; its unhelped pods may wait). */
  plan: ProvisionPlan;
  /** Every PVE cluster member of the providers with host power, BMC power and votes. */
  facts: readonly HostPowerFact[];
  state: HostPowerState;
  /**
   * How long capacity being freed (VMs of claims being deleted) takes to come back, in ms; when
   * it would take the pods sooner than a host boots, the pods wait for it instead (default 60 s).
   */
  freeingEstimate?: number;
  /** The provisioning decider (the simulator passes its own spy; default the core's). */
  provision?: (snapshot: Snapshot, config: Config) => ProvisionPlan;
};

const key = (provider: string, host: string) => `${provider}/${host}`;
/** At most this many powered-off hosts are tried one by one in a pass. */
const MAX_TRIALS = 3;
const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** The hosts of a provider with a BMC configured, by name. */
function managedHosts(p: Provider): Map<string, HostPowerConfig> {
  const m = new Map<string, HostPowerConfig>();
  for (const h of p.hosts) if (h.power) m.set(h.name, h.power);
  return m;
}

/** Decides one pass of host power. Pure: same input, same plan. */
export function decideHostPower(input: HostPowerInput): HostPowerPlan {
  const { snapshot, config, facts } = input;
  const decisions: HostPowerDecision[] = [];
  const holds: HostPowerHold[] = [];
  const state: HostPowerState = { idleSince: {}, poweringOn: {}, poweringOff: {} };
  const providers = config.providers.filter((p) => p.hostPower !== undefined);
  if (providers.length === 0) return { decisions, holds, state };
  const now = snapshot.now;
  const factOf = new Map(facts.map((f) => [key(f.provider, f.host), f]));

  // Requests in flight: kept until the host reached the state asked for.
  const bootOf = new Map<string, number>();
  for (const p of providers) {
    for (const [name, power] of managedHosts(p)) bootOf.set(key(p.name, name), power.bootDelay);
  }
  for (const [k, at] of Object.entries(input.state.poweringOn)) {
    const f = factOf.get(k);
    if (!f || f.online) continue;
    // A host that did not join within twice its boot delay (and two minutes) is no longer
    // counted on: pods stop waiting for it and another host may be powered on.
    const boot = bootOf.get(k) ?? 0;
    if (now - at > 2 * boot + 120_000) {
      const [provider, host] = k.split("/") as [string, string];
      holds.push({
        provider,
        host,
        reason: reason(
          "HostPowerHeld",
          `${host} was powered on ${seconds(now - at)} ago and has not joined the PVE cluster; ` +
            `pods no longer wait for it`,
        ),
      });
      continue;
    }
    state.poweringOn[k] = at;
  }
  // A host its BMC reports on that has not joined PVE, with no request of ours in flight (a
  // daemon restarted while it booted, or someone else powered it on): booting since now, so its
  // pods wait for it instead of a second host; the rule above drops it if it never joins.
  for (const f of facts) {
    const k = key(f.provider, f.host);
    if (f.power !== "on" || f.online || !bootOf.has(k)) continue;
    if (state.poweringOn[k] !== undefined || input.state.poweringOn[k] !== undefined) continue;
    if (input.state.poweringOff[k] !== undefined) continue;
    state.poweringOn[k] = now;
  }
  for (const [k, at] of Object.entries(input.state.poweringOff)) {
    const f = factOf.get(k);
    if (f && (f.online || f.power === "on")) state.poweringOff[k] = at;
  }

  const offFor = powerOffs(input, providers, factOf, state, holds);
  decisions.push(...offFor);
  decisions.push(...powerOns(input, providers, factOf, state, holds));
  for (const d of decisions) {
    const k = key(d.provider, d.host);
    if (d.kind === "PowerOn") state.poweringOn[k] = now;
    else {
      state.poweringOff[k] = now;
      delete state.idleSince[k];
    }
  }
  return { decisions, holds, state };
}

/**
 * Online votes and hosts of one provider's PVE cluster, and its total votes. A host already
 * asked to power off counts as gone, even while it still shows online during its shutdown.
 */
function quorumOf(
  provider: string,
  facts: readonly HostPowerFact[],
  poweringOff: Readonly<Record<string, number>>,
) {
  let total = 0;
  let online = 0;
  let hosts = 0;
  for (const f of facts) {
    if (f.provider !== provider) continue;
    total += f.votes;
    if (f.online && poweringOff[key(f.provider, f.host)] === undefined) {
      online += f.votes;
      hosts++;
    }
  }
  return { total, online, hosts };
}

function powerOffs(
  input: HostPowerInput,
  providers: readonly Provider[],
  factOf: Map<string, HostPowerFact>,
  state: HostPowerState,
  holds: HostPowerHold[],
): HostPowerDecision[] {
  const { snapshot, plan } = input;
  const now = snapshot.now;
  const out: HostPowerDecision[] = [];
  const unavailable = new Set(snapshot.unavailableProviders ?? []);
  // Hosts in use: any VM (foreign, stopped or proxscale's; templates do not run), any claim
  // placed there that is not gone yet, and any claim this pass opens there.
  const busy = new Set<string>();
  for (const vm of snapshot.vms) if (!vm.template) busy.add(key(vm.provider, vm.host));
  for (const c of snapshot.nodeClaims) if (c.host) busy.add(key(c.provider, c.host));
  for (const c of plan.claims) busy.add(key(c.provider, c.host));
  const hostOf = new Map(snapshot.hosts.map((h) => [key(h.provider, h.name), h]));

  for (const p of providers) {
    const policy = p.hostPower as HostPowerPolicy;
    const q = quorumOf(p.name, input.facts, state.poweringOff);
    const names = [...managedHosts(p).keys()].sort();
    for (const name of names) {
      const k = key(p.name, name);
      const f = factOf.get(k);
      const h: Host | undefined = hostOf.get(k);
      if (!f || !f.online || !h?.online || f.power === "off") continue;
      if (state.poweringOff[k] !== undefined) continue;
      // Any guest, or guests unknown: in use (the idle timer restarts).
      if (busy.has(k) || f.guests === undefined || f.guests > 0) continue;
      const since = input.state.idleSince[k] ?? now;
      state.idleSince[k] = since;
      if (now - since < policy.powerOffAfter) continue;
      const hold = (message: string) =>
        holds.push({ provider: p.name, host: name, reason: reason("HostPowerHeld", message) });
      if (unavailable.has(p.name)) {
        hold(`${name} stays on: the VMs of ${p.name} could not be listed this pass`);
        continue;
      }
      if (h.maintenance !== undefined) {
        hold(`${name} stays on: it is in maintenance (${h.maintenance})`);
        continue;
      }
      if (f.haResources > 0) {
        hold(`${name} stays on: it holds ${f.haResources} HA resource(s)`);
        continue;
      }
      if (q.hosts - 1 < policy.minOnlineHosts) {
        hold(
          `${name} stays on: ${q.hosts} host(s) online and minOnlineHosts is ${policy.minOnlineHosts}`,
        );
        continue;
      }
      if (!((q.online - f.votes) * 2 > q.total)) {
        hold(
          `${name} stays on: powering it off would leave ${q.online - f.votes} of ${q.total} ` +
            `quorum votes online, not more than half (the PVE cluster would lose quorum)`,
        );
        continue;
      }
      q.online -= f.votes;
      q.hosts -= 1;
      out.push({
        kind: "PowerOff",
        provider: p.name,
        host: name,
        reason: reason(
          "HostPowerOff",
          `${name} ran no VM for ${seconds(now - since)} (powerOffAfter ${
            seconds(policy.powerOffAfter)
          }); ${q.hosts} host(s) and ${q.online} of ${q.total} quorum votes stay online`,
        ),
      });
    }
  }
  return out;
}

/**
 * The snapshot with these hosts online and empty (as once booted); a host PVE shows without
 * capacity (offline) gets the capacity its fact reports.
 */
function withHostsOn(
  snapshot: Snapshot,
  on: ReadonlySet<string>,
  factOf: ReadonlyMap<string, HostPowerFact>,
): Snapshot {
  if (on.size === 0) return snapshot;
  return {
    ...snapshot,
    hosts: snapshot.hosts.map((h) => {
      const k = key(h.provider, h.name);
      if (!on.has(k) || h.online) return h;
      const known = h.capacity.cpu > 0 && h.capacity.memory > 0;
      const capacity = known ? h.capacity : factOf.get(k)?.capacity ?? h.capacity;
      return { ...h, online: true, capacity, committed: { cpu: 0, memory: 0 } };
    }),
  };
}

/** Pods provisioning left waiting for host capacity. */
function waitingForHosts(plan: ProvisionPlan): string[] {
  return plan.unhelped.filter((u) => u.reason.code === "HostCapacityExhausted").map((u) => u.pod);
}

/** The snapshot with the VMs of claims being deleted no longer committed to their hosts. */
function withFreedCapacity(snapshot: Snapshot): Snapshot | undefined {
  const freed = new Map<string, { cpu: number; memory: number }>();
  for (const c of snapshot.nodeClaims) {
    if (!c.deleting || !c.host) continue;
    const k = key(c.provider, c.host);
    const f = freed.get(k) ?? { cpu: 0, memory: 0 };
    f.cpu += c.shape.cpu;
    f.memory += c.shape.memory;
    freed.set(k, f);
  }
  if (freed.size === 0) return undefined;
  return {
    ...snapshot,
    hosts: snapshot.hosts.map((h) => {
      const f = freed.get(key(h.provider, h.name));
      return f
        ? {
          ...h,
          committed: {
            cpu: Math.max(0, h.committed.cpu - f.cpu),
            memory: Math.max(0, h.committed.memory - f.memory),
          },
        }
        : h;
    }),
  };
}

function powerOns(
  input: HostPowerInput,
  providers: readonly Provider[],
  factOf: Map<string, HostPowerFact>,
  state: HostPowerState,
  holds: HostPowerHold[],
): HostPowerDecision[] {
  const { snapshot, config } = input;
  if (waitingForHosts(input.plan).length === 0) return [];
  const provision = input.provision ?? provisionDefault;
  const hostOf = new Map(snapshot.hosts.map((h) => [key(h.provider, h.name), h]));
  // Hosts already booting count as online: their pods wait for them.
  const booting = new Set(Object.keys(state.poweringOn));
  const base = withHostsOn(snapshot, booting, factOf);
  const basePlan = booting.size ? provision(base, config) : input.plan;
  const waiting = waitingForHosts(basePlan);
  if (waiting.length === 0) {
    for (const k of [...booting].sort()) {
      const [provider, host] = k.split("/") as [string, string];
      holds.push({
        provider,
        host,
        reason: reason("HostPowerHeld", `pending pods wait for ${host}, which is booting`),
      });
    }
    return [];
  }
  type Candidate = { provider: string; host: string; boot: number; fits: number };
  const candidates: Candidate[] = [];
  const waitingSet = new Set(waiting);
  const eligible: { provider: string; name: string; k: string; boot: number }[] = [];
  for (const p of providers) {
    for (const [name, power] of [...managedHosts(p)].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const k = key(p.name, name);
      const f = factOf.get(k);
      const h = hostOf.get(k);
      if (!f || !h || f.online || h.online || f.power !== "off") continue;
      if (booting.has(k) || state.poweringOff[k] !== undefined) continue;
      if (h.maintenance !== undefined) continue;
      eligible.push({ provider: p.name, name, k, boot: power.bootDelay });
    }
  }
  if (eligible.length === 0) return [];
  // Many powered-off hosts: one decision with all of them on says which can help at all, and
  // only the (at most MAX_TRIALS) that took the most waiting pods are tried one by one, so a
  // pass runs provisioning a bounded number of times however many hosts are off.
  let trials = eligible;
  if (eligible.length > MAX_TRIALS) {
    const all = provision(
      withHostsOn(base, new Set([...booting, ...eligible.map((e) => e.k)]), factOf),
      config,
    );
    const took = new Map<string, number>();
    for (const c of all.claims) {
      const k = key(c.provider, c.host);
      for (const pod of c.pods) if (waitingSet.has(pod)) took.set(k, (took.get(k) ?? 0) + 1);
    }
    trials = eligible.filter((e) => took.has(e.k))
      .sort((a, b) => took.get(b.k)! - took.get(a.k)! || a.boot - b.boot || (a.k < b.k ? -1 : 1))
      .slice(0, MAX_TRIALS);
  }
  for (const e of trials) {
    const trial = provision(withHostsOn(base, new Set([...booting, e.k]), factOf), config);
    let fits = 0;
    for (const c of trial.claims) {
      if (c.provider !== e.provider || c.host !== e.name) continue;
      for (const pod of c.pods) if (waitingSet.has(pod)) fits++;
    }
    if (fits > 0) candidates.push({ provider: e.provider, host: e.name, boot: e.boot, fits });
  }
  if (candidates.length === 0) return [];
  // Most pods helped first, then the quickest boot, then the name.
  candidates.sort((a, b) =>
    b.fits - a.fits || a.boot - b.boot || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)
  );
  const best = candidates[0]!;
  // Capacity already being freed (claims being deleted) may take the pods before a boot ends.
  const estimate = input.freeingEstimate ?? 60_000;
  const freed = withFreedCapacity(base);
  if (freed && estimate < best.boot) {
    const after = provision(freed, config);
    const still = new Set(waitingForHosts(after));
    if (waiting.every((pod) => !still.has(pod))) {
      holds.push({
        provider: best.provider,
        host: best.host,
        reason: reason(
          "HostPowerHeld",
          `${best.host} stays off: capacity being freed on online hosts takes the ${waiting.length} ` +
            `waiting pod(s) in about ${seconds(estimate)}, sooner than ${best.host} boots (${
              seconds(best.boot)
            })`,
        ),
      });
      return [];
    }
  }
  return [{
    kind: "PowerOn",
    provider: best.provider,
    host: best.host,
    reason: reason(
      "HostPowerOn",
      `${waiting.length} pending pod(s) fit no online host; ${best.host} (powered off) fits ${best.fits} ` +
        `of them once booted (boot takes about ${seconds(best.boot)})`,
    ),
  }];
}
