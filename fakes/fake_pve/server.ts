/**
 * The fake Proxmox VE API over HTTPS (node:https, HTTP/1.1, PVE's reason phrases), backed by
 * PveModel. Tests, the client's contract suite and `proxscale fake-pve` start it with:
 *
 * ```ts
 * startFakePve(opts: {
 *   hosts?: number; port?: number; hostname?: string; tokenId?: string; tokenSecret?: string;
 *   now?: () => number; seed?: number; faults?: FaultConfig;
 *   model?: PveModelOptions; tokens?: TokenSpec[]; users?: UserSpec[];
 * }): Promise<{
 *   url: string; apiUrl: string; fingerprint: string; caPem: string; tokenId: string;
 *   tokenSecret: string; password: string; model: PveModel; faults: FaultController;
 *   auth: AuthRegistry; requests: RecordedRequest[];
 *   rotateCertificate(): Promise<string>; close(): Promise<void>;
 * }>
 * ```
 *
 * `url` is the origin (`https://127.0.0.1:PORT`); the API lives under `apiUrl` (`url` +
 * `/api2/json`). Defaults: 3 hosts, port 0 (ephemeral), hostname 127.0.0.1, token
 * `root@pam!proxscale` with a secret derived from the seed, user root@pam with password
 * `proxscale`. The control interface is in-process (`model`, `faults`, `auth`); nothing
 * outside /api2/json is served, so no client can reach the controls through the API.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { AuthRegistry, type Identity, type TokenSpec, type UserSpec } from "./auth.ts";
import { type FaultConfig, FaultController, type HttpFault } from "./faults.ts";
import { decodeUrlencoded, parseMultipart, type Part } from "./http_codec.ts";
import { type Params, type PveError, PveModel, type PveModelOptions } from "./model.ts";
import { checkRoute, matchRoute } from "./routes.ts";
import type { Answer, Ctx } from "./route_kit.ts";
import { SeededRng } from "./rng.ts";
import { generatePki } from "./tls.ts";
import { checkVmidParam } from "./vm_create.ts";

export type { FaultConfig, TokenSpec, UserSpec };
export { FaultController, PveModel };

/** Options of startFakePve; see the file comment for defaults. */
export type FakePveOptions = {
  hosts?: number;
  port?: number;
  hostname?: string;
  tokenId?: string;
  tokenSecret?: string;
  now?: () => number;
  seed?: number;
  faults?: FaultConfig;
  /** further model options (statsLagMs, timing, storages, templates) */
  model?: PveModelOptions;
  /** extra tokens, e.g. with limited ACLs for 403 tests */
  tokens?: TokenSpec[];
  /** password users for ticket login (default root@pam / "proxscale") */
  users?: UserSpec[];
};

/** One request as the fake saw it (tests assert call sequences). */
export type RecordedRequest = {
  method: string;
  path: string;
  params: Params;
  identity?: string;
  time: number;
  status: number;
};

/** A running fake PVE. */
export type FakePve = {
  url: string;
  apiUrl: string;
  fingerprint: string;
  caPem: string;
  tokenId: string;
  tokenSecret: string;
  password: string;
  model: PveModel;
  faults: FaultController;
  auth: AuthRegistry;
  requests: RecordedRequest[];
  /** Serves a new certificate from now on (a TLS identity change); returns its fingerprint. */
  rotateCertificate(): Promise<string>;
  close(): Promise<void>;
};

const UPLOAD_MAX_BYTES = 64 * 1024 * 1024;

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

function toParams(raw: Record<string, unknown>): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === "_dc") continue;
    if (typeof v === "boolean") out[k] = v ? "1" : "0";
    else if (Array.isArray(v)) out[k] = v.map(String).join(",");
    else if (v !== null && v !== undefined) {
      out[k] = typeof v === "object" ? JSON.stringify(v) : String(v);
    }
  }
  return out;
}

/** Starts the fake; resolves once it listens. */
export async function startFakePve(opts: FakePveOptions = {}): Promise<FakePve> {
  const seed = opts.seed ?? 1;
  const now = opts.now ?? (() => Date.now());
  const hostname = opts.hostname ?? "127.0.0.1";
  const pki = await generatePki(hostname);
  const model = new PveModel({
    seed,
    now,
    ...opts.model,
    ...(opts.hosts !== undefined ? { hosts: opts.hosts } : {}),
  });
  model.fingerprint = pki.fingerprint;
  const faults = new FaultController(model, seed, opts.faults ?? {});
  const rng = new SeededRng(seed ^ 0x70c3);
  const auth = new AuthRegistry(rng.uuid(), now);
  const tokenId = opts.tokenId ?? "root@pam!proxscale";
  const tokenSecret = opts.tokenSecret ?? rng.uuid();
  auth.addToken({ id: tokenId, secret: tokenSecret });
  for (const t of opts.tokens ?? []) auth.addToken(t);
  const password = "proxscale";
  for (const u of opts.users ?? [{ userid: "root@pam", password }]) auth.addUser(u);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = https.createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) {
        send(res, 500, (e instanceof Error ? e.message : String(e)).split("\n")[0]!, undefined);
      }
    });
  });
  // Raw TCP sockets too: one whose TLS handshake never finished (its client was killed) fires
  // no "secureConnection", yet server.close() waits for it until the handshake times out.
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  };
  server.on("connection", track);
  server.on("secureConnection", track);

  function headers(
    extra: Record<string, string | number> = {},
    close = false,
  ): Record<string, string | number> {
    const date = new Date(now()).toUTCString();
    return {
      Server: "pve-api-daemon/3.0",
      Date: date,
      Expires: date,
      "Cache-Control": "max-age=0",
      Pragma: "no-cache",
      Connection: close ? "close" : "Keep-Alive",
      ...extra,
    };
  }

  /** Writes a response; `body` undefined means no body at all (401, 595, HTTP-layer errors). */
  function send(
    res: ServerResponse,
    status: number,
    reason: string,
    body: unknown,
    gzip = false,
  ): void {
    const close = status >= 400;
    const phrase = reason.split("\n")[0]!.replace(/[^\x20-\x7e]/g, "?");
    if (body === undefined) {
      res.writeHead(status, phrase, headers({ "Content-Length": 0 }, close));
      res.end();
      return;
    }
    let data: Uint8Array = new TextEncoder().encode(JSON.stringify(body));
    const extra: Record<string, string | number> = {
      "Content-Type": "application/json;charset=UTF-8",
    };
    if (gzip && data.length > 1024) {
      data = gzipSync(data);
      extra["Content-Encoding"] = "gzip";
    }
    extra["Content-Length"] = data.length;
    res.writeHead(status, phrase, headers(extra, close));
    res.end(data);
  }

  function sendError(res: ServerResponse, e: PveError): void {
    if (e.status === 401 && e.message !== "authentication failure") {
      return send(res, 401, e.message, undefined);
    }
    if (e.status >= 595) return send(res, e.status, e.message, undefined);
    const body: Record<string, unknown> = { data: null };
    if (e.errors) body.errors = e.errors;
    if (faults.errorMessageField) {
      body.message = e.message.endsWith("\n") ? e.message : `${e.message}\n`;
    }
    send(res, e.status, e.message, body);
  }

  /** HTTP-layer errors: empty body before 8.3, the text as a plain body after. */
  function sendHttpError(res: ServerResponse, status: number, text: string): void {
    if (!faults.errorMessageField) return send(res, status, text, undefined);
    const data = new TextEncoder().encode(text);
    res.writeHead(status, text, headers({ "Content-Length": data.length }, true));
    res.end(data);
  }

  /** An HTTP error, or a broken transport or body for clients to survive. */
  function sendFault(
    req: IncomingMessage,
    res: ServerResponse,
    fe: NonNullable<HttpFault["error"]>,
  ): void {
    switch (fe.kind) {
      case "reset":
        req.socket.destroy();
        return;
      case "hang":
        return; // never answered; the socket is destroyed when the fake closes
      case "nonJson": {
        const html = "<html><body><h1>502 Proxy Error</h1></body></html>";
        res.writeHead(
          200,
          "OK",
          headers({ "Content-Type": "text/html", "Content-Length": html.length }),
        );
        res.end(html);
        return;
      }
      case "truncated": {
        const text = '{"data":{"upid":"UPID:pve1:000';
        res.writeHead(
          200,
          "OK",
          headers({ "Content-Type": "application/json;charset=UTF-8", "Content-Length": 4096 }),
        );
        res.write(text, () => req.socket.destroy());
        return;
      }
      case "missingData":
        return send(res, 200, "OK", { errors: null });
      case "wrongType":
        return send(res, 200, "OK", { data: 12345 });
      default:
        return sendError(res, { status: fe.status, message: fe.message });
    }
  }

  async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | "too large"> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Uint8Array).length;
      if (size > limit) return "too large";
      chunks.push(chunk as Uint8Array);
    }
    const out = new Uint8Array(size);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const [rawPath, query = ""] = (req.url ?? "/").split("?", 2) as [string, string?];
    const m = /^\/api2\/+([a-z][a-z0-9]+)(\/.*)?$/.exec(rawPath);
    if (!m) return sendHttpError(res, 501, "no such uri");
    const path = (m[2] ?? "/").replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
    if (m[1] !== "json") return sendHttpError(res, 501, `no formatter for uri ${path}, ${m[1]}`);
    if (!["GET", "POST", "PUT", "DELETE"].includes(method)) {
      return sendHttpError(res, 501, `method '${method}' not available`);
    }
    if (req.headers["transfer-encoding"]?.includes("chunked")) {
      return sendHttpError(res, 501, "chunked transfer encoding not supported");
    }
    const length = Number(req.headers["content-length"] ?? 0);
    if ((method === "GET" || method === "DELETE") && length > 0) {
      return sendHttpError(res, 501, `Unexpected content for method '${method}'`);
    }
    const isUpload = /\/upload$/.test(path);
    const body = await readBody(req, isUpload ? UPLOAD_MAX_BYTES : faults.maxBodyBytes);
    if (body === "too large") return sendHttpError(res, 501, "for data too large");

    const match = matchRoute(method, path);
    const started = performance.now();
    const record: RecordedRequest = { method, path, params: {}, time: now(), status: 0 };
    requests.push(record);
    const reply = (status: number, f: () => void) => {
      record.status = status;
      f();
    };

    // authentication (every 401 is delayed like PVE's, when the authDelayMs option asks)
    let id: Identity | undefined;
    const authz = String(req.headers["authorization"] ?? "");
    if ("route" in match && match.route.noAuth) {
      if (match.route.path === "/access/ticket" && method === "POST" && /PVEAPIToken/.test(authz)) {
        return reply(
          403,
          () =>
            sendError(res, {
              status: 403,
              message:
                "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.\n)",
            }),
        );
      }
    } else {
      const a = auth.authenticate(req.headers as Record<string, string>, method);
      if (!a.ok) {
        await delay(faults.authDelayMs);
        return reply(401, () => sendError(res, { status: 401, message: a.message }));
      }
      id = a.identity;
      record.identity = id.full;
    }

    // parameters: path, query (wins over body), body
    let bodyParams: Record<string, unknown> = {};
    let files: Part[] = [];
    const ctype = String(req.headers["content-type"] ?? "application/x-www-form-urlencoded");
    if (body.length > 0) {
      if (ctype.startsWith("application/json")) {
        try {
          const parsed = JSON.parse(new TextDecoder().decode(body));
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
            throw new Error("not an object");
          }
          bodyParams = parsed;
        } catch (e) {
          const msg = `malformed JSON string: ${e instanceof Error ? e.message : e}`;
          return reply(
            faults.errorMessageField ? 500 : 501,
            () => sendHttpError(res, faults.errorMessageField ? 500 : 501, msg),
          );
        }
      } else if (ctype.startsWith("application/x-www-form-urlencoded")) {
        bodyParams = decodeUrlencoded(new TextDecoder().decode(body));
      } else if (ctype.startsWith("multipart/form-data")) {
        const boundary = /boundary=("?)([^";]+)\1/.exec(ctype)?.[2];
        const parts = boundary ? parseMultipart(body, boundary) : undefined;
        if (!parts) {
          return reply(400, () => sendHttpError(res, 400, "malformed multipart/form-data"));
        }
        files = parts;
        for (const p of parts) {
          if (p.filename === undefined) bodyParams[p.name] = new TextDecoder().decode(p.data);
        }
      } else {
        return reply(
          506,
          () => sendHttpError(res, 506, `upload 'Content-Type '${ctype}' not implemented`),
        );
      }
    }
    const raw = { ...bodyParams, ...decodeUrlencoded(query) };
    const params = toParams(raw);
    record.params = params;

    if (!("route" in match)) {
      return reply(
        501,
        () =>
          sendError(res, { status: 501, message: `Method '${method} ${path}' not implemented` }),
      );
    }
    const { route, params: pathParams } = match;
    const conflicts: Record<string, string> = {};
    for (const [k, v] of Object.entries(pathParams)) {
      if (params[k] !== undefined && params[k] !== v) {
        conflicts[k] = "duplicate parameter (already defined in URI) with conflicting values!";
      }
      params[k] = v;
    }
    if (pathParams.vmid !== undefined) {
      const e = checkVmidParam(pathParams.vmid);
      if (e) conflicts.vmid = e;
    }
    if (Object.keys(conflicts).length) {
      return reply(
        400,
        () =>
          sendError(res, {
            status: 400,
            message: "Parameter verification failed.",
            errors: conflicts,
          }),
      );
    }
    if (pathParams.node !== undefined) {
      model.advance();
      const ne = model.nodeError(pathParams.node);
      if (ne) return reply(ne.status, () => sendError(res, ne));
    }
    const endpoint = `${method} ${route.path}`;
    const vmid = pathParams.vmid !== undefined ? Number(pathParams.vmid) : undefined;
    const fault = faults.forRequest(endpoint, pathParams.node, vmid);
    await delay(fault.latencyMs);
    if (fault.error && !fault.error.after) {
      const fe = fault.error;
      return reply(fe.status, () => sendFault(req, res, fe));
    }

    const pathOnly: Record<string, string> = { ...pathParams };
    const ctx: Ctx = {
      model,
      id: id ?? { userid: "", full: "", via: "ticket", acls: [] },
      params,
      raw,
      path: pathOnly,
      files,
      login: (u, p) => {
        const t = auth.login(u, p);
        if (!t) return undefined;
        return {
          username: t.username,
          ticket: t.ticket,
          CSRFPreventionToken: t.csrf,
          clustername: model.st.clusterName,
          cap: { vms: {}, storage: {}, access: {}, nodes: {}, dc: {}, sdn: {}, mapping: {} },
        };
      },
    };
    for (const k of Object.keys(pathParams)) if (k !== "node" && k !== "vmid") delete params[k];
    delete params.node;
    if (route.path.includes("{vmid}")) delete params.vmid;
    if (id) {
      const denied = checkRoute(route, ctx);
      if (denied) return reply(403, () => sendError(res, denied));
    }
    let answer: Answer = route.run(ctx);
    if (route.lockWait) {
      const deadline = performance.now() + faults.lockWaitMs;
      while (!answer.ok && answer.error.lockBusy && performance.now() < deadline) {
        await delay(Math.min(20, Math.max(1, deadline - performance.now())));
        model.advance();
        answer = route.run(ctx);
      }
    }
    if (fault.error) {
      const fe = fault.error;
      return reply(fe.status, () => sendFault(req, res, fe));
    }
    const gz = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    if (!answer.ok) {
      const { lockBusy: _l, ...e } = answer.error;
      // A handler's 401 (a wrong login password) waits the auth delay minus the time spent.
      if (e.status === 401) {
        await delay(Math.max(0, faults.authDelayMs - (performance.now() - started)));
      }
      return reply(e.status, () => sendError(res, e));
    }
    const out: Record<string, unknown> = { data: answer.data };
    if (answer.total !== undefined) out.total = answer.total;
    reply(200, () => send(res, 200, "OK", out, gz));
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, hostname, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port ?? 0;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  const url = `https://${host}:${port}`;
  return {
    url,
    apiUrl: `${url}/api2/json`,
    fingerprint: pki.fingerprint,
    caPem: pki.caPem,
    tokenId,
    tokenSecret,
    password,
    model,
    faults,
    auth,
    requests,
    rotateCertificate: async () => {
      const next = await generatePki(hostname);
      server.setSecureContext({ key: next.keyPem, cert: next.certPem });
      model.fingerprint = next.fingerprint;
      return next.fingerprint;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
