/**
 * One HTTP/1.1 exchange with a BMC over node:https, through the same trust-checking agent the
 * PVE client uses (CA bundle, or a pinned leaf fingerprint checked before any credential is
 * written). JSON in, JSON out; every outcome is a value: an answer (any status) with its
 * headers and parsed body, or a typed transport failure. Nothing here decides what a status
 * means; the client does.
 *
 * May import: core/, adapters/.
 */
import https from "node:https";
import type { IncomingMessage } from "node:http";
import { err, ok, type Result } from "../../core/result.ts";
import { FingerprintMismatch, HandshakeTimeout, type PveAgent } from "../proxmox/tls_agent.ts";
import { localError, type RedfishError } from "./errors.ts";

/** The HTTP methods Redfish uses here. */
export type Method = "GET" | "POST" | "PATCH" | "DELETE";

/** An answered request: status, lower-cased headers, and the JSON body when there was one. */
export type Answer = {
  status: number;
  headers: Record<string, string>;
  body: unknown;
};

/** Where and how to send. */
export type ExchangeOptions = {
  /** https://bmc[:port] (path ignored). */
  endpoint: string;
  agent: PveAgent;
  timeoutMs: number;
  maxBodyBytes?: number;
};

/** "METHOD /path" without host or query, the endpoint name in every error. */
export function endpointName(method: Method, path: string): string {
  return `${method} ${path.split("?")[0]}`;
}

/** Sends one request; resolves with the answer or a transport failure, never rejects. */
export function exchange(
  opts: ExchangeOptions,
  method: Method,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Result<Answer, RedfishError>> {
  const endpoint = endpointName(method, path);
  const base = new URL(opts.endpoint);
  const payload = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
  const maxBody = opts.maxBodyBytes ?? 4 * 1024 * 1024;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: Result<Answer, RedfishError>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const all: Record<string, string> = { Accept: "application/json", ...headers };
    if (payload) {
      all["Content-Type"] = "application/json";
      all["Content-Length"] = String(payload.length);
    }
    const req = https.request({
      protocol: "https:",
      hostname: base.hostname.replace(/^\[|\]$/g, ""),
      port: Number(base.port || 443),
      method,
      path,
      headers: all,
      agent: opts.agent,
    }, (res) => read(res, endpoint, maxBody, settle));
    req.on("error", (e: Error & { code?: string }) => {
      if (e instanceof FingerprintMismatch) {
        return settle(err(localError("tls", endpoint, e.message)));
      }
      if (e instanceof HandshakeTimeout) {
        return settle(err(localError("timeout", endpoint, e.message)));
      }
      if (
        /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|ALTNAME/.test(e.code ?? "") ||
        /certificate|UnknownIssuer|NotValidForName|invalid peer/i.test(e.message)
      ) {
        return settle(err(localError("tls", endpoint, `TLS refused: ${e.message}`)));
      }
      settle(
        err(
          localError(
            "connection",
            endpoint,
            `connection failed (${e.code ?? e.name}: ${e.message})`,
          ),
        ),
      );
    });
    const timer = setTimeout(() => {
      settle(
        err(localError("timeout", endpoint, `no complete answer within ${opts.timeoutMs} ms`)),
      );
      req.destroy(new Error("timeout"));
    }, opts.timeoutMs);
    req.end(payload);
  });
}

function read(
  res: IncomingMessage,
  endpoint: string,
  maxBody: number,
  settle: (r: Result<Answer, RedfishError>) => void,
): void {
  const status = res.statusCode ?? 0;
  const chunks: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  res.on("data", (c: Uint8Array) => {
    size += c.length;
    if (size > maxBody) {
      res.destroy();
      return settle(
        err(localError("malformed", endpoint, `response over ${maxBody} bytes`, status)),
      );
    }
    chunks.push(c);
  });
  res.on(
    "error",
    () => settle(err(localError("malformed", endpoint, "truncated response", status))),
  );
  res.on("close", () => {
    if (!ended) {
      settle(err(localError("malformed", endpoint, "connection closed mid-answer", status)));
    }
  });
  res.on("end", () => {
    ended = true;
    const bytes = new Uint8Array(size);
    let off = 0;
    for (const c of chunks) {
      bytes.set(c, off);
      off += c.length;
    }
    const text = new TextDecoder().decode(bytes);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (typeof v === "string") headers[k.toLowerCase()] = v;
      else if (Array.isArray(v)) headers[k.toLowerCase()] = v.join(", ");
    }
    let parsed: unknown = undefined;
    if (text.trim()) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (status < 300) {
          return settle(
            err(localError("malformed", endpoint, `answer is not JSON (HTTP ${status})`, status)),
          );
        }
      }
    }
    settle(ok({ status, headers, body: parsed }));
  });
}
