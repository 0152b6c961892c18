/**
 * The fake Redfish BMC service over HTTPS (node:https, test PKI from fakes/tls), backed by
 * BmcModel. Tests, the client's contract suite and `proxscale fake-redfish` start it with
 * `startFakeRedfish({systems, port, users, sessions, sessionTimeoutS, model})`; the result holds
 * the URL, the CA and leaf fingerprint to trust, the admin credentials, and the in-process
 * controls (`model`, `faults`, `sessions`, `requests`). Only /redfish is served.
 *
 * May import: fakes/.
 */
import { Buffer } from "node:buffer";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { fingerprintOf, issueCa, issueLeaf, serverSans } from "../tls/pki.ts";
import { BmcFaults } from "./faults.ts";
import { BmcModel, type BmcModelOptions, type ModelError, type SystemSpec } from "./model.ts";
import * as R from "./resources.ts";
import { type FakeUser, SessionStore } from "./sessions.ts";

export { BmcFaults, BmcModel };
export type { FakeUser, SystemSpec };

/** Options of startFakeRedfish. */
export type FakeRedfishOptions = {
  /** A count (16 CPUs, 64 GiB each) or one spec per System. */
  systems?: number | SystemSpec[];
  port?: number;
  hostname?: string;
  /** Default: admin/"proxscale" Administrator, operator/"operator" Operator, viewer/"viewer" ReadOnly. */
  users?: FakeUser[];
  /** Offer SessionService (default true); false leaves Basic only. */
  sessions?: boolean;
  sessionTimeoutS?: number;
  model?: BmcModelOptions;
};

/** One request as the fake saw it. */
export type BmcRequest = {
  method: string;
  path: string;
  status: number;
  user?: string;
  auth: string;
};

/** A running fake BMC. */
export type FakeRedfish = {
  url: string;
  caPem: string;
  fingerprint: string;
  username: string;
  password: string;
  model: BmcModel;
  faults: BmcFaults;
  sessions: SessionStore;
  requests: BmcRequest[];
  close(): Promise<void>;
};

type Out = { status: number; body?: unknown; headers?: Record<string, string> };

/** Starts a fake BMC; see the file comment. */
export async function startFakeRedfish(opts: FakeRedfishOptions = {}): Promise<FakeRedfish> {
  const hostname = opts.hostname ?? "127.0.0.1";
  const ca = await issueCa("Fake BMC CA");
  const leaf = await issueLeaf(ca, {
    subject: "/CN=fake-bmc",
    usage: "serverAuth",
    sans: serverSans(hostname),
  });
  const specs = typeof opts.systems === "object"
    ? opts.systems
    : Array.from({ length: opts.systems ?? 2 }, () => ({}));
  const model = new BmcModel(specs, opts.model ?? {});
  const users = opts.users ?? [
    { username: "admin", password: "proxscale", role: "Administrator" },
    { username: "operator", password: "operator", role: "Operator" },
    { username: "viewer", password: "viewer", role: "ReadOnly" },
  ];
  const sessions = new SessionStore(users, opts.sessionTimeoutS ?? 1800);
  const faults = new BmcFaults();
  const requests: BmcRequest[] = [];
  const offerSessions = opts.sessions ?? true;
  const tasks = new Map<string, { state: string; messages: string[] }>();
  let nextTask = 1;

  function startTask(work: () => Promise<ModelError | undefined>): string {
    const id = String(nextTask++);
    tasks.set(id, { state: "Running", messages: [] });
    (async () => {
      const e = await work();
      const extra = faults.slowTaskMs + model.opts.taskDelayMs;
      if (extra > 0) await new Promise((r) => setTimeout(r, extra));
      tasks.set(
        id,
        e ? { state: "Exception", messages: [e.message] } : { state: "Completed", messages: [] },
      );
    })();
    return id;
  }

  function fail(e: ModelError): Out {
    return { status: e.status, body: R.errorBody(e.messageId, e.message) };
  }

  function route(
    method: string,
    path: string,
    body: Record<string, unknown>,
    req: IncomingMessage,
    user: FakeUser | undefined,
  ): Out {
    const p = path.replace(/\/+$/, "") || "/";
    const V1 = "/redfish/v1";
    if (method === "GET" && p === "/redfish") return { status: 200, body: { v1: `${V1}/` } };
    if (method === "GET" && p === V1) return { status: 200, body: R.serviceRoot(offerSessions) };
    if (method === "POST" && p === `${V1}/SessionService/Sessions` && offerSessions) {
      const u = sessions.login(body.UserName, body.Password);
      if (!u) {
        return fail({
          status: 401,
          messageId: "Base.1.8.NoValidSession",
          message: "The user name or password is not valid.",
        });
      }
      const s = sessions.open(u);
      const loc = `${V1}/SessionService/Sessions/${s.id}`;
      return {
        status: 201,
        headers: { "X-Auth-Token": s.token, Location: loc },
        body: { "@odata.id": loc, Id: s.id, UserName: u.username },
      };
    }
    if (!user) {
      return fail({
        status: 401,
        messageId: "Base.1.8.NoValidSession",
        message: "There is no valid session established with the implementation.",
      });
    }
    const canWrite = user.role !== "ReadOnly";
    if (
      method !== "GET" && !canWrite && !/^\/redfish\/v1\/SessionService\/Sessions\/\d+$/.test(p)
    ) {
      return fail({
        status: 403,
        messageId: "Base.1.8.InsufficientPrivilege",
        message:
          "There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation.",
      });
    }
    let m: RegExpMatchArray | null;
    if (method === "GET" && p === `${V1}/Systems`) {
      return { status: 200, body: R.collection(p, "ComputerSystem", [...model.systems.keys()]) };
    }
    if ((m = p.match(/^\/redfish\/v1\/Systems\/([^/]+)$/))) {
      const s = model.system(m[1]!);
      if (!s) return notFound(p);
      if (method === "GET") {
        return { status: 200, body: R.system(s), headers: { ETag: R.etagOf(s) } };
      }
      if (method === "PATCH") {
        const ifMatch = req.headers["if-match"];
        if (typeof ifMatch === "string" && ifMatch !== "*" && ifMatch !== R.etagOf(s)) {
          return fail({
            status: 412,
            messageId: "Base.1.8.PreconditionFailed",
            message: "The ETag supplied did not match the ETag required to change this resource.",
          });
        }
        const unknown = Object.keys(body).filter((k) => k !== "Boot");
        if (unknown.length) {
          return fail({
            status: 400,
            messageId: "Base.1.8.PropertyNotWritable",
            message: `The property ${
              unknown[0]
            } is a read only property and cannot be assigned a value.`,
          });
        }
        const e = model.patchBoot(s.id, body.Boot);
        return e ? fail(e) : { status: 204 };
      }
      return notAllowed();
    }
    if (
      (m = p.match(/^\/redfish\/v1\/Systems\/([^/]+)\/Actions\/ComputerSystem\.Reset$/)) &&
      method === "POST"
    ) {
      const e = model.reset(m[1]!, body.ResetType);
      return e ? fail(e) : { status: 204 };
    }
    if (method === "GET" && p === `${V1}/Managers`) {
      return {
        status: 200,
        body: R.collection(p, "Manager", [...model.systems.keys()].map(R.managerOf)),
      };
    }
    if (
      (m = p.match(
        /^\/redfish\/v1\/Managers\/BMC-([^/]+)(\/VirtualMedia(?:\/CD1(\/Actions\/VirtualMedia\.(InsertMedia|EjectMedia))?)?)?$/,
      ))
    ) {
      const s = model.system(m[1]!);
      if (!s) return notFound(p);
      if (!m[2]) return method === "GET" ? { status: 200, body: R.manager(s.id) } : notAllowed();
      if (m[2] === "/VirtualMedia") {
        return method === "GET"
          ? { status: 200, body: R.collection(p, "VirtualMedia", ["CD1"]) }
          : notAllowed();
      }
      if (!m[3]) return method === "GET" ? { status: 200, body: R.cdMedia(s) } : notAllowed();
      if (method !== "POST") return notAllowed();
      if (m[4] === "EjectMedia") {
        const e = model.ejectMedia(s.id);
        return e ? fail(e) : { status: 204 };
      }
      const id = startTask(() => model.insertMedia(s.id, body));
      const loc = `${V1}/TaskService/Tasks/${id}`;
      return { status: 202, headers: { Location: loc }, body: R.task(id, "Running", []) };
    }
    if ((m = p.match(/^\/redfish\/v1\/TaskService\/Tasks\/(\d+)$/)) && method === "GET") {
      const t = tasks.get(m[1]!);
      if (!t) return notFound(p);
      return {
        status: t.state === "Running" ? 202 : 200,
        body: R.task(m[1]!, t.state, t.messages),
      };
    }
    if (method === "GET" && p === `${V1}/SessionService` && offerSessions) {
      return {
        status: 200,
        body: {
          "@odata.id": p,
          Id: "SessionService",
          ServiceEnabled: true,
          SessionTimeout: sessions.timeoutS,
          Sessions: { "@odata.id": `${p}/Sessions` },
        },
      };
    }
    if (method === "GET" && p === `${V1}/SessionService/Sessions` && offerSessions) {
      return { status: 200, body: R.collection(p, "Session", [...sessions.sessions.keys()]) };
    }
    if ((m = p.match(/^\/redfish\/v1\/SessionService\/Sessions\/(\d+)$/)) && offerSessions) {
      const s = sessions.sessions.get(m[1]!);
      if (!s) return notFound(p);
      if (method === "DELETE") {
        sessions.close(s.id);
        return { status: 204 };
      }
      return method === "GET"
        ? { status: 200, body: { "@odata.id": p, Id: s.id, UserName: s.user.username } }
        : notAllowed();
    }
    if (method === "GET" && p === `${V1}/AccountService`) {
      return {
        status: 200,
        body: {
          "@odata.id": p,
          Id: "AccountService",
          Accounts: { "@odata.id": `${p}/Accounts` },
          Roles: { "@odata.id": `${p}/Roles` },
        },
      };
    }
    if (method === "GET" && p === `${V1}/AccountService/Accounts`) {
      return {
        status: 200,
        body: R.collection(p, "ManagerAccount", users.map((_, i) => String(i + 1))),
      };
    }
    if ((m = p.match(/^\/redfish\/v1\/AccountService\/Accounts\/(\d+)$/)) && method === "GET") {
      const u = users[Number(m[1]) - 1];
      return u ? { status: 200, body: R.account(Number(m[1]), u) } : notFound(p);
    }
    if (method === "GET" && p === `${V1}/AccountService/Roles`) {
      return { status: 200, body: R.collection(p, "Role", Object.keys(R.ROLE_PRIVILEGES)) };
    }
    if ((m = p.match(/^\/redfish\/v1\/AccountService\/Roles\/(\w+)$/)) && method === "GET") {
      const r = m[1] as keyof typeof R.ROLE_PRIVILEGES;
      return R.ROLE_PRIVILEGES[r] ? { status: 200, body: R.role(r) } : notFound(p);
    }
    return notFound(p);
  }

  const server = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req, res) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", () => handle(req, res, chunks));
  });
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  };
  server.on("connection", track);
  server.on("secureConnection", track);

  function handle(req: IncomingMessage, res: ServerResponse, chunks: Uint8Array[]): void {
    const method = req.method ?? "GET";
    const path = new URL(req.url ?? "/", "https://x").pathname;
    const user = sessions.authenticate(req.headers);
    const auth = typeof req.headers["x-auth-token"] === "string"
      ? "session"
      : req.headers.authorization
      ? "basic"
      : "none";
    let out: Out;
    const faulted = faults.take(method, path);
    if (faulted !== undefined) {
      out = {
        status: faulted,
        body: R.errorBody(
          "Base.1.8.InternalError",
          "The request failed due to an internal service error.  The service is still operational.",
        ),
      };
    } else {
      let body: Record<string, unknown> = {};
      const text = new TextDecoder().decode(Buffer.concat(chunks));
      if (text.trim()) {
        try {
          const parsed = JSON.parse(text);
          body = typeof parsed === "object" && parsed && !Array.isArray(parsed) ? parsed : {};
        } catch {
          out = {
            status: 400,
            body: R.errorBody(
              "Base.1.8.MalformedJSON",
              "The request body submitted was malformed JSON and could not be parsed by the receiving service.",
            ),
          };
        }
      }
      out ??= route(method, path, body, req, user);
    }
    requests.push({
      method,
      path,
      status: out.status,
      auth,
      ...(user ? { user: user.username } : {}),
    });
    const payload = out.body === undefined ? "" : JSON.stringify(out.body);
    res.writeHead(out.status, {
      ...(payload ? { "Content-Type": "application/json", "OData-Version": "4.0" } : {}),
      "Content-Length": String(new TextEncoder().encode(payload).length),
      ...(out.headers ?? {}),
    });
    res.end(payload);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, hostname, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `https://${hostname}:${port}`,
    caPem: ca.caPem,
    fingerprint: fingerprintOf(leaf.certPem),
    username: users[0]!.username,
    password: users[0]!.password,
    model,
    faults,
    sessions,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        model.stop();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function notFound(p: string): Out {
  return {
    status: 404,
    body: R.errorBody(
      "Base.1.8.ResourceMissingAtURI",
      `The resource at the URI ${p} was not found.`,
    ),
  };
}

function notAllowed(): Out {
  return {
    status: 405,
    body: R.errorBody(
      "Base.1.8.OperationNotAllowed",
      "The HTTP method is not allowed on this resource.",
    ),
  };
}
