/**
 * Content negotiation of resource requests, as a JSON-only API server that knows protobuf
 * exists: the media types a response may use (406 NotAcceptable when the client accepts
 * none the fake can write) and the media types a request body may use (415 with a Status,
 * never a JSON parse error, for `application/vnd.kubernetes.protobuf` bodies).
 *
 * Rules: an absent Accept, JSON, YAML or a wildcard range is answered with JSON. A client
 * that accepts only protobuf gets JSON for custom resources (which no API server serves as
 * protobuf, so the real one falls back to JSON) and 406 for built-in kinds (which a real
 * server would send as protobuf, and the fake cannot).
 *
 * May import: status.ts.
 */
import { failure, type Status, unsupportedMediaType } from "./status.ts";

/** The protobuf media type of the Kubernetes API. */
export const PROTOBUF = "application/vnd.kubernetes.protobuf";

/** The body media types the fake decodes. */
export const BODY_TYPES = ["application/json", "application/yaml"];

const WRITABLE = new Set(["application/json", "application/yaml", "application/*", "*/*"]);

/** The media types (without parameters) of an Accept header, in order. */
export function acceptedTypes(accept: string | null): string[] {
  if (!accept) return [];
  return accept.split(",").map((r) => r.split(";")[0]!.trim().toLowerCase()).filter((t) => t);
}

/** 406 unless the response can be JSON; `builtin` says whether the kind is built in. */
export function notAcceptable(accept: string | null, builtin: boolean): Status | undefined {
  const types = acceptedTypes(accept);
  if (types.length === 0 || types.some((t) => WRITABLE.has(t))) return undefined;
  if (!builtin && types.every((t) => t === PROTOBUF)) return undefined;
  return failure(
    406,
    "NotAcceptable",
    `only the following media types are accepted: ${BODY_TYPES.join(", ")}`,
  );
}

/** 415 for a request body in a media type the fake does not decode (protobuf included). */
export function unsupportedBody(contentType: string | null): Status | undefined {
  const mt = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (!mt || BODY_TYPES.includes(mt) || mt === "*/*") return undefined;
  return unsupportedMediaType(BODY_TYPES);
}
