/**
 * The watch-list protocol (`sendInitialEvents`): ListOptions validation with the API
 * server's 422 messages, and the bookmark that marks the end of the initial events.
 * A watch with `sendInitialEvents=true&resourceVersionMatch=NotOlderThan` first gets an
 * ADDED event per current object, then (with `allowWatchBookmarks=true`) a BOOKMARK whose
 * metadata carries the annotation `k8s.io/initial-events-end: "true"`, then live changes.
 *
 * May import: status.ts, resources.ts (types).
 */
import type { ResourceDef } from "./resources.ts";
import { invalid, type Status, type StatusCause } from "./status.ts";

/** The annotation that marks the end of a watch's initial events. */
export const INITIAL_EVENTS_END = "k8s.io/initial-events-end";

const NOT_OLDER = "NotOlderThan";

/** Validates the list/watch options of a collection GET; undefined when fine. */
export function listOptionsInvalid(q: URLSearchParams, watch: boolean): Status | undefined {
  const causes: StatusCause[] = [];
  const forbid = (field: string, detail: string) =>
    causes.push({ reason: "FieldValueForbidden", field, message: `Forbidden: ${detail}` });
  const match = q.get("resourceVersionMatch") ?? "";
  const initial = q.get("sendInitialEvents");
  const cont = q.get("continue") ?? "";
  if (watch) {
    if (initial !== null && match !== NOT_OLDER) {
      forbid(
        "resourceVersionMatch",
        `sendInitialEvents requires setting resourceVersionMatch to ${NOT_OLDER}`,
      );
    }
    if (match) {
      if (initial === null) {
        forbid(
          "resourceVersionMatch",
          "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        );
      }
      if (match !== NOT_OLDER) {
        causes.push({
          reason: "FieldValueNotSupported",
          field: "resourceVersionMatch",
          message: `Unsupported value: "${match}": supported values: "${NOT_OLDER}"`,
        });
      }
      if (cont) {
        forbid(
          "resourceVersionMatch",
          "resourceVersionMatch is forbidden when continue is provided",
        );
      }
    }
  } else {
    if (match) {
      if (!q.get("resourceVersion")) {
        forbid(
          "resourceVersionMatch",
          "resourceVersionMatch is forbidden unless resourceVersion is provided",
        );
      }
      if (cont) {
        forbid(
          "resourceVersionMatch",
          "resourceVersionMatch is forbidden when continue is provided",
        );
      }
      if (match !== "Exact" && match !== NOT_OLDER) {
        causes.push({
          reason: "FieldValueNotSupported",
          field: "resourceVersionMatch",
          message: `Unsupported value: "${match}": supported values: "Exact", "${NOT_OLDER}", ""`,
        });
      }
    }
    if (initial !== null) forbid("sendInitialEvents", "sendInitialEvents is forbidden for list");
  }
  if (!causes.length) return undefined;
  return invalid("ListOptions.meta.k8s.io", "", causes, {
    group: "meta.k8s.io",
    kind: "ListOptions",
  });
}

/** The bookmark that ends the initial events of a watch-list stream. */
export function initialEventsEnd(
  def: ResourceDef,
  resourceVersion: string,
): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    resourceVersion,
    annotations: { [INITIAL_EVENTS_END]: "true" },
  };
  if (def.builtin) metadata.creationTimestamp = null;
  return {
    kind: def.kind,
    apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
    metadata,
  };
}
