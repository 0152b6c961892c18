/**
 * Options of `proxscale manifests` and their parsing. NetworkPolicy matches IP blocks, not
 * host names, so PVE endpoints and the API server are given as IPs or CIDRs; without them the
 * policy falls back to "any address on the right port", which is still narrower than no policy.
 */
import { DEFAULT_NAMESPACE } from "../config/crd_manifests.ts";
import { err, ok, type Result } from "../../core/result.ts";

/** One egress destination: an IP block and a TCP port. */
export type EgressTarget = { cidr: string; port: number };

/** Everything the rendered manifests depend on. */
export type DeployOptions = {
  namespace: string;
  replicas: number;
  image: string;
  /** Port of /metrics, /healthz and /readyz. */
  metricsPort: number;
  /** PVE API endpoints (TCP 8006 unless the URL says otherwise); empty = any address on 8006. */
  pveEndpoints: EgressTarget[];
  /** API server addresses (after the Service's DNAT: the control-plane IPs); empty = any on 443/6443. */
  apiServer: EgressTarget[];
  /** Further egress, e.g. Redis or an OTLP collector. */
  extraEgress: EgressTarget[];
  /** Secret holding the PVE token (key `token`), mounted as a file. */
  pveTokenSecret: string;
};

/** Where the PVE token Secret is mounted; Providers point `tokenSecret.file` here. */
export const PVE_TOKEN_DIR = "/etc/proxscale/secrets";
export const PVE_TOKEN_FILE = `${PVE_TOKEN_DIR}/token`;

/** The defaults, which are also what the committed deploy/ files and values.yaml hold. */
export const DEFAULT_OPTIONS: DeployOptions = {
  namespace: DEFAULT_NAMESPACE,
  replicas: 2,
  // A placeholder: build and push the image to your registry and set this (docs/operations.md).
  image: "registry.example.com/proxscale:0.1.0",
  metricsPort: 8080,
  pveEndpoints: [],
  apiServer: [],
  extraEgress: [],
  pveTokenSecret: "proxscale-pve-token",
};

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;
const IPV6 = /^[0-9a-fA-F:]+$/;

function isIp(s: string): boolean {
  if (IPV4.test(s)) return s.split(".").every((o) => Number(o) <= 255);
  return s.includes(":") && IPV6.test(s);
}

function cidrOf(s: string): string | undefined {
  const [ip, bits, extra] = s.split("/");
  if (extra !== undefined || !ip || !isIp(ip)) return undefined;
  const max = ip.includes(":") ? 128 : 32;
  if (bits === undefined) return `${ip}/${max}`;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= max ? `${ip}/${n}` : undefined;
}

/**
 * Parses `https://10.0.0.11:8006`, `10.0.0.11`, `10.0.0.0/24` or `10.0.0.0/24:8006`
 * (`[fd00::1]:8006` for IPv6) into an egress target; `defaultPort` when none is given.
 */
export function parseEgressTarget(text: string, defaultPort: number): Result<EgressTarget, string> {
  let host = text.trim();
  let port = defaultPort;
  if (/^[a-z]+:\/\//i.test(host)) {
    let url: URL;
    try {
      url = new URL(host);
    } catch {
      return err(`"${text}" is not a URL`);
    }
    host = url.hostname.replace(/^\[|\]$/g, "");
    if (url.port) port = Number(url.port);
  } else {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(host) ?? /^([^:]+)(?::(\d+))?$/.exec(host);
    if (m) {
      host = m[1]!;
      if (m[2]) port = Number(m[2]);
    }
  }
  const cidr = cidrOf(host);
  if (!cidr) {
    return err(
      `"${text}": a NetworkPolicy matches IP addresses, not names; give an IP address or CIDR ` +
        `(e.g. https://10.0.0.11:8006 or 10.0.0.0/24)`,
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return err(`"${text}": port must be 1-65535`);
  }
  return ok({ cidr, port });
}
