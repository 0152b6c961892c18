/**
 * One stored Event, two served shapes (core/v1 and events.k8s.io/v1): the store keeps core/v1
 * Events and converts to and from events.k8s.io/v1 at the edge, so an Event written through
 * either API is visible through both (as `kubectl get events` and EventsV1Api expect).
 */
import type { KObj } from "./objects.ts";
import type { Json } from "./patch.ts";

// core/v1 field → events.k8s.io/v1 field; the other shared fields keep their names.
const RENAMES: [string, string][] = [
  ["involvedObject", "regarding"],
  ["message", "note"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
  ["reportingComponent", "reportingController"],
];

function rename(o: KObj, pairs: [string, string][], apiVersion: string): KObj {
  const out: Record<string, Json> = { ...o, apiVersion, kind: "Event" };
  // Only fields present are moved, so converting an object already in the target shape
  // changes nothing but apiVersion.
  for (const [from, to] of pairs) {
    if (o[from] === undefined) continue;
    out[to] = o[from];
    delete out[from];
  }
  return out as KObj;
}

/** A stored core/v1 Event as events.k8s.io/v1 shows it. */
export function coreToEventsV1(o: KObj): KObj {
  return rename(o, RENAMES, "events.k8s.io/v1");
}

/** An events.k8s.io/v1 Event in the core/v1 form the store keeps. */
export function eventsV1ToCore(o: KObj): KObj {
  return rename(o, RENAMES.map(([a, b]) => [b, a]), "v1");
}
