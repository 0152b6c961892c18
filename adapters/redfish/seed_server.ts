/**
 * Serves bare-metal seed ISOs to BMCs over HTTPS on one-time, expiring URLs. Each offer gets a
 * path `/proxscale-seed/<provider>/<claim>/<token>.iso` with 32 random bytes of token: the
 * first complete GET is answered and burns the URL, a second GET, an expired URL and any
 * unknown path are refused (410 or 404), so the seed (which holds a join token) is not
 * readable without the URL and not twice with it. HEAD answers the size without burning it,
 * since BMCs often probe an image first. The path names the claim so that a BMC's inserted
 * image tells whose it is (parseSeedUrl).
 *
 * May import: core/, adapters/.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** The path prefix every seed URL carries. */
export const SEED_PATH = "/proxscale-seed/";

type Offer = { bytes: Uint8Array; expiresAt: number; used: boolean };

/** How to listen and what URL BMCs should be given. */
export type SeedServerOptions = {
  certPem: string;
  keyPem: string;
  hostname?: string;
  port?: number;
  /** The origin BMCs reach this server at (default: https://hostname:port). */
  publicUrl?: string;
  now?: () => number;
};

/** The provider and claim a seed URL names, when it is one of ours. */
export function parseSeedUrl(url: string): { provider: string; claim: string } | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const m = /^\/proxscale-seed\/([^/]+)\/([^/]+)\/[A-Za-z0-9_-]{20,}\.iso$/.exec(path);
  return m ? { provider: decodeURIComponent(m[1]!), claim: decodeURIComponent(m[2]!) } : undefined;
}

/** A running seed server. */
export class SeedServer {
  /** The origin given to BMCs. */
  readonly url: string;
  /** Every GET answered with a seed, and every refusal, for logs and tests. */
  readonly log: { path: string; status: number }[] = [];
  readonly #offers = new Map<string, Offer>();
  readonly #server: https.Server;
  readonly #sockets = new Set<Socket>();
  readonly #now: () => number;

  private constructor(server: https.Server, url: string, now: () => number) {
    this.#server = server;
    this.url = url;
    this.#now = now;
  }

  /** Listens and resolves once the port is bound. */
  static async start(opts: SeedServerOptions): Promise<SeedServer> {
    const hostname = opts.hostname ?? "127.0.0.1";
    const ref: { self?: SeedServer } = {};
    const server = https.createServer(
      { cert: opts.certPem, key: opts.keyPem },
      (req, res) => ref.self!.#handle(req, res),
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, hostname, () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === "object" && addr ? addr.port : 0;
    const self = new SeedServer(
      server,
      opts.publicUrl ?? `https://${hostname}:${port}`,
      opts.now ?? Date.now,
    );
    ref.self = self;
    server.on("connection", (s: Socket) => {
      self.#sockets.add(s);
      s.on("close", () => self.#sockets.delete(s));
    });
    return self;
  }

  /** Offers `bytes` once, for `ttlMs`; returns the URL to give the BMC. */
  offer(provider: string, claim: string, bytes: Uint8Array, ttlMs: number): string {
    const token = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
      .replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
    const path = `${SEED_PATH}${encodeURIComponent(provider)}/${
      encodeURIComponent(claim)
    }/${token}.iso`;
    this.#sweep();
    this.#offers.set(path, { bytes, expiresAt: this.#now() + ttlMs, used: false });
    return `${this.url}${path}`;
  }

  /** Withdraws every unused offer of a claim (its launch ended or was abandoned). */
  withdraw(provider: string, claim: string): void {
    for (const [path, o] of this.#offers) {
      const p = parseSeedUrl(`https://x${path}`);
      if (p?.provider === provider && p.claim === claim) o.used = true;
    }
  }

  /** Stops listening and drops open connections. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #sweep(): void {
    const now = this.#now();
    // Burnt and expired offers are kept an hour so a late fetch is told 410, then forgotten.
    for (const [p, o] of this.#offers) if (o.expiresAt + 3_600_000 < now) this.#offers.delete(p);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? "/", "https://x").pathname;
    const o = this.#offers.get(path);
    const refuse = (status: number) => {
      this.log.push({ path, status });
      res.writeHead(status, { "Content-Length": "0" });
      res.end();
    };
    if (req.method !== "GET" && req.method !== "HEAD") return refuse(405);
    if (!o) return refuse(404);
    if (o.used || this.#now() > o.expiresAt) return refuse(410);
    const headers = {
      "Content-Type": "application/x-iso9660-image",
      "Content-Length": String(o.bytes.length),
    };
    if (req.method === "HEAD") {
      res.writeHead(200, headers);
      return void res.end();
    }
    o.used = true;
    this.log.push({ path, status: 200 });
    res.writeHead(200, headers);
    res.end(o.bytes);
  }
}
