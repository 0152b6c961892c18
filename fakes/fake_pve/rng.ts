/**
 * Seeded pseudo-random numbers for the fake PVE: MACs, UUIDs, UPID pids and probabilistic
 * faults all come from here so that a run is reproducible from its seed (no Math.random).
 */

/** A deterministic generator (mulberry32); same seed, same sequence. */
export class SeededRng {
  #state: number;

  constructor(seed: number) {
    this.#state = (seed >>> 0) ^ 0x9e3779b9;
  }

  /** Next float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** `n` random bytes. */
  bytes(n: number): number[] {
    return Array.from({ length: n }, () => this.int(256));
  }

  /** A version-4 UUID as PVE prints it (lower case). */
  uuid(): string {
    const b = this.bytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = b.map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
      h.slice(20)
    }`;
  }

  /** A MAC under the datacenter prefix, upper case like PVE prints it. */
  mac(prefix = "BC:24:11"): string {
    const tail = this.bytes(3).map((x) => x.toString(16).padStart(2, "0").toUpperCase());
    return [prefix, ...tail].join(":");
  }
}
