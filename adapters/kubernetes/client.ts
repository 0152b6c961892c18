/**
 * adapters/kubernetes: everything proxscale says to the Kubernetes API. Built on
 * @kubernetes/client-node 2.0.1 (deno-notes.md §8). This file holds the connection (KubeClient)
 * and the one error type every writer returns; informer.ts, the writers and leader_elector.ts
 * build on it. Only daemon/ and main.ts import this folder; core/ never does.
 *
 * Raw JSON requests (`requestJson`) go through client-node's own request machinery
 * (authentication, TLS, dispatcher) but skip its typed deserialisation, so list responses can be
 * parsed with zod at the boundary and malformed items skipped one by one.
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
  Watch,
} from "@kubernetes/client-node";
import { err, ok, type Result } from "../../core/result.ts";

/** A failed Kubernetes call, translated at the boundary (kubernetes-api.md §2.3). */
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

/** Translates anything client-node throws; ApiException bodies are JSON strings (§8.4). */
export function kubeErrorFrom(e: unknown): KubeError {
  if (e instanceof ApiException) return statusError(e.code, e.body);
  if (e && typeof e === "object" && "statusCode" in e) {
    return statusError(Number((e as { statusCode: number }).statusCode), undefined);
  }
  return { kind: "Transport", message: e instanceof Error ? e.message : String(e) };
}

/** Runs a client-node call and returns its value or the translated error. */
export async function call<T>(f: () => Promise<T>): Promise<Result<T, KubeError>> {
  try {
    return ok(await f());
  } catch (e) {
    return err(kubeErrorFrom(e));
  }
}

/** A connection to one API server, with the typed APIs proxscale uses. */
export class KubeClient {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  readonly custom: CustomObjectsApi;
  readonly #http = new IsomorphicFetchHttpLibrary();

  constructor(kc: KubeConfig) {
    this.kc = kc;
    this.core = kc.makeApiClient(CoreV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  /** From kubeconfig YAML text (tests, `--kubeconfig`). */
  static fromKubeconfig(text: string): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromString(text);
    return new KubeClient(kc);
  }

  /** In-cluster service account, else $KUBECONFIG / ~/.kube/config. */
  static fromDefault(): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubeClient(kc);
  }

  /** A client-node Watch on this connection. */
  watch(): Watch {
    return new Watch(this.kc);
  }

  /**
   * One request with a JSON (or patch) body, answered as parsed JSON. Non-2xx answers come
   * back as a KubeError built from the Status body.
   */
  async requestJson(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    opts: {
      query?: Record<string, string>;
      body?: unknown;
      contentType?: string;
      signal?: AbortSignal;
    } = {},
  ): Promise<Result<{ status: number; body: unknown }, KubeError>> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) return err({ kind: "Transport", message: "no current cluster in kubeconfig" });
    const url = new URL(cluster.server.replace(/\/+$/, "") + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), HttpMethod[method]);
    ctx.setHeaderParam("Accept", "application/json");
    if (opts.body !== undefined) {
      ctx.setHeaderParam("Content-Type", opts.contentType ?? "application/json");
      ctx.setBody(JSON.stringify(opts.body));
    }
    if (opts.signal) ctx.setSignal(opts.signal);
    try {
      await this.kc.applySecurityAuthentication(ctx);
      const resp = await this.#http.send(ctx).toPromise();
      const text = await resp.body.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON: keep the text, the caller decides.
      }
      if (resp.httpStatusCode >= 200 && resp.httpStatusCode < 300) {
        return ok({ status: resp.httpStatusCode, body });
      }
      return err(statusError(resp.httpStatusCode, body));
    } catch (e) {
      return err(kubeErrorFrom(e));
    }
  }
}
