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

/** Internal header carrying a verified client certificate's subject to the handler. */
export const CLIENT_CERT_HEADER = "x-fake-kube-client-subject";

/** A running listener. */
export type Listener = { port: number; close(): Promise<void> };

/** Listens on 127.0.0.1 and serves `handler`; TLS when `tls` is given. */
export function listen(
  opts: { port: number; tls?: { cert: string; key: string; ca: string } },
  handler: (req: Request) => Promise<Response>,
): Promise<Listener> {
  const sockets = new Set<Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void bridge(req, res, handler, opts.tls !== undefined);
  };
  const server = opts.tls
    ? createHttpsServer({
      cert: opts.tls.cert,
      key: opts.tls.key,
      ca: opts.tls.ca,
      // Ask for a client certificate but let token users in; the handler decides (401).
      requestCert: true,
      rejectUnauthorized: false,
    }, onRequest)
    : createHttpServer(onRequest);
  const track = (s: Socket) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  };
  // Raw TCP sockets too: one whose TLS handshake never finished (its client was killed) fires
  // no "secureConnection", yet server.close() waits for it until the handshake times out.
  server.on("connection", track);
  if (opts.tls) server.on("secureConnection", track);
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

type PeerSocket = {
  authorized?: boolean;
  getPeerCertificate?: () => { subject?: { CN?: string | string[]; O?: string | string[] } } | null;
};

/** `CN|O1,O2` of a client certificate signed by the fake's CA, or undefined. */
function verifiedSubject(socket: unknown): string | undefined {
  const s = socket as PeerSocket;
  if (!s.authorized || !s.getPeerCertificate) return undefined;
  const subject = s.getPeerCertificate()?.subject;
  if (!subject?.CN) return undefined;
  const list = (
    v: string | string[] | undefined,
  ) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return `${list(subject.CN)[0]}|${list(subject.O).join(",")}`;
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
    // Only the TLS layer may say who the client is; a forged header is dropped.
    headers.delete(CLIENT_CERT_HEADER);
    if (tls) {
      const subject = verifiedSubject(req.socket);
      if (subject) headers.set(CLIENT_CERT_HEADER, subject);
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
