/**
 * Shared by the static-address suites on the demo cluster: the demo configuration with an IP
 * pool on its Provider and every template NIC taking its address from it, and what the
 * outside sees: NodeClaims with their recorded addresses, Nodes' InternalIPs and the
 * network-config of the seed ISO attached to a VM.
 */
import type { Config } from "../../core/model.ts";
import { checkIpPool } from "../../core/ipam_pool.ts";
import { readIso } from "../../adapters/bootstrap/iso9660_reader.ts";
import type { DemoCluster } from "../../harness/cluster.ts";

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms for up to `limitMs`; its last answer. */
export async function until(cond: () => boolean, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

/**
 * The demo configuration with IP pool `nodes` (10.0.20.0/24, `ranges`, .10 reserved, gateway
 * .1, DNS 10.0.0.53) on its Provider, net0 of every template taking its address from it, and a
 * short launch backoff.
 */
export function withPool(ranges = ["10.0.20.10-10.0.20.12"]): (c: Config) => Config {
  const pool = checkIpPool({
    name: "nodes",
    cidr: "10.0.20.0/24",
    ranges,
    reserved: ["10.0.20.10"],
    gateway: "10.0.20.1",
    dns: ["10.0.0.53"],
  });
  if (!pool.ok) throw new Error(`the test pool is invalid: ${JSON.stringify(pool.error)}`);
  return (c) => ({
    ...c,
    settings: { ...c.settings, launchBackoff: { base: 500, max: 1_000, maxClaimsPerHour: 100 } },
    providers: c.providers.map((p) => ({ ...p, ipPools: [pool.value] })),
    machineTemplates: c.machineTemplates.map((t) => ({
      ...t,
      network: [{ slot: "net0", model: "virtio", bridge: "vmbr0", ipPool: "nodes" }],
    })),
  });
}

/** A NodeClaim as stored, with the status fields these suites read. */
export type ClaimObj = {
  metadata: { name: string };
  status?: { vmid?: number; addresses?: { slot: string; pool: string; address: string }[] };
};
type NodeObj = {
  metadata: { name: string };
  status?: { addresses?: { type: string; address: string }[] };
};

/** The NodeClaims in the fake API server. */
export function claims(cluster: DemoCluster): ClaimObj[] {
  const l = cluster.kube.store.list("nodeclaims.proxscale.io");
  return l.ok ? l.value.items as unknown as ClaimObj[] : [];
}

/** Every Node's InternalIP. */
export function internalIps(cluster: DemoCluster): string[] {
  const l = cluster.kube.store.list("nodes");
  if (!l.ok) return [];
  return (l.value.items as unknown as NodeObj[]).flatMap((n) =>
    (n.status?.addresses ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address)
  );
}

/** The network-config of the seed ISO attached to a VM, read off the fake PVE's storage. */
export function seedNetworkConfig(cluster: DemoCluster, vmid: number): string | undefined {
  const res = cluster.pve.model.resources("vm");
  if (!res.ok) return undefined;
  const entry = res.value.find((v) => Number(v.vmid) === vmid);
  if (!entry) return undefined;
  const cfg = cluster.pve.model.getConfig(String(entry.node), vmid);
  if (!cfg.ok) return undefined;
  for (const value of Object.values(cfg.value)) {
    if (typeof value !== "string" || !/:iso\//.test(value)) continue;
    const data = cluster.pve.model.volumeData(String(entry.node), value.split(",")[0]!);
    const iso = data ? readIso(data) : undefined;
    const f = iso?.ok ? iso.value.rockRidge.find((x) => x.name === "network-config") : undefined;
    if (f) return new TextDecoder().decode(f.data);
  }
  return undefined;
}
