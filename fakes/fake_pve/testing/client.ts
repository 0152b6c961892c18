/**
 * A tiny node:https client for the fake's own tests: HTTP/1.1, the fake's CA, and the raw
 * status line (reason phrase) and body, so tests can assert PVE's exact wire forms.
 */
import https from "node:https";

/** A raw response. */
export type RawResponse = {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
};

/** Sends one request; `body` is sent as given (string) with its content type. */
export function request(
  base: string,
  caPem: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Uint8Array; contentType?: string } = {},
): Promise<RawResponse> {
  const u = new URL(base + path);
  const headers: Record<string, string | number> = { ...opts.headers };
  if (opts.body !== undefined) {
    const len = typeof opts.body === "string"
      ? new TextEncoder().encode(opts.body).length
      : opts.body.length;
    headers["Content-Length"] = len;
    headers["Content-Type"] = opts.contentType ?? "application/x-www-form-urlencoded";
  }
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        ca: caPem,
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("end", () => {
          const text = new TextDecoder().decode(
            chunks.reduce((a, c) => {
              const n = new Uint8Array(a.length + c.length);
              n.set(a);
              n.set(c, a.length);
              return n;
            }, new Uint8Array()),
          );
          let json: unknown = undefined;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            reason: res.statusMessage ?? "",
            headers: res.headers,
            text,
            json,
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
