/**
 * Every way a Redfish call can fail, as one typed value. A BMC answers errors with the DMTF
 * error body (`{"error": {"code", "message", "@Message.ExtendedInfo": [{"MessageId",
 * "Message", "Resolution"}]}}`); its messages are surfaced in `message` so people see the
 * BMC's own words. Messages never carry credentials: nothing here sees a header.
 *
 * May import: core/.
 */

/** What went wrong, coarse enough to decide on (retry, re-login, surface, give up). */
export type RedfishErrorKind =
  // the BMC answered and said no
  | "badRequest"
  | "auth"
  | "permission"
  | "notFound"
  | "notAllowed"
  | "conflict"
  | "preconditionFailed"
  | "server"
  | "taskFailed"
  // the exchange itself failed
  | "malformed"
  | "timeout"
  | "connection"
  | "tls"
  | "circuitOpen"
  | "taskDeadline";

/** One failed Redfish call. `endpoint` is "METHOD /path" (no host). */
export type RedfishError = {
  kind: RedfishErrorKind;
  endpoint: string;
  /** One line for people: endpoint, status and the BMC's own messages. */
  message: string;
  status?: number;
  /** `MessageId`s of the extended info, for callers that decide on a registry message. */
  messageIds?: string[];
  /** True when the same request would fail again (bad input, missing privilege). */
  permanent: boolean;
};

/** Kinds that say the BMC or the path to it is unhealthy (they feed the breaker). */
export const HEALTH_FAILURE_KINDS: ReadonlySet<RedfishErrorKind> = new Set<RedfishErrorKind>([
  "server",
  "timeout",
  "connection",
  "malformed",
]);

/** Kinds worth another try of the same request (idempotent requests only). */
export const RETRYABLE_KINDS: ReadonlySet<RedfishErrorKind> = new Set<RedfishErrorKind>([
  "server",
  "timeout",
  "connection",
]);

/** The messages of a DMTF error body: `error.message` and each ExtendedInfo `Message`. */
export function extendedInfo(body: unknown): { messages: string[]; ids: string[] } {
  const messages: string[] = [];
  const ids: string[] = [];
  const e = (body as { error?: unknown } | null)?.error;
  if (!e || typeof e !== "object") return { messages, ids };
  const rec = e as Record<string, unknown>;
  const info = rec["@Message.ExtendedInfo"];
  if (Array.isArray(info)) {
    for (const i of info) {
      if (!i || typeof i !== "object") continue;
      const m = (i as Record<string, unknown>).Message;
      const id = (i as Record<string, unknown>).MessageId;
      if (typeof m === "string" && m) messages.push(m);
      if (typeof id === "string" && id) ids.push(id);
    }
  }
  if (messages.length === 0 && typeof rec.message === "string" && rec.message) {
    messages.push(rec.message);
  }
  return { messages, ids };
}

/** The error kind an HTTP status names. */
export function kindOfStatus(status: number): RedfishErrorKind {
  if (status === 400) return "badRequest";
  if (status === 401) return "auth";
  if (status === 403) return "permission";
  if (status === 404) return "notFound";
  if (status === 405 || status === 501) return "notAllowed";
  if (status === 409) return "conflict";
  if (status === 412 || status === 428) return "preconditionFailed";
  if (status >= 500) return "server";
  return "badRequest";
}

/** A failure read from an answered request: status, and the body's messages. */
export function httpError(endpoint: string, status: number, body: unknown): RedfishError {
  const kind = kindOfStatus(status);
  const info = extendedInfo(body);
  const words = info.messages.length ? `: ${info.messages.join("; ")}` : "";
  return {
    kind,
    endpoint,
    status,
    message: `${endpoint} failed with HTTP ${status}${words}`,
    ...(info.ids.length ? { messageIds: info.ids } : {}),
    permanent: ["badRequest", "permission", "notFound", "notAllowed"].includes(kind),
  };
}

/** A failure without an answer (transport, TLS, timeout, breaker, task). */
export function localError(
  kind: RedfishErrorKind,
  endpoint: string,
  message: string,
  status?: number,
): RedfishError {
  return {
    kind,
    endpoint,
    message: `${endpoint}: ${message}`,
    ...(status !== undefined ? { status } : {}),
    permanent: kind === "tls" || kind === "taskFailed",
  };
}
