/**
 * Every way a Proxmox VE call can fail, as one typed value. PVE puts its error text in the HTTP
 * reason phrase (and, from pve-http-server 5.2, in a `message` field), parameter errors in an
 * `errors` map, and task failures in the task's `exitstatus`; all of them are classified here by
 * the same text rules so callers decide on `kind`, never on raw strings.
 * Messages never contain credentials: nothing here sees a header.
 */

/** What went wrong, coarse enough to decide on (retry, treat as done, surface, give up). */
export type PveErrorKind =
  // PVE answered and said no (HTTP status or task exitstatus)
  | "notFound"
  | "alreadyExists"
  | "locked"
  | "lockTimeout"
  | "vmRunning"
  | "noQuorum"
  | "validation"
  | "auth"
  | "permission"
  | "nodeUnreachable"
  | "conflict"
  | "transient"
  | "taskFailed"
  // the exchange itself failed
  | "malformed"
  | "timeout"
  | "connection"
  | "tls"
  | "circuitOpen"
  | "taskDeadline";

/** One failed PVE call or task. `endpoint` is "METHOD /path" (no query, no host). */
export type PveError = {
  kind: PveErrorKind;
  endpoint: string;
  /** One line for people: endpoint, status and PVE's own words. */
  message: string;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** PVE's text: body `message`, else the reason phrase, else the task exitstatus. */
  pveMessage?: string;
  /** The 400 parameter map, as PVE sent it. */
  errors?: Record<string, string>;
  /** The task, for task failures and deadlines. */
  upid?: string;
  /** The config lock name for `locked`. */
  lock?: string;
  /**
   * True when the request may have been carried out although no answer says so (reset or
   * timeout after sending, a 5xx from something in front of PVE). A create or clone that ends
   * this way must be resolved by looking at the VMID, never by sending it again.
   */
  ambiguous?: boolean;
};

/** Kinds that say "the peer or the path is unhealthy" (they feed the circuit breaker). */
export const HEALTH_FAILURE_KINDS: ReadonlySet<PveErrorKind> = new Set<PveErrorKind>([
  "transient",
  "timeout",
  "connection",
  "nodeUnreachable",
  "malformed",
]);

/**
 * Kinds that say "this host cannot answer now" (offline, proxy error 595, its breaker open, no
 * answer): its VMs are unknown for this pass, which must not fail the whole listing.
 */
export const HOST_DOWN_KINDS: ReadonlySet<PveErrorKind> = new Set<PveErrorKind>([
  "nodeUnreachable",
  "circuitOpen",
  "timeout",
  "connection",
]);

/** Kinds worth another try of an idempotent call after a pause. */
export const RETRYABLE_KINDS: ReadonlySet<PveErrorKind> = new Set<PveErrorKind>([
  "transient",
  "timeout",
  "connection",
  "malformed",
  "lockTimeout",
  "nodeUnreachable",
]);

/** Maps PVE's text (reason phrase, `message` or task exitstatus) to a kind; undefined if none fits. */
export function classifyText(text: string): { kind: PveErrorKind; lock?: string } | undefined {
  if (/does not exist|unable to find configuration file|no such task|No such storage/.test(text)) {
    return { kind: "notFound" };
  }
  if (/already exists/.test(text)) return { kind: "alreadyExists" };
  // A clone PVE refuses because the template's disks are local to another node: nothing was
  // made, and the same request will be refused again (a question of storage, not of load).
  if (
    /can't clone (VM )?to (node '[^']*' \(VM uses local storage\)|non-shared storage)/.test(text)
  ) {
    return { kind: "validation" };
  }
  const locked = /VM is locked \(([^)]*)\)/.exec(text);
  if (locked) return { kind: "locked", lock: locked[1] ?? "" };
  if (/got timeout|got lock request timeout/.test(text)) return { kind: "lockTimeout" };
  if (/is running - destroy failed|already running/.test(text)) return { kind: "vmRunning" };
  if (/cluster not ready - no quorum\?/.test(text)) return { kind: "noQuorum" };
  // The digest guard fired: the config changed since it was read; re-read and decide again.
  if (/checksum mismatch/.test(text)) return { kind: "conflict" };
  return undefined;
}

/** Builds the error for an HTTP status >= 400, classified by its status and PVE's error text. */
export function httpError(
  endpoint: string,
  status: number,
  reasonPhrase: string,
  body: { message?: string; errors?: Record<string, string> } | undefined,
): PveError {
  const pveMessage = (body?.message ?? reasonPhrase).trim();
  const errors = body?.errors;
  const errorText = errors ? Object.values(errors).join("; ") : "";
  const byText = classifyText(`${pveMessage}\n${errorText}`);
  let kind: PveErrorKind;
  if (status === 401) kind = "auth";
  else if (status === 403) kind = "permission";
  else if (status >= 595 && status <= 599) kind = "nodeUnreachable";
  else if (byText) kind = byText.kind;
  else if (status === 400) kind = "validation";
  else kind = "transient";
  const detail = errors
    ? ` (${Object.entries(errors).map(([k, v]) => `${k}: ${v.trim()}`).join("; ")})`
    : "";
  const hint = kind === "auth"
    ? "; the API token id or secret was rejected, check both (PVE gives no further detail)"
    : "";
  return {
    kind,
    endpoint,
    status,
    message: `PVE ${endpoint} failed: ${status} ${pveMessage}${detail}${hint}`,
    pveMessage,
    ...(errors ? { errors } : {}),
    ...(byText?.lock !== undefined ? { lock: byText.lock } : {}),
    // A 5xx that PVE did not explain may come from a proxy after the work was done.
    ...(kind === "transient" && status >= 500 ? { ambiguous: true } : {}),
  };
}

/** Builds the error for a task that stopped with an exitstatus other than OK / WARNINGS. */
export function taskError(endpoint: string, upid: string, exitstatus: string): PveError {
  const byText = classifyText(exitstatus);
  return {
    kind: byText?.kind ?? "taskFailed",
    endpoint,
    upid,
    pveMessage: exitstatus,
    message: `PVE task ${upid} failed: ${exitstatus}`,
    ...(byText?.lock !== undefined ? { lock: byText.lock } : {}),
  };
}

/** Builds an error for a failure without a usable PVE answer. */
export function localError(
  kind: PveErrorKind,
  endpoint: string,
  message: string,
  extra: Partial<PveError> = {},
): PveError {
  return { kind, endpoint, message: `PVE ${endpoint}: ${message}`, ...extra };
}
