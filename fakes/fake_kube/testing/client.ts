/**
 * Test helpers for the fake API server's own tests and for adapter tests: start a server
 * for one test, make raw HTTP requests against it, and read watch streams line by line.
 */
import { type FakeKube, type FakeKubeOptions, startFakeKube } from "../server.ts";

/** Runs `fn` against a fresh fake (plain HTTP unless `tls: true`), always closing it. */
export async function withKube<T>(
  opts: FakeKubeOptions,
  fn: (k: FakeKube) => Promise<T> | T,
): Promise<T> {
  const k = await startFakeKube({ tls: false, seed: 7, ...opts });
  try {
    return await fn(k);
  } finally {
    await k.close();
  }
}

/** A parsed response: status, headers, raw text and JSON (undefined if not JSON). */
export type Raw = {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
};

/** One raw request with the admin token; `body` objects are sent as JSON. */
export async function call(
  k: FakeKube,
  method: string,
  path: string,
  opts: { body?: unknown; contentType?: string; accept?: string; token?: string | null } = {},
): Promise<Raw> {
  const headers: Record<string, string> = {};
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? k.token}`;
  if (opts.accept) headers.accept = opts.accept;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["content-type"] = opts.contentType ?? "application/json";
  } else if (opts.contentType) headers["content-type"] = opts.contentType;
  const res = await fetch(k.url + path, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** An open watch stream read line by line; `close` cancels it. */
export type WatchReader = {
  status: number;
  headers: Headers;
  /** Next event line parsed, or undefined when the server ended the stream. */
  // deno-lint-ignore no-explicit-any
  next(): Promise<any>;
  /** Collects events until `n` arrived or the stream ended. */
  // deno-lint-ignore no-explicit-any
  take(n: number): Promise<any[]>;
  /** Raw lines seen so far (framing checks). */
  lines: string[];
  close(): Promise<void>;
};

/** Opens a watch (`path` should include `watch=true`). */
export async function openWatch(k: FakeKube, path: string, accept?: string): Promise<WatchReader> {
  const headers: Record<string, string> = { authorization: `Bearer ${k.token}` };
  if (accept) headers.accept = accept;
  const res = await fetch(k.url + path, { headers });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let ended = false;
  const lines: string[] = [];
  const next = async () => {
    while (true) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        return JSON.parse(line);
      }
      if (ended) return undefined;
      const r = await reader.read();
      if (r.done) ended = true;
      else buf += dec.decode(r.value, { stream: true });
    }
  };
  return {
    status: res.status,
    headers: res.headers,
    lines,
    next,
    async take(n) {
      const out = [];
      while (out.length < n) {
        const e = await next();
        if (e === undefined) break;
        out.push(e);
      }
      return out;
    },
    async close() {
      await reader.cancel().catch(() => {});
    },
  };
}
