/**
 * Static address allocation (IPAM): which address of an IP pool a NodeClaim's NIC gets. An
 * address is free when the pool may hand it out (core/ipam_pool.ts: in a range, not reserved,
 * not the gateway), no live NodeClaim holds it, and no VM proxscale does not own uses it. The
 * choice is the lowest free address, so the same world always gives the same answer; a claim
 * that already holds addresses keeps them (a launch resumed after a crash). A claim holds its
 * addresses until it is gone, and it is gone only once its VM is destroyed, so an address is
 * never on two live VMs.
 *
 * May import: nothing outside core/.
 */
import type { ClaimAddress, Config, MachineTemplate, NodeClaim } from "./model.ts";
import { type Reason, reason } from "./reason.ts";
import { err, ok, type Result } from "./result.ts";
import { assignable, formatIpv4, type IpPool, parseIpv4, poolSize } from "./ipam_pool.ts";

/** The addresses one live NodeClaim holds. */
export type AddressHolder = { claim: string; addresses: readonly ClaimAddress[] };

/** A NIC that takes a static address, and the pool it takes it from. */
export type PooledNic = { slot: string; pool: IpPool };

/** Everything an allocation looks at, as plain data. */
export type IpamInput = {
  /** The NodeClaim addresses are chosen for. */
  claim: string;
  nics: readonly PooledNic[];
  /** Live NodeClaims of the same Provider (the claim itself included, when it holds some). */
  held: readonly AddressHolder[];
  /** Addresses VMs proxscale does not own use (their cloud-init configuration), dotted quads. */
  foreign: Iterable<string>;
};

/** A pool has no free address left for the claim. */
export type IpPoolExhausted = {
  kind: "IpPoolExhausted";
  pool: string;
  /** Addresses the pool may hand out at most. */
  size: number;
  /** Of those, held by live NodeClaims. */
  held: number;
  /** Of those, used by VMs proxscale does not own. */
  foreign: number;
};

/**
 * The addresses for the claim's pooled NICs, one per NIC in `nics` order: the ones it already
 * holds for that slot and pool, else the lowest free address of the pool (two NICs on one pool
 * get two addresses). `IpPoolExhausted` names the first pool with nothing free.
 */
export function allocateAddresses(input: IpamInput): Result<ClaimAddress[], IpPoolExhausted> {
  const own = input.held.find((h) => h.claim === input.claim)?.addresses ?? [];
  const blocked = new Map<string, Set<number>>(); // pool name -> addresses not to hand out
  const blockedIn = (pool: string) => {
    let s = blocked.get(pool);
    if (!s) {
      s = new Set(foreignNumbers(input.foreign));
      for (const h of input.held) {
        for (const a of h.addresses) {
          const n = parseIpv4(a.address);
          if (n !== undefined) s.add(n);
        }
      }
      blocked.set(pool, s);
    }
    return s;
  };
  const out: ClaimAddress[] = [];
  for (const nic of input.nics) {
    const kept = own.find((a) => a.slot === nic.slot && a.pool === nic.pool.name);
    if (kept) {
      out.push({ slot: nic.slot, pool: nic.pool.name, address: kept.address });
      continue;
    }
    const taken = blockedIn(nic.pool.name);
    const found = lowestFree(nic.pool, taken);
    if (found === undefined) {
      const usage = poolUsage(nic.pool, input.held, input.foreign);
      return err({
        kind: "IpPoolExhausted",
        pool: nic.pool.name,
        size: usage.size,
        held: usage.held,
        foreign: usage.foreign,
      });
    }
    taken.add(found);
    out.push({ slot: nic.slot, pool: nic.pool.name, address: formatIpv4(found) });
  }
  return ok(out);
}

function foreignNumbers(foreign: Iterable<string>): number[] {
  const out: number[] = [];
  for (const a of foreign) {
    const n = parseIpv4(a);
    if (n !== undefined) out.push(n);
  }
  return out;
}

/**
 * The lowest address the pool may hand out that is not in `taken`, or undefined. Walks each
 * range upwards, jumping over reserved intervals; every step passes a taken address, a
 * reserved interval or the gateway, so it ends after at most taken + reserved + 2 steps a range.
 */
function lowestFree(pool: IpPool, taken: ReadonlySet<number>): number | undefined {
  for (const r of pool.ranges) {
    let a = r.from;
    while (a <= r.to) {
      const res = pool.reserved.find((x) => a >= x.from && a <= x.to);
      if (res) {
        a = res.to + 1;
        continue;
      }
      if (a === pool.gateway || taken.has(a)) {
        a++;
        continue;
      }
      return a;
    }
  }
  return undefined;
}

/** How a pool's addresses are used: what `status` and the metrics show. */
export type PoolUsage = { size: number; held: number; foreign: number; free: number };

/**
 * The pool's usage: addresses it may hand out, those held by live NodeClaims (of this pool),
 * those used by VMs proxscale does not own, and the rest, free.
 */
export function poolUsage(
  pool: IpPool,
  held: readonly AddressHolder[],
  foreign: Iterable<string>,
): PoolUsage {
  const size = poolSize(pool);
  const mine = new Set<number>();
  for (const h of held) {
    for (const a of h.addresses) {
      const n = parseIpv4(a.address);
      if (a.pool === pool.name && n !== undefined && assignable(pool, n)) mine.add(n);
    }
  }
  const theirs = new Set<number>();
  for (const n of foreignNumbers(foreign)) {
    if (assignable(pool, n) && !mine.has(n)) theirs.add(n);
  }
  return {
    size,
    held: mine.size,
    foreign: theirs.size,
    free: Math.max(0, size - mine.size - theirs.size),
  };
}

/** One IP pool's usage, for `status` and `proxscale_ip_pool_addresses`. */
export type IpPoolStatus = { provider: string; pool: string } & PoolUsage;

/**
 * Every configured IP pool's usage: held = on live NodeClaims of its Provider, foreign = used
 * by other VMs per `vmAddresses(provider)` (what PVE last showed), free = the rest.
 */
export function ipPoolStatuses(
  config: Config,
  claims: readonly NodeClaim[],
  vmAddresses: (provider: string) => readonly string[] = () => [],
): IpPoolStatus[] {
  return config.providers.flatMap((p) => {
    if (!p.ipPools?.length) return [];
    const held = claims.filter((c) => c.provider === p.name && c.addresses?.length)
      .map((c) => ({ claim: c.name, addresses: c.addresses! }));
    const foreign = vmAddresses(p.name);
    return p.ipPools.map((pool) => ({
      provider: p.name,
      pool: pool.name,
      ...poolUsage(pool, held, foreign),
    }));
  });
}

/** The Reason a launch, an Event and the claim carry when a pool has nothing free. */
export function ipPoolExhaustedReason(e: IpPoolExhausted, provider: string): Reason {
  return reason(
    "IpPoolExhausted",
    `IP pool '${e.pool}' of Provider '${provider}' has no free address: ${e.size} addresses, ` +
      `${e.held} held by NodeClaims, ${e.foreign} used by other VMs`,
  );
}

/**
 * The template's NICs that take a static address, with their pools; a NIC naming a pool the
 * Provider lacks (the loader refuses such a configuration) is a ConfigInvalid reason.
 */
export function pooledNics(
  template: MachineTemplate,
  pools: readonly IpPool[],
): Result<PooledNic[], Reason> {
  const out: PooledNic[] = [];
  for (const n of template.network) {
    if (n.ipPool === undefined) continue;
    const pool = pools.find((p) => p.name === n.ipPool);
    if (!pool) {
      return err(reason(
        "ConfigInvalid",
        `MachineTemplate ${template.name} ${n.slot} names IP pool ${n.ipPool}, which its ` +
          `Provider does not have`,
      ));
    }
    out.push({ slot: n.slot, pool });
  }
  return ok(out);
}

/**
 * The template as the claim's VM gets it: each pooled NIC's cloud-init `ipconfig` becomes its
 * static address with the pool's prefix and gateway (`ip=10.0.20.5/24,gw=10.0.20.1`), and the
 * pools' DNS servers and search domains fill in a nameserver and searchdomain the template does
 * not set. Both the NoCloud network-config and PVE's own cloud-init read these fields.
 */
export function templateWithAddresses(
  template: MachineTemplate,
  pools: readonly IpPool[],
  addresses: readonly ClaimAddress[],
): MachineTemplate {
  if (addresses.length === 0) return template;
  const used: IpPool[] = [];
  const network = template.network.map((n) => {
    const a = addresses.find((x) => x.slot === n.slot);
    const pool = a ? pools.find((p) => p.name === a.pool) : undefined;
    if (!a || !pool) return n;
    used.push(pool);
    const gw = pool.gateway !== undefined ? `,gw=${formatIpv4(pool.gateway)}` : "";
    return { ...n, ipconfig: `ip=${a.address}/${pool.prefix}${gw}` };
  });
  const dns = [...new Set(used.flatMap((p) => p.dns))];
  const search = [...new Set(used.flatMap((p) => p.searchDomains))];
  const bootstrap = { ...template.bootstrap };
  if (bootstrap.nameserver === undefined && dns.length > 0) bootstrap.nameserver = dns.join(" ");
  if (bootstrap.searchdomain === undefined && search.length > 0) {
    bootstrap.searchdomain = search.join(" ");
  }
  return { ...template, network, bootstrap };
}
