/**
 * IPv4 address pools for static node addresses (no DHCP): the pool's written form (CIDR, ranges,
 * reserved ranges, gateway, DNS) checked and turned into integer intervals, and the addresses a
 * pool can hand out. Addresses are unsigned 32-bit integers inside the core and dotted quads at
 * the edges (configuration, NodeClaim status, VM network configuration).
 *
 * May import: nothing outside core/.
 */
import { err, ok, type Result } from "./result.ts";

/** An inclusive interval of IPv4 addresses, as integers. */
export type AddressRange = { from: number; to: number };

/** A checked IP pool: where node addresses come from on one network (one NIC/VLAN). */
export type IpPool = {
  name: string;
  /** Network address of the CIDR, as an integer. */
  network: number;
  /** CIDR prefix length (8-30 for a pool). */
  prefix: number;
  /** Addresses the pool hands out, ascending and disjoint (reserved ones and the gateway taken out at use). */
  ranges: AddressRange[];
  /** Addresses never handed out (other machines, VIPs), ascending and disjoint. */
  reserved: AddressRange[];
  gateway?: number;
  /** DNS servers written into the VM's network configuration, as given. */
  dns: string[];
  searchDomains: string[];
};

/** The written form of a pool (what the configuration holds). */
export type IpPoolInput = {
  name: string;
  cidr: string;
  ranges?: string[] | undefined;
  reserved?: string[] | undefined;
  gateway?: string | undefined;
  dns?: string[] | undefined;
  searchDomains?: string[] | undefined;
};

/** One problem of a pool's written form: the field it concerns and what is wrong. */
export type IpPoolProblem = { path: (string | number)[]; message: string };

const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A dotted-quad IPv4 address as an integer, or undefined when the text is not one. */
export function parseIpv4(text: string): number | undefined {
  if (!QUAD.test(text)) return undefined;
  return text.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** An integer IPv4 address as a dotted quad. */
export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** The netmask of a prefix length, as an integer. */
function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "10.0.0.0/24" as network and prefix; undefined when malformed or host bits are set. */
export function parseCidr(text: string): { network: number; prefix: number } | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const base = parseIpv4(m[1]!);
  const prefix = Number(m[2]);
  if (base === undefined || prefix > 32) return undefined;
  if (((base & maskOf(prefix)) >>> 0) !== base) return undefined;
  return { network: base, prefix };
}

/** "10.0.0.10-10.0.0.20" or a single "10.0.0.10" as an interval; undefined when malformed. */
export function parseRange(text: string): AddressRange | undefined {
  const parts = text.split("-").map((s) => s.trim());
  if (parts.length > 2) return undefined;
  const from = parseIpv4(parts[0]!);
  const to = parts.length === 2 ? parseIpv4(parts[1]!) : from;
  if (from === undefined || to === undefined || from > to) return undefined;
  return { from, to };
}

/** The CIDR's host addresses (network and broadcast left out). */
function hostRange(network: number, prefix: number): AddressRange {
  const last = (network | (~maskOf(prefix) >>> 0)) >>> 0;
  return { from: network + 1, to: last - 1 };
}

/**
 * Checks a pool's written form and returns it as intervals: the CIDR has no host bits and a
 * prefix of 8-30; ranges, reserved ranges and the gateway lie inside its host addresses; ranges
 * do not overlap one another. Without `ranges` the pool is the CIDR's host addresses.
 */
export function checkIpPool(input: IpPoolInput): Result<IpPool, IpPoolProblem[]> {
  const problems: IpPoolProblem[] = [];
  const cidr = parseCidr(input.cidr);
  if (!cidr) {
    return err([{
      path: ["cidr"],
      message: `"${input.cidr}" is not an IPv4 CIDR such as 10.0.20.0/24 (no host bits set)`,
    }]);
  }
  if (cidr.prefix < 8 || cidr.prefix > 30) {
    return err([{ path: ["cidr"], message: `prefix /${cidr.prefix} is outside /8../30` }]);
  }
  const hosts = hostRange(cidr.network, cidr.prefix);
  const inside = (r: AddressRange) => r.from >= hosts.from && r.to <= hosts.to;
  const readRanges = (key: "ranges" | "reserved"): AddressRange[] => {
    const out: AddressRange[] = [];
    (input[key] ?? []).forEach((text, i) => {
      const r = parseRange(text);
      if (!r) {
        problems.push({
          path: [key, i],
          message: `"${text}" is not an address or a range such as 10.0.20.10-10.0.20.99`,
        });
      } else if (!inside(r)) {
        problems.push({
          path: [key, i],
          message: `${text} is not inside the host addresses of ${input.cidr} ` +
            `(${formatIpv4(hosts.from)}-${formatIpv4(hosts.to)})`,
        });
      } else out.push(r);
    });
    return out;
  };
  const ranges = input.ranges === undefined ? [hosts] : readRanges("ranges");
  const reserved = readRanges("reserved");
  const order = ranges.map((r, i) => ({ r, i })).sort((a, b) => a.r.from - b.r.from);
  for (let k = 1; k < order.length; k++) {
    const prev = order[k - 1]!;
    const cur = order[k]!;
    if (cur.r.from <= prev.r.to) {
      problems.push({
        path: ["ranges", cur.i],
        message: `${input.ranges?.[cur.i]} overlaps ${input.ranges?.[prev.i]}`,
      });
    }
  }
  let gateway: number | undefined;
  if (input.gateway !== undefined) {
    gateway = parseIpv4(input.gateway);
    if (gateway === undefined) {
      problems.push({ path: ["gateway"], message: `"${input.gateway}" is not an IPv4 address` });
    } else if (!inside({ from: gateway, to: gateway })) {
      problems.push({
        path: ["gateway"],
        message: `gateway ${input.gateway} is outside ${input.cidr}'s host addresses`,
      });
    }
  }
  (input.dns ?? []).forEach((d, i) => {
    if (parseIpv4(d) === undefined) {
      problems.push({ path: ["dns", i], message: `"${d}" is not an IPv4 address` });
    }
  });
  if (problems.length > 0) return err(problems);
  return ok({
    name: input.name,
    network: cidr.network,
    prefix: cidr.prefix,
    ranges: order.map((o) => o.r),
    reserved: merge(reserved),
    ...(gateway !== undefined ? { gateway } : {}),
    dns: input.dns ?? [],
    searchDomains: input.searchDomains ?? [],
  });
}

/** Sorted, merged intervals. */
function merge(rs: AddressRange[]): AddressRange[] {
  const sorted = [...rs].sort((a, b) => a.from - b.from);
  const out: AddressRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

/** Whether the pool may hand out `a`: in a range, not reserved, not the gateway. */
export function assignable(pool: IpPool, a: number): boolean {
  if (a === pool.gateway) return false;
  if (!pool.ranges.some((r) => a >= r.from && a <= r.to)) return false;
  return !pool.reserved.some((r) => a >= r.from && a <= r.to);
}

/** How many addresses the pool may hand out at most (ranges less reserved and the gateway). */
export function poolSize(pool: IpPool): number {
  let n = 0;
  for (const r of pool.ranges) {
    n += r.to - r.from + 1;
    for (const x of pool.reserved) {
      const lo = Math.max(r.from, x.from);
      const hi = Math.min(r.to, x.to);
      if (lo <= hi) n -= hi - lo + 1;
    }
  }
  if (pool.gateway !== undefined && assignableIgnoringGateway(pool, pool.gateway)) n--;
  return n;
}

function assignableIgnoringGateway(pool: IpPool, a: number): boolean {
  return pool.ranges.some((r) => a >= r.from && a <= r.to) &&
    !pool.reserved.some((r) => a >= r.from && a <= r.to);
}
