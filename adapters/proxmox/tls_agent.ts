/**
 * A keep-alive `https.Agent` that decides whether to trust a PVE endpoint *before* the HTTP
 * request (and so the API token) is written to the socket. PVE's default certificates chain to a
 * per-cluster CA that no system store trusts, so three modes exist:
 * a pinned SHA-256 fingerprint of the leaf (hostname and chain not checked, as PVE's own client
 * does), normal verification against a CA bundle, and insecure (only when asked by name).
 *
 * The pin cannot live in `checkServerIdentity` (Node calls it only after chain verification
 * succeeded), so the agent opens the TLS socket itself, compares the fingerprint on
 * `secureConnect`, and only then hands the socket to the HTTP client.
 */
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import type { ClientRequestArgs } from "node:http";
import type { Duplex } from "node:stream";

/** How the endpoint's certificate is trusted. */
export type TrustMode =
  | { mode: "fingerprint"; fingerprints: string[] }
  | { mode: "ca"; ca: string | Uint8Array }
  | { mode: "system" }
  | { mode: "insecure" };

/** The server's certificate did not match the pin; carries both sides for the message. */
export class FingerprintMismatch extends Error {
  constructor(readonly expected: string[], readonly actual: string) {
    super(
      `TLS refused: the server certificate's SHA-256 fingerprint ${actual} does not match the ` +
        `pinned fingerprint ${expected.join(" or ")}; no credentials were sent`,
    );
    this.name = "FingerprintMismatch";
  }
}

/** The peer accepted the connection but did not finish the TLS handshake in time. */
export class HandshakeTimeout extends Error {
  override name = "HandshakeTimeout";
}

/** Upper-case `AB:CD:…` form, as PVE and node:tls print it. */
export function normalizeFingerprint(fp: string): string {
  return fp.trim().toUpperCase();
}

type OnCreate = (err: Error | null, stream: Duplex) => void;

/** An https.Agent whose sockets are trusted by `trust` before first use. */
export class PveAgent extends https.Agent {
  readonly #trust: TrustMode;

  readonly #handshakeMs: number;

  constructor(
    trust: TrustMode,
    opts: { maxSockets?: number; keepAliveMsecs?: number; handshakeTimeoutMs?: number } = {},
  ) {
    super({
      keepAlive: true,
      keepAliveMsecs: opts.keepAliveMsecs ?? 1000,
      maxSockets: opts.maxSockets ?? 8,
      maxFreeSockets: 4,
      // PVE drops idle keep-alive connections after a few seconds; close ours first.
      timeout: 4000,
    });
    this.#trust = trust;
    this.#handshakeMs = opts.handshakeTimeoutMs ?? 10_000;
  }

  /**
   * Node's Agent accepts an asynchronous socket through `oncreate` when this returns nothing;
   * the HTTP request is written only after `oncreate(null, socket)`.
   */
  override createConnection(options: ClientRequestArgs, oncreate?: OnCreate): Duplex {
    if (!oncreate) throw new Error("PveAgent needs an Agent that passes oncreate");
    const host = options.hostname ?? options.host ?? "localhost";
    const port = Number(options.port ?? 8006);
    const trust = this.#trust;
    const servername = net.isIP(host)
      ? undefined
      : ((options as { servername?: string }).servername ?? host);
    const socket = tls.connect({
      host,
      port,
      ...(servername ? { servername } : {}),
      ALPNProtocols: ["http/1.1"],
      rejectUnauthorized: trust.mode === "ca" || trust.mode === "system",
      ...(trust.mode === "ca" ? { ca: trust.ca as string } : {}),
    });
    let done = false;
    // A peer that accepts TCP but never finishes the handshake must not hold a socket forever.
    const handshake = setTimeout(
      () =>
        finish(new HandshakeTimeout(`TLS handshake not finished within ${this.#handshakeMs} ms`)),
      this.#handshakeMs,
    );
    const onError = (e: Error) => finish(e);
    function finish(e: Error | null): void {
      if (done) return;
      done = true;
      clearTimeout(handshake);
      socket.removeListener("error", onError);
      if (e) {
        socket.destroy();
        oncreate!(e, socket);
      } else oncreate!(null, socket);
    }
    socket.once("error", onError);
    socket.once("close", () => clearTimeout(handshake));
    socket.once("secureConnect", () => {
      if (trust.mode === "fingerprint") {
        const actual = normalizeFingerprint(socket.getPeerCertificate()?.fingerprint256 ?? "");
        const expected = trust.fingerprints.map(normalizeFingerprint);
        if (!expected.includes(actual)) return finish(new FingerprintMismatch(expected, actual));
      }
      finish(null);
    });
    // The async path of Agent#createSocket: no socket returned here.
    return undefined as unknown as Duplex;
  }
}
