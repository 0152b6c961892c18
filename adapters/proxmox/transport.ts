/**
 * One HTTP/1.1 exchange with the PVE API over node:https (the only Deno client that exposes the
 * reason phrase PVE writes its errors into). Encodes parameters as PVE decodes them (form body
 * with Content-Length, booleans as 1/0, DELETE and GET parameters in the query), adds the token
 * header, bounds every exchange with a timeout, and turns every answer into either the `data`
 * of the `{"data":…}` envelope or a typed PveError naming the endpoint. Nothing here throws for
 * a bad peer: non-JSON, missing `data`, truncated bodies and resets are values.
 */
import https from "node:https";
import type { IncomingMessage } from "node:http";
import { err, ok, type Result } from "../../core/result.ts";
import { httpError, localError, type PveError } from "./errors.ts";
import { FingerprintMismatch, HandshakeTimeout, type PveAgent } from "./tls_agent.ts";

/** Parameter values as callers give them; undefined entries are left out. */
export type Params = Record<string, string | number | boolean | undefined>;
export type Method = "GET" | "POST" | "PUT" | "DELETE";

export type TransportOptions = {
  /** https://host:8006 (a trailing /api2/json is accepted and dropped). */
  endpoint: string;
  tokenId: string;
  /** Returns the token secret; a function so the value is never stored on a logged object. */
  tokenSecret: () => string;
  agent: PveAgent;
  /** Per-exchange timeout; PVE delays every 401 by about 3 s, so keep it well above that. */
  timeoutMs: number;
  /** Largest response body accepted. */
  maxBodyBytes?: number;
};

/** Encodes parameters with a real serializer (PVE splits on `&`, `;` and `=`). */
export function encodeParams(params: Params | undefined): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined) continue;
    sp.append(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  // URLSearchParams writes spaces as "+", which PVE decodes back to a space: correct.
  return sp.toString();
}

/** "METHOD /path" without query string or host, the endpoint name used in every error. */
export function endpointName(method: Method, path: string): string {
  return `${method} ${path.split("?")[0]}`;
}

/** A body sent as is (a multipart upload) instead of form-encoded parameters. */
export type RawBody = { contentType: string; bytes: Uint8Array };

/**
 * Performs one exchange; resolves with the envelope's `data` or a typed error, never rejects.
 * `raw` replaces the form body (POST/PUT only), e.g. for an ISO upload.
 */
export function exchange(
  opts: TransportOptions,
  method: Method,
  path: string,
  params?: Params,
  timeoutMs = opts.timeoutMs,
  raw?: RawBody,
): Promise<Result<unknown, PveError>> {
  const endpoint = endpointName(method, path);
  const base = new URL(opts.endpoint.replace(/\/api2\/json\/?$/, ""));
  const encoded = encodeParams(params);
  const hasBody = method === "POST" || method === "PUT";
  const query = !hasBody && encoded ? `?${encoded}` : "";
  const body: string | Uint8Array = hasBody ? (raw ? raw.bytes : encoded) : "";
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve) => {
    let settled = false;
    let sent = false;
    const settle = (r: Result<unknown, PveError>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const headers: Record<string, string> = {
      Accept: "application/json",
      Authorization: `PVEAPIToken=${opts.tokenId}=${opts.tokenSecret()}`,
    };
    if (hasBody) {
      headers["Content-Type"] = raw ? raw.contentType : "application/x-www-form-urlencoded";
      headers["Content-Length"] = String(
        typeof body === "string" ? new TextEncoder().encode(body).length : body.length,
      );
    }
    const req = https.request({
      protocol: "https:",
      hostname: base.hostname.replace(/^\[|\]$/g, ""),
      port: Number(base.port || 8006),
      method,
      path: `/api2/json${path}${query}`,
      headers,
      agent: opts.agent,
    }, (res) => readResponse(res, endpoint, maxBody, settle));
    // Once the request is flushed to the socket PVE may act on it, answer or not.
    req.on("finish", () => (sent = true));
    req.on("error", (e: Error & { code?: string }) => {
      if (e instanceof FingerprintMismatch) {
        return settle(err(localError("tls", endpoint, e.message)));
      }
      if (isTlsError(e)) {
        return settle(err(localError("tls", endpoint, `TLS refused: ${e.message}`)));
      }
      if (e instanceof HandshakeTimeout) {
        return settle(err(localError("timeout", endpoint, e.message, { ambiguous: false })));
      }
      if (e instanceof RequestTimeout) {
        return settle(err(localError("timeout", endpoint, e.message, { ambiguous: sent })));
      }
      settle(err(localError(
        "connection",
        endpoint,
        `connection failed (${e.code ?? e.name}: ${e.message})`,
        { ambiguous: sent },
      )));
    });
    const timer = setTimeout(() => {
      const e = new RequestTimeout(`no complete answer within ${timeoutMs} ms`);
      // Settle here: a request still waiting for its socket may never report the destroy.
      settle(err(localError("timeout", endpoint, e.message, { ambiguous: sent })));
      req.destroy(e);
    }, timeoutMs);
    req.end(body);
  });
}

class RequestTimeout extends Error {
  override name = "RequestTimeout";
}

function isTlsError(e: Error & { code?: string }): boolean {
  const code = e.code ?? "";
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME/.test(code) ||
    /certificate|UnknownIssuer|NotValidForName|invalid peer/i.test(e.message);
}

function readResponse(
  res: IncomingMessage,
  endpoint: string,
  maxBody: number,
  settle: (r: Result<unknown, PveError>) => void,
): void {
  const status = res.statusCode ?? 0;
  const reasonPhrase = res.statusMessage ?? "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  res.on("data", (c: Uint8Array) => {
    size += c.length;
    if (size > maxBody) {
      res.destroy();
      return settle(err(localError("malformed", endpoint, `response body over ${maxBody} bytes`, {
        status,
      })));
    }
    chunks.push(c);
  });
  const truncated = (why: string) =>
    settle(err(localError(
      "malformed",
      endpoint,
      `truncated response (${why}) after ${size} bytes, HTTP ${status} ${reasonPhrase}`,
      { status, ambiguous: true },
    )));
  res.on("aborted", () => truncated("aborted"));
  res.on("error", (e: Error & { code?: string }) => truncated(e.code ?? e.message));
  res.on("close", () => {
    if (!ended) truncated("connection closed");
  });
  res.on("end", () => {
    ended = true;
    const declared = Number(res.headers["content-length"]);
    if (Number.isFinite(declared) && declared !== size) {
      return truncated(`Content-Length ${declared}`);
    }
    const text = new TextDecoder().decode(concat(chunks, size));
    settle(interpret(endpoint, status, reasonPhrase, text));
  });
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Turns a complete response into data or a typed error. Exported for unit tests. */
export function interpret(
  endpoint: string,
  status: number,
  reasonPhrase: string,
  text: string,
): Result<unknown, PveError> {
  let json: unknown = undefined;
  let parseFailed = false;
  if (text.trim() !== "") {
    try {
      json = JSON.parse(text);
    } catch {
      parseFailed = true;
    }
  }
  if (status >= 400) {
    const body = json !== null && typeof json === "object" ? json as Record<string, unknown> : {};
    const message = typeof body.message === "string"
      ? bounded(body.message)
      // A plain-text body is the HTTP layer's own error text (pve-http-server 5.2+).
      : parseFailed && text.length < 1024
      ? text
      : undefined;
    const errors = isStringMap(body.errors) ? boundedErrors(body.errors) : undefined;
    return err(httpError(endpoint, status, bounded(reasonPhrase), {
      ...(message !== undefined ? { message } : {}),
      ...(errors ? { errors } : {}),
    }));
  }
  if (status < 200 || status >= 300) {
    return err(
      localError("malformed", endpoint, `unexpected HTTP status ${status} ${reasonPhrase}`, {
        status,
      }),
    );
  }
  if (parseFailed) {
    return err(
      localError("malformed", endpoint, `response is not JSON: ${snippet(text)}`, { status }),
    );
  }
  if (json === null || typeof json !== "object" || Array.isArray(json) || !("data" in json)) {
    return err(localError(
      "malformed",
      endpoint,
      `response has no "data" envelope: ${snippet(text)}`,
      { status },
    ));
  }
  return ok((json as { data: unknown }).data);
}

/** Longest text kept from an error answer: it is quoted, never copied whole. */
const MAX_ERROR_TEXT = 1_000;

function bounded(text: string): string {
  return text.length <= MAX_ERROR_TEXT
    ? text
    : `${text.slice(0, MAX_ERROR_TEXT)}… (${text.length} characters)`;
}

/** The first 20 per-parameter errors, each bounded. */
function boundedErrors(errors: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(errors).slice(0, 20).map(([k, v]) => [bounded(k), bounded(v)]),
  );
}

function isStringMap(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === "object" && !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === "string");
}

function snippet(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  return JSON.stringify(t.length > 80 ? `${t.slice(0, 80)}…` : t);
}
