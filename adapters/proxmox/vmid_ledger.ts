/**
 * This process's memory of VMIDs: ids reserved for creates in flight (with a TTL, so a crashed
 * launch cannot hold an id forever) and ids freed recently (quarantined, because PVE hands a
 * freed id to the next caller at once and a late task could still address it). core/vmid.ts
 * takes both lists as plain data.
 */
export class VmidLedger {
  readonly #reserved = new Map<number, number>();
  readonly #quarantine = new Map<number, number>();

  constructor(readonly now: () => number) {}

  /** Holds `vmid` for `ttlMs`; false if it is already held. */
  reserve(vmid: number, ttlMs: number): boolean {
    this.#prune();
    if (this.#reserved.has(vmid)) return false;
    this.#reserved.set(vmid, this.now() + ttlMs);
    return true;
  }

  release(vmid: number): void {
    this.#reserved.delete(vmid);
  }

  /** Keeps a freed (or lost-to-a-collision) id out of circulation for `ms`. */
  quarantine(vmid: number, ms: number): void {
    this.#quarantine.set(vmid, Math.max(this.#quarantine.get(vmid) ?? 0, this.now() + ms));
  }

  reserved(): number[] {
    this.#prune();
    return [...this.#reserved.keys()];
  }

  quarantined(): number[] {
    this.#prune();
    return [...this.#quarantine.keys()];
  }

  #prune(): void {
    const now = this.now();
    for (const [id, until] of this.#reserved) if (until <= now) this.#reserved.delete(id);
    for (const [id, until] of this.#quarantine) if (until <= now) this.#quarantine.delete(id);
  }
}
