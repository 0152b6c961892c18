/**
 * adapters/kubernetes: everything proxscale says to the Kubernetes API. This file holds the
 * connection (KubeClient) and the one error type every writer returns; informer.ts, the writers
 * and leader_elector.ts build on it. Only daemon/ and main.ts import this folder; core/ never does.
 *
 * Requests go through rest.ts (plain fetch) rather than @kubernetes/client-node, whose import
 * alone would take most of the daemon's memory budget (see rest.ts). Every request is raw JSON,
 * so list responses are parsed with zod at the boundary and malformed items skipped one by one.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { type RestConfig, RestTransport } from "./rest.ts";

/** A failed Kubernetes call, translated at the boundary from the API server's Status object. */
export type KubeError =
  | {
    kind: "Status";
    /** HTTP status (404, 409, 422, 429, 500 ...). */
    code: number;
    /** Status.reason: NotFound, Conflict, AlreadyExists, TooManyRequests, Invalid ... */
    reason: string;
    message: string;
    /** details.causes[].message, e.g. the PDB that blocked an eviction. */
    causes: string[];
    retryAfterSeconds?: number;
  }
  /** Could not talk to the API server at all (connection refused, TLS, timeout). */
  | { kind: "Transport"; message: string };

/** True for 409 Conflict (stale resourceVersion), the signal to re-read and re-apply. */
export function isConflict(e: KubeError): boolean {
  return e.kind === "Status" && e.code === 409 && e.reason === "Conflict";
}
/** True for 404. */
export function isNotFound(e: KubeError): boolean {
  return e.kind === "Status" && e.code === 404;
}
/** True for 409 AlreadyExists on create. */
export function isAlreadyExists(e: KubeError): boolean {
  return e.kind === "Status" && e.code === 409 && e.reason === "AlreadyExists";
}

/** One line for logs and Events: `409 Conflict: Operation cannot be fulfilled ...`. */
export function describeKubeError(e: KubeError): string {
  return e.kind === "Status" ? `${e.code} ${e.reason}: ${e.message}` : `transport: ${e.message}`;
}

type StatusBody = {
  reason?: string;
  message?: string;
  code?: number;
  details?: { causes?: { message?: string }[]; retryAfterSeconds?: number };
};

/** Builds a KubeError from an HTTP status and a body that should be a Status object. */
export function statusError(code: number, body: unknown): KubeError {
  let s: StatusBody = {};
  if (typeof body === "string") {
    try {
      s = JSON.parse(body);
    } catch {
      s = { message: body };
    }
  } else if (typeof body === "object" && body !== null) s = body as StatusBody;
  const out: KubeError = {
    kind: "Status",
    code,
    reason: s.reason ?? (code === 401 ? "Unauthorized" : "Unknown"),
    message: s.message ?? `HTTP ${code}`,
    causes: (s.details?.causes ?? []).map((c) => c.message ?? "").filter((m) => m),
  };
  if (s.details?.retryAfterSeconds !== undefined) {
    out.retryAfterSeconds = s.details.retryAfterSeconds;
  }
  return out;
}

/**
 * Translates anything a call throws: client-node's ApiException (recognised by shape, so this
 * module never loads client-node; its `body` is the Status as a JSON string) or a transport error.
 */
export function kubeErrorFrom(e: unknown): KubeError {
  if (e && typeof e === "object" && "code" in e && "body" in e && typeof e.code === "number") {
    return statusError(e.code, (e as { body: unknown }).body);
  }
  if (e && typeof e === "object" && "statusCode" in e) {
    return statusError(Number((e as { statusCode: number }).statusCode), undefined);
  }
  return { kind: "Transport", message: e instanceof Error ? e.message : String(e) };
}

/** Runs a call and returns its value or the translated error. */
export async function call<T>(f: () => Promise<T>): Promise<Result<T, KubeError>> {
  try {
    return ok(await f());
  } catch (e) {
    return err(kubeErrorFrom(e));
  }
}

/**
 * Patch Content-Types (client-node's PatchStrategy values, kept here so writers need not load
 * client-node): a PATCH must name one, the API server has no default.
 */
export const PatchType = {
  JsonPatch: "application/json-patch+json",
  MergePatch: "application/merge-patch+json",
  StrategicMergePatch: "application/strategic-merge-patch+json",
  ServerSideApply: "application/apply-patch+yaml",
} as const;

/** Options of one request (query values are set, body JSON-encoded unless a string). */
export type RequestOptions = {
  query?: Record<string, string>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
};

/** One request as the client saw it: for request metrics (adapters/telemetry/). */
export type KubeRequestEvent = {
  method: string;
  path: string;
  /** True for a watch (a streamed GET with `watch=true`). */
  watch: boolean;
  /** HTTP status, absent when no answer came (transport error). */
  status?: number;
  /** Milliseconds until the answer's headers (a watch's stream is not counted). */
  durationMs: number;
};

/** A connection to one API server. */
export class KubeClient {
  /** Where and how to connect; pass it to another KubeClient for a second connection. */
  readonly kc: RestConfig;
  readonly #rest: RestTransport;
  /** Told of every request once its answer (or failure) is known; set by the daemon. */
  onRequest: ((e: KubeRequestEvent) => void) | undefined;

  constructor(kc: RestConfig) {
    this.kc = kc;
    this.#rest = new RestTransport(kc);
  }

  /**
   * One request with a JSON (or patch) body, answered as parsed JSON. Non-2xx answers come
   * back as a KubeError built from the Status body.
   */
  async requestJson(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    opts: RequestOptions = {},
  ): Promise<Result<{ status: number; body: unknown }, KubeError>> {
    const started = performance.now();
    let status: number | undefined;
    try {
      const resp = await this.#rest.fetch(method, path, opts);
      status = resp.status;
      const text = await resp.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON: keep the text, the caller decides.
      }
      if (resp.status >= 200 && resp.status < 300) return ok({ status: resp.status, body });
      return err(statusError(resp.status, body));
    } catch (e) {
      return err(kubeErrorFrom(e));
    } finally {
      this.#observe(method, path, false, status, started);
    }
  }

  #observe(method: string, path: string, watch: boolean, status: number | undefined, t0: number) {
    if (!this.onRequest) return;
    const e: KubeRequestEvent = { method, path, watch, durationMs: performance.now() - t0 };
    if (status !== undefined) e.status = status;
    this.onRequest(e);
  }

  /**
   * A GET whose 2xx body the caller reads as a stream (watch, large lists); non-2xx answers are
   * read here and returned as a KubeError.
   */
  async requestStream(
    path: string,
    opts: RequestOptions & { accept?: string } = {},
  ): Promise<Result<Response, KubeError>> {
    const started = performance.now();
    let status: number | undefined;
    try {
      const resp = await this.#rest.fetch("GET", path, opts);
      status = resp.status;
      if (resp.status >= 200 && resp.status < 300 && resp.body) return ok(resp);
      const text = await resp.text();
      return err(statusError(resp.status, text || undefined));
    } catch (e) {
      return err(kubeErrorFrom(e));
    } finally {
      this.#observe("GET", path, opts.query?.watch === "true", status, started);
    }
  }
}
