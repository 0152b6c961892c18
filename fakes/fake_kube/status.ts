/**
 * Kubernetes `Status` objects with the exact codes, reasons and messages, so that clients see
 * what a v1.32 API server would send.
 */

/** A field error inside an `Invalid` Status (`details.causes`). */
export type StatusCause = { reason?: string; message: string; field?: string };

/** The `Status` object every failed request carries. */
export type Status = {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
};

/** What a handler needs to name a resource in a message: plural and group. */
export type ResourceName = { plural: string; group: string; kind: string };

/** `pods`, `leases.coordination.k8s.io`: the qualifier real messages use. */
export function qualifiedResource(r: ResourceName): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** `Pod`, `NodePool.proxscale.io`: the qualifier of `Invalid` messages. */
export function qualifiedKind(r: ResourceName): string {
  return r.group ? `${r.kind}.${r.group}` : r.kind;
}

/** Builds a failure Status; `details` fields left undefined are omitted. */
export function failure(
  code: number,
  reason: string | undefined,
  message: string,
  details?: Status["details"],
): Status {
  const s: Status = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    code,
  };
  if (reason !== undefined) s.reason = reason;
  if (details !== undefined) s.details = details;
  return s;
}

function named(r: ResourceName, name: string): NonNullable<Status["details"]> {
  const d: NonNullable<Status["details"]> = { name };
  if (r.group) d.group = r.group;
  d.kind = r.plural;
  return d;
}

/** 404 for a missing object: `pods "p1" not found`. */
export function notFound(r: ResourceName, name: string): Status {
  return failure(404, "NotFound", `${qualifiedResource(r)} "${name}" not found`, named(r, name));
}

/** Unknown path, resource or group. */
export function notFoundPath(): Status {
  return failure(404, "NotFound", "the server could not find the requested resource", {});
}

/** 409 AlreadyExists on create of an existing name. */
export function alreadyExists(r: ResourceName, name: string): Status {
  return failure(
    409,
    "AlreadyExists",
    `${qualifiedResource(r)} "${name}" already exists`,
    named(r, name),
  );
}

/** Stale resourceVersion on update or patch. */
export function conflict(r: ResourceName, name: string): Status {
  return failure(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${
      qualifiedResource(r)
    } "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    named(r, name),
  );
}

/**
 * DELETE (or eviction) precondition mismatch; this message names the Kind (e.g. `Pod`), not the
 * resource.
 */
export function preconditionConflict(
  kind: string,
  r: ResourceName,
  name: string,
  field: "UID" | "ResourceVersion",
  wanted: string,
  actual: string,
): Status {
  const tail = field === "UID"
    ? "The object might have been deleted and then recreated"
    : "The object might have been modified";
  return failure(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${kind} "${name}": the ${field} in the precondition (${wanted}) does not match the ${field} in record (${actual}). ${tail}`,
    named(r, name),
  );
}

/** 400 BadRequest with the given message. */
export function badRequest(message: string): Status {
  return failure(400, "BadRequest", message);
}

/** 422 with field errors, printed bare when there is one and as `[a, b]` otherwise. */
export function invalid(
  qualifier: string,
  name: string,
  causes: StatusCause[],
  details: { group?: string; kind: string },
): Status {
  const texts = causes.map((c) => c.field ? `${c.field}: ${c.message}` : c.message);
  const joined = texts.length === 1 ? texts[0] : `[${texts.join(", ")}]`;
  const d: NonNullable<Status["details"]> = { name };
  if (details.group) d.group = details.group;
  d.kind = details.kind;
  d.causes = causes;
  return failure(422, "Invalid", `${qualifier} "${name}" is invalid: ${joined}`, d);
}

/** 405 for a verb the resource does not support. */
export function methodNotAllowed(verb: string, r: ResourceName): Status {
  return failure(
    405,
    "MethodNotAllowed",
    `${verb} is not supported on resources of kind "${qualifiedResource(r)}"`,
  );
}

/** 415 listing the media types the endpoint accepts. */
export function unsupportedMediaType(accepted: string[]): Status {
  return failure(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${
      accepted.join(", ")
    }`,
  );
}

/** 401 for missing or unknown credentials. */
export function unauthorized(): Status {
  return failure(401, "Unauthorized", "Unauthorized");
}

/** 500 InternalError (injected faults and server bugs). */
export function internalError(message: string): Status {
  return failure(500, "InternalError", `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

/** The watch ERROR event's object when the requested version left the history window. */
export function expired(requested: string, oldest: number): Status {
  return failure(410, "Expired", `too old resource version: ${requested} (${oldest})`);
}

/**
 * Success Status returned by deletes of most kinds, custom resources included (a Pod delete returns
 * the Pod).
 */
export function success(details?: Status["details"], code?: number): Status {
  const s: Status = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    code: code ?? 200,
  };
  if (details) s.details = details;
  if (code === undefined) delete (s as { code?: number }).code;
  return s;
}
