/**
 * Watch fan-out for the store: which event a watcher sees for
 * a committed write, judged on both the old and the new object so that objects entering or
 * leaving a selector produce ADDED or DELETED, and DELETED always carries the deletion's new
 * resourceVersion (with the old one, clients replay the deletion).
 */
import type { KObj } from "./objects.ts";
import { fieldValue } from "./objects.ts";
import type { ResourceDef } from "./resources.ts";
import { matchFields, matchLabels } from "./selectors.ts";
import type { HistoryEvent, Watcher } from "./store_types.ts";

/** Does the object fall inside the watcher's namespace and selectors? */
export function watcherMatches(def: ResourceDef, w: Watcher, o: KObj): boolean {
  if (w.namespace !== undefined && def.namespaced && o.metadata.namespace !== w.namespace) {
    return false;
  }
  return matchLabels(w.labels, o.metadata.labels) &&
    matchFields(w.fields, (f) => fieldValue(def, o, f));
}

/** Sends the event (if any) this watcher should see for one committed write. */
export function deliver(def: ResourceDef, w: Watcher, ev: HistoryEvent): void {
  if (ev.rv <= w.fromRv) return;
  const now = watcherMatches(def, w, ev.obj);
  if (ev.type === "ADDED") {
    if (now) w.send({ type: "ADDED", object: ev.obj });
  } else if (ev.type === "DELETED") {
    if (now) w.send({ type: "DELETED", object: ev.obj });
  } else {
    const before = ev.prev ? watcherMatches(def, w, ev.prev) : false;
    if (before && now) w.send({ type: "MODIFIED", object: ev.obj });
    else if (now) w.send({ type: "ADDED", object: ev.obj });
    else if (before) {
      const gone = {
        ...ev.prev!,
        metadata: { ...ev.prev!.metadata, resourceVersion: String(ev.rv) },
      };
      w.send({ type: "DELETED", object: gone });
    }
  }
}
