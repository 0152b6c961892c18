/**
 * Test helpers for the queue: virtual timers for the memory queue, so backoff and retention
 * can be checked to the millisecond without waiting. Test-only.
 */
import type { QueueTimers } from "../memory.ts";

type Pending = { at: number; seq: number; fn: () => void };

/** A virtual clock: time moves only in `advance`, which fires due timers in order. */
export class VirtualTimers implements QueueTimers {
  #t: number;
  #seq = 0;
  #pending = new Map<number, Pending>();

  constructor(start = 0) {
    this.#t = start;
  }

  now(): number {
    return this.#t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const seq = ++this.#seq;
    this.#pending.set(seq, { at: this.#t + Math.max(0, ms), seq, fn });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }

  /** Timers not yet fired. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Moves time forward by `ms`, firing each due timer at its own time, letting jobs run between. */
  async advance(ms: number): Promise<void> {
    const target = this.#t + ms;
    await settle();
    for (;;) {
      const next = [...this.#pending.values()]
        .filter((p) => p.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.#pending.delete(next.seq);
      this.#t = next.at;
      next.fn();
      await settle();
    }
    this.#t = target;
    await settle();
  }
}

/** Lets queued promise callbacks and microtasks run (handlers awaiting resolved promises). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setTimeout(r, 0));
}
