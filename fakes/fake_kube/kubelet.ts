/**
 * The fake kubelet's one duty the API server relies on (graceful pod deletion never finishes
 * by itself): once a pod's (scaled) grace period has passed, finish its graceful deletion.
 * "hold" keeps pods Terminating for ever, to test stuck deletions.
 */
import type { KObj } from "./objects.ts";

/** Finishes graceful deletions on timers; `close` cancels the pending ones. */
export class FakeKubelet {
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #mode: { scale: number } | "hold";
  #finish: (o: KObj) => void;

  /** `finish` is called with the marked pod once its grace period is over. */
  constructor(mode: { scale: number } | "hold", finish: (o: KObj) => void) {
    this.#mode = mode;
    this.#finish = finish;
  }

  #key(o: KObj): string {
    return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  }

  /** Schedules the end of a deletion `graceSeconds` (× scale) from now, replacing any earlier one. */
  schedule(o: KObj, graceSeconds: number): void {
    if (this.#mode === "hold") return;
    this.cancel(o);
    const key = this.#key(o);
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.#finish(o);
    }, graceSeconds * 1000 * this.#mode.scale);
    this.#timers.set(key, t);
  }

  /** Forgets a pending deletion (the pod went away by other means). */
  cancel(o: KObj): void {
    const key = this.#key(o);
    const t = this.#timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(key);
  }

  /** Cancels every pending deletion. */
  close(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
