/**
 * The VM configs the Provider's listing reads, kept between passes. A listing needs each managed
 * VM's config (its description carries the NodeClaim identity, its tags and sizes), and reading
 * all of them on every pass costs one API call per VM: 1,000 calls every few seconds at 1,000
 * VMs, which is most of a pass's time and garbage. A config is read again when the listing shows
 * the VM changed in a way a config write shows at once (`tags`, `lock`, `template`) or once the
 * statistics catch up (`name`, `maxcpu`, `maxmem`), and in any case after `ttlMs`, so an edit the
 * listing cannot show (a description changed by hand) is seen within that time. A locked VM (a
 * clone, a migration, a config change under way) is always read, and read again once unlocked;
 * a VM gone from the listing is forgotten. The Provider's own writes are seen at once: a clone
 * holds a lock until its description is written, and the config step sets the tags.
 *
 * The expiry of each entry is spread over [ttlMs/2, ttlMs) by its VMID, so that 1,000 VMs first
 * read in the same pass are not all read again in one later pass.
 *
 * May import: core/, this folder.
 */
import type { ResourceVm, VmConfig } from "./schemas.ts";

type Entry = { seen: string; config: VmConfig; until: number };

/**
 * The parts of a config the listing turns into a Machine (provider_view.ts `machine`): identity,
 * tags, name, size, creation time. Disks, network and cloud-init lines are not kept, so the
 * cache costs ~200 bytes per VM rather than the whole config.
 */
function listingFields(c: VmConfig): VmConfig {
  const out: Record<string, unknown> = { digest: c.digest };
  for (const k of ["name", "description", "tags", "memory", "cores", "sockets", "meta"]) {
    if (c[k] !== undefined) out[k] = c[k];
  }
  return out as VmConfig;
}

/** What the listing shows of a VM that a config write would change. */
function seenOf(v: ResourceVm): string {
  return `${v.node}\u0000${v.tags ?? ""}\u0000${v.name ?? ""}\u0000${v.maxcpu ?? ""}\u0000${
    v.maxmem ?? ""
  }`;
}

export class ListingConfigs {
  /** By VMID (unique in a PVE cluster; a migration changes the node, which `seen` holds). */
  readonly #cache = new Map<number, Entry>();

  constructor(private readonly now: () => number, private readonly ttlMs = 60_000) {}

  /** The config last read for `v`, if the listing shows no change since and it has not expired. */
  get(v: ResourceVm): VmConfig | undefined {
    if (v.lock !== undefined || v.template) {
      // Whatever the lock was for may change the config: read again once it is released.
      this.#cache.delete(v.vmid);
      return undefined;
    }
    const e = this.#cache.get(v.vmid);
    if (!e || e.until <= this.now() || e.seen !== seenOf(v)) return undefined;
    return e.config;
  }

  /** Keeps `config`, read while the listing showed `v`. */
  set(v: ResourceVm, config: VmConfig): void {
    if (v.lock !== undefined || v.template) return;
    // Golden-ratio spread of the VMID over half the TTL.
    const spread = ((v.vmid * 0.6180339887) % 1) * this.ttlMs / 2;
    this.#cache.set(v.vmid, {
      seen: seenOf(v),
      config: listingFields(config),
      until: this.now() + this.ttlMs / 2 + spread,
    });
  }

  /** Drops every VM the listing no longer shows. */
  keepOnly(listed: ReadonlySet<number>): void {
    for (const vmid of this.#cache.keys()) if (!listed.has(vmid)) this.#cache.delete(vmid);
  }
}
