/**
 * Sharing of the repeated parts of cached pods. A cluster's pods are mostly replicas: the
 * pods of one ReplicaSet carry the same namespace, labels, owner, container requests and
 * (defaulted by the API server) the same two tolerations, yet every object read from the wire
 * holds its own copies. The pod informer passes each translated pod through `internPod`, which
 * swaps those parts for one shared copy: strings by value, and small records and lists by
 * their JSON text, frozen so that no reader can change what other pods share (the core never
 * writes to a pod it was given; a write would throw). At 30,000 pods this keeps about a third
 * of the pod cache off the heap (docs/performance.md).
 *
 * The tables are bounded: past `limit` entries they start again empty, which only loses sharing
 * for a while (values that changed, e.g. the pod-template-hash of old rollouts, are dropped).
 *
 * May import: core/.
 */
import type { Pod } from "../../core/model.ts";

/** Entries kept per table before it is emptied. */
const DEFAULT_LIMIT = 50_000;

/** One canonical copy per distinct string, and per distinct (JSON-equal) small value. */
export class Interner {
  readonly #strings = new Map<string, string>();
  readonly #values = new Map<string, unknown>();
  readonly #limit: number;

  constructor(limit = DEFAULT_LIMIT) {
    this.#limit = limit;
  }

  /** The shared copy of `s`. */
  str(s: string): string {
    const had = this.#strings.get(s);
    if (had !== undefined) return had;
    if (this.#strings.size >= this.#limit) this.#strings.clear();
    this.#strings.set(s, s);
    return s;
  }

  /** The shared, deeply frozen copy of a JSON-like value (records of strings, lists, numbers). */
  value<T>(v: T): T {
    const key = JSON.stringify(v);
    const had = this.#values.get(key);
    if (had !== undefined) return had as T;
    if (this.#values.size >= this.#limit) this.#values.clear();
    const frozen = deepFreeze(v);
    this.#values.set(key, frozen);
    return frozen;
  }

  /** Entries held (strings, values), for tests. */
  get size(): { strings: number; values: number } {
    return { strings: this.#strings.size, values: this.#values.size };
  }
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * The pod with its repeated parts shared through `t`; its own fields (uid, name, times, phase
 * flags) are left as they are. Returns the same object, changed in place.
 */
export function internPod(p: Pod, t: Interner): Pod {
  p.namespace = t.str(p.namespace);
  p.phase = t.str(p.phase) as Pod["phase"];
  if (p.nodeName !== undefined) p.nodeName = t.str(p.nodeName);
  if (p.ownerKind !== undefined) p.ownerKind = t.str(p.ownerKind);
  if (p.ownerName !== undefined) p.ownerName = t.str(p.ownerName);
  if (p.labels) p.labels = t.value(p.labels);
  if (p.annotations) p.annotations = t.value(p.annotations);
  if (p.nodeSelector) p.nodeSelector = t.value(p.nodeSelector);
  if (p.tolerations) p.tolerations = t.value(p.tolerations);
  p.containers = t.value(p.containers);
  if (p.initContainers) p.initContainers = t.value(p.initContainers);
  return p;
}
