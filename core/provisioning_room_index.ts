/**
 * A class's candidate bins in first-fit order, indexed by room: finds the first candidate at or
 * after a position whose recorded room holds a request, without looking at the ones too small.
 * Rooms only shrink during a decision, so a recorded room is never smaller than the real one:
 * the caller checks the real room of what is found and records it (`shrink`) when it is less.
 *
 * May import: nothing outside core/.
 */

/** Candidate bin indexes with an upper bound of each one's room (cpu, memory), in order. */
export class RoomIndex {
  /** Bin index per position; -1 once dropped. */
  readonly bins: number[] = [];
  #size = 1;
  #cpu = new Float64Array(2).fill(-Infinity);
  #mem = new Float64Array(2).fill(-Infinity);

  /** Number of positions (dropped ones included). */
  get length(): number {
    return this.bins.length;
  }

  /** Appends a candidate with its current room. */
  push(bin: number, cpu: number, memory: number) {
    const pos = this.bins.length;
    this.bins.push(bin);
    if (pos >= this.#size) this.#grow();
    this.#set(pos, cpu, memory);
  }

  /** Drops a candidate for good. */
  drop(pos: number) {
    this.bins[pos] = -1;
    this.#set(pos, -Infinity, -Infinity);
  }

  /** Records a smaller room for a candidate. */
  shrink(pos: number, cpu: number, memory: number) {
    this.#set(pos, cpu, memory);
  }

  /** The first position >= from whose recorded room holds (cpu, memory), or -1. */
  first(from: number, cpu: number, memory: number): number {
    if (from >= this.bins.length) return -1;
    const size = this.#size;
    const cpus = this.#cpu;
    const mems = this.#mem;
    // Nothing anywhere holds it (the root has the maxima of all).
    if (!(cpus[1]! >= cpu && mems[1]! >= memory)) return -1;
    // From the leaf rightwards: a subtree whose maxima hold the request is entered (left child
    // first); one that does not is passed for the next subtree to its right.
    let i = from + size;
    for (;;) {
      if (cpus[i]! >= cpu && mems[i]! >= memory) {
        if (i >= size) return i - size < this.bins.length ? i - size : -1;
        i = 2 * i;
        continue;
      }
      while (i & 1) i >>= 1;
      if (i === 0) return -1;
      i++;
    }
  }

  #set(pos: number, cpu: number, memory: number) {
    const cpus = this.#cpu;
    const mems = this.#mem;
    let i = pos + this.#size;
    cpus[i] = cpu;
    mems[i] = memory;
    // A node whose maxima come out unchanged leaves every ancestor unchanged too.
    for (i >>= 1; i >= 1; i >>= 1) {
      const c = Math.max(cpus[2 * i]!, cpus[2 * i + 1]!);
      const m = Math.max(mems[2 * i]!, mems[2 * i + 1]!);
      if (cpus[i] === c && mems[i] === m) break;
      cpus[i] = c;
      mems[i] = m;
    }
  }

  #grow() {
    const old = this.#size;
    const oldCpu = this.#cpu;
    const oldMem = this.#mem;
    this.#size = old * 2;
    this.#cpu = new Float64Array(2 * this.#size).fill(-Infinity);
    this.#mem = new Float64Array(2 * this.#size).fill(-Infinity);
    this.#cpu.set(oldCpu.subarray(old, 2 * old), this.#size);
    this.#mem.set(oldMem.subarray(old, 2 * old), this.#size);
    for (let i = this.#size - 1; i >= 1; i--) {
      this.#cpu[i] = Math.max(this.#cpu[2 * i]!, this.#cpu[2 * i + 1]!);
      this.#mem[i] = Math.max(this.#mem[2 * i]!, this.#mem[2 * i + 1]!);
    }
  }
}
