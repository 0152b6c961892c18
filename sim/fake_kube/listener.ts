/**
 * The fake API server's socket: node:http / node:https speaking HTTP/1.1 only, bridged to a
 * fetch-style handler. Deno.serve offers HTTP/2 over TLS, which undici (inside client-node
 * 2.0.1) negotiates and whose node:http2 layer aborts the process on server shutdown; the
 * real apiserver's HTTP/1.1 is all either client needs. Streaming bodies (watches) are
 * written chunk by chunk as they arrive; an errored stream destroys the socket (a reset).
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { Buffer } from "node:buffer";

/** A running listener. */
export type Listener = { port: number; close(): Promise<void> };

/** Listens on 127.0.0.1 and serves `handler`; TLS when `tls` is given. */
export function listen(
  opts: { port: number; tls?: { cert: string; key: string } },
  handler: (req: Request) => Promise<Response>,
): Promise<Listener> {
  const sockets = new Set<Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void bridge(req, res, handler, opts.tls !== undefined);
  };
  const server = opts.tls
    ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest)
    : createHttpServer(onRequest);
  const track = (s: Socket) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  };
  server.on(opts.tls ? "secureConnection" : "connection", track);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
            sockets.clear();
          }),
      });
    });
  });
}

async function bridge(
  req: IncomingMessage,
  res: ServerResponse,
  handler: (req: Request) => Promise<Response>,
  tls: boolean,
): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers = new Headers();
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    }
    const method = req.method ?? "GET";
    const body = chunks.length && method !== "GET" && method !== "HEAD"
      ? Buffer.concat(chunks)
      : undefined;
    const url = `${tls ? "https" : "http"}://${req.headers.host ?? "127.0.0.1"}${req.url ?? "/"}`;
    const response = await handler(
      new Request(url, { method, headers, ...(body ? { body } : {}) }),
    );
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => (out[k] = v));
    if (!response.body) {
      res.writeHead(response.status, out);
      res.end();
      return;
    }
    const reader = response.body.getReader();
    res.on("close", () => void reader.cancel().catch(() => {}));
    res.writeHead(response.status, out);
    res.flushHeaders();
    while (true) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch {
        res.destroy();
        return;
      }
      if (r.done) break;
      res.write(r.value);
    }
    res.end();
  } catch (e) {
    if (!res.headersSent) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(e instanceof Error ? e.message : String(e));
    } else res.destroy();
  }
}
