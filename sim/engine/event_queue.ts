/**
 * The event queue: a binary min-heap ordered by (time, class, key, insertion sequence), so
 * equal timestamps resolve by a fixed rule (docs/simulation.md, 'The world') — departures,
 * then world transitions, then arrivals, then controller wake-ups — never by heap accident.
 *
 * May import: nothing.
 */

/** Order of events that share a timestamp. */
export const EventClass = {
  Departure: 0,
  World: 1,
  Arrival: 2,
  Controller: 3,
} as const;
export type EventClass = typeof EventClass[keyof typeof EventClass];

/** One scheduled event; `payload` is the engine's business. */
export type QueuedEvent<T> = {
  time: number;
  cls: EventClass;
  key: string;
  seq: number;
  payload: T;
};

function before<T>(a: QueuedEvent<T>, b: QueuedEvent<T>): boolean {
  if (a.time !== b.time) return a.time < b.time;
  if (a.cls !== b.cls) return a.cls < b.cls;
  if (a.key !== b.key) return a.key < b.key;
  return a.seq < b.seq;
}

/** A binary heap of events; push and pop are O(log n). */
export class EventQueue<T> {
  #heap: QueuedEvent<T>[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `payload` at `time` (ms of virtual time). */
  push(time: number, cls: EventClass, key: string, payload: T): void {
    const h = this.#heap;
    const e = { time, cls, key, seq: this.#seq++, payload };
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  /** The earliest event, without removing it. */
  peek(): QueuedEvent<T> | undefined {
    return this.#heap[0];
  }

  /** Removes and returns the earliest event. */
  pop(): QueuedEvent<T> | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
