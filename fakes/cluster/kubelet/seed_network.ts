/**
 * The static IPv4 addresses a guest configures from its NoCloud network-config, read the way
 * cloud-init reads it: version 2 (`ethernets.<id>.addresses`, with or without a wrapping
 * `network:` key) and version 1 (`config: [{type: physical, subnets: [{type: static,
 * address}]}]`). The interface holding the default route comes first (gateway4, or a route to
 * 0.0.0.0/0 or `default`), since that is the address kubelet reports as the node's InternalIP
 * when no --node-ip is given. DHCP interfaces have no address here.
 *
 * May import: npm yaml, fakes/.
 */
import { parse } from "yaml";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const IPV4_CIDR = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/\d{1,2})?$/;

/** One interface's static addresses and whether it carries the default route. */
type Iface = { addresses: string[]; defaultRoute: boolean };

function v2(ethernets: Obj): Iface[] {
  return Object.keys(ethernets).sort().map((id) => {
    const e = isObj(ethernets[id]) ? ethernets[id] as Obj : {};
    const addresses = (Array.isArray(e.addresses) ? e.addresses : [])
      .map((a) => IPV4_CIDR.exec(String(a))?.[1])
      .filter((a): a is string => a !== undefined);
    const routes = Array.isArray(e.routes) ? e.routes : [];
    const defaultRoute = typeof e.gateway4 === "string" ||
      routes.some((r) => isObj(r) && (r.to === "0.0.0.0/0" || r.to === "default"));
    return { addresses, defaultRoute };
  });
}

function v1(config: unknown[]): Iface[] {
  return config.filter((c): c is Obj => isObj(c) && c.type === "physical").map((c) => {
    const subnets = (Array.isArray(c.subnets) ? c.subnets : []).filter(isObj)
      .filter((s) => s.type === "static");
    return {
      addresses: subnets.map((s) => IPV4_CIDR.exec(String(s.address))?.[1])
        .filter((a): a is string => a !== undefined),
      defaultRoute: subnets.some((s) => typeof s.gateway === "string"),
    };
  });
}

/** The static IPv4 addresses of a network-config text, default-route interface first. */
export function networkConfigAddresses(text: string): string[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return []; // cloud-init ignores a network-config it cannot read (and falls back to DHCP)
  }
  if (isObj(doc) && isObj(doc.network)) doc = doc.network;
  if (!isObj(doc)) return [];
  const ifaces = doc.version === 1 && Array.isArray(doc.config)
    ? v1(doc.config)
    : isObj(doc.ethernets)
    ? v2(doc.ethernets)
    : [];
  const ordered = [
    ...ifaces.filter((i) => i.defaultRoute),
    ...ifaces.filter((i) => !i.defaultRoute),
  ];
  return ordered.flatMap((i) => i.addresses);
}
