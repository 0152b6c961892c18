/**
 * The static IPv4 addresses the VMs of a PVE cluster use, read from their cloud-init config
 * (`ipconfigN: ip=A/NN,...`): what the IP pools must not hand out. Every QEMU VM counts, ours
 * too (a VM whose NodeClaim is gone but which still runs keeps its address until it is
 * destroyed). Each VM's config is read once and kept for `ttlMs`; a VMID not seen before is
 * read at once, so a new VM is never missed, and a VM gone from the listing is forgotten.
 *
 * May import: core/, this folder.
 */
import { err, ok, type Result } from "../../core/result.ts";
import type { PveClient } from "./client.ts";
import type { PveError } from "./errors.ts";
import type { VmConfig } from "./schemas.ts";
import { parseProps } from "./vm_config.ts";

/** The addresses one VM config's `ipconfigN` lines give (static IPv4 only; dhcp has none). */
export function configAddresses(c: VmConfig): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(c)) {
    if (!/^ipconfig\d+$/.test(key) || typeof value !== "string") continue;
    const ip = parseProps(value, "ip").get("ip");
    const m = ip ? /^(\d{1,3}(?:\.\d{1,3}){3})\/\d{1,2}$/.exec(ip) : null;
    if (m) out.push(m[1]!);
  }
  return out;
}

type Entry = { addresses: string[]; until: number };

/** Reads the addresses of a cluster's VMs, with a per-VM cache. */
export class VmAddressReader {
  readonly #cache = new Map<string, Entry>();

  constructor(
    private readonly client: Pick<PveClient, "resourcesVm" | "vmConfig" | "hostTripped">,
    private readonly now: () => number,
    private readonly ttlMs = 60_000,
  ) {}

  /** The addresses of the last read (cached VMs), without asking PVE. */
  known(): string[] {
    return [...new Set([...this.#cache.values()].flatMap((e) => e.addresses))].sort();
  }

  /**
   * Every static address in the cluster's VM configs, sorted and de-duplicated. A VM on a host
   * that cannot be read keeps its cached addresses (or none when never read); any other failed
   * read fails the whole answer, so a pool never hands out an address it could not check.
   */
  async addresses(): Promise<Result<string[], { step: string; error: PveError }>> {
    const res = await this.client.resourcesVm();
    if (!res.ok) return err({ step: "list VMs", error: res.error });
    const now = this.now();
    const seen = new Set<string>();
    const all = new Set<string>();
    for (const v of res.value) {
      if (v.type !== "qemu" || v.template) continue;
      const key = `${v.node}/${v.vmid}`;
      seen.add(key);
      const cached = this.#cache.get(key);
      if (cached && (cached.until > now || this.client.hostTripped(v.node))) {
        for (const a of cached.addresses) all.add(a);
        continue;
      }
      if (this.client.hostTripped(v.node)) continue;
      const cfg = await this.client.vmConfig(v.node, v.vmid);
      if (!cfg.ok) {
        if (cfg.error.kind === "notFound") continue;
        return err({ step: `read config of VM ${v.vmid}`, error: cfg.error });
      }
      const addresses = configAddresses(cfg.value);
      this.#cache.set(key, { addresses, until: now + this.ttlMs });
      for (const a of addresses) all.add(a);
    }
    for (const key of [...this.#cache.keys()]) if (!seen.has(key)) this.#cache.delete(key);
    return ok([...all].sort());
  }
}
