/**
 * Test-only TLS material and a tiny node:https server whose handler tests script freely
 * (malformed bodies, resets, hangs), for client tests that need misbehaviour the fake PVE does
 * not offer. Certificates are X.509 v3 (CA + leaf with SANs), made with openssl once per process.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fingerprintOf, issueCa, issueLeaf, serverSans } from "../../../fakes/tls/pki.ts";
import type { Socket } from "node:net";

export type TestCert = { key: string; cert: string; caPem: string; fingerprint: string };

let material: Promise<{ a: TestCert; b: TestCert }> | undefined;

/** Two leaf certificates (different fingerprints) signed by one test CA. */
export function testCerts(): Promise<{ a: TestCert; b: TestCert }> {
  material ??= (async () => {
    const ca = await issueCa("proxscale-test-ca");
    const leaf = async (): Promise<TestCert> => {
      const l = await issueLeaf(ca, {
        subject: "/CN=localhost",
        usage: "serverAuth",
        sans: serverSans(),
      });
      return {
        key: l.keyPem,
        cert: l.certPem,
        caPem: ca.caPem,
        fingerprint: fingerprintOf(l.certPem),
      };
    };
    return { a: await leaf(), b: await leaf() };
  })();
  return material;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export type TestServer = {
  url: string;
  port: number;
  /** Requests seen, with the Authorization header as received (to prove it was never sent). */
  seen: { method: string; url: string; authorization?: string }[];
  /** TLS handshakes completed (a refused pin still completes one). */
  handshakes: () => number;
  close: () => Promise<void>;
};

/** Starts an https server on 127.0.0.1:0 with `cert`, calling `handler` per request. */
export async function startTestServer(cert: TestCert, handler: Handler): Promise<TestServer> {
  const seen: TestServer["seen"] = [];
  const sockets = new Set<Socket>();
  let handshakes = 0;
  const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
      handler(req, res, body);
    });
  });
  server.on("secureConnection", (s: Socket) => {
    handshakes++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  // Sockets that fail the client's pin are dropped without a request; swallow their errors.
  server.on("tlsClientError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    seen,
    handshakes: () => handshakes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A PVE-style JSON answer. */
export function sendJson(res: ServerResponse, status: number, reason: string, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, reason, {
    "Content-Type": "application/json;charset=UTF-8",
    "Content-Length": String(new TextEncoder().encode(text).length),
    ...(status >= 400 ? { Connection: "close" } : {}),
  });
  res.end(text);
}
