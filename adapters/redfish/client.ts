/**
 * A Redfish client for one BMC: service root discovery, a SessionService session (the
 * X-Auth-Token header, logged in again once when the BMC expires it) with HTTP Basic as the
 * fallback for BMCs without sessions, `@odata.id` navigation, ETag/If-Match on PATCH, Task
 * monitors for actions that answer 202, retries of idempotent requests with backoff, and one
 * circuit breaker per BMC so a dead BMC answers at once. Every failure is a RedfishError value.
 *
 * May import: core/, adapters/, daemon/ports/.
 */
import { err, ok, type Result } from "../../core/result.ts";
import type { Rng } from "../../daemon/ports/clock.ts";
import {
  backoffDelay,
  type BackoffPolicy,
  CircuitBreakers,
  seededRng,
} from "../proxmox/breaker.ts";
import { PveAgent, type TrustMode } from "../proxmox/tls_agent.ts";
import {
  HEALTH_FAILURE_KINDS,
  httpError,
  localError,
  type RedfishError,
  RETRYABLE_KINDS,
} from "./errors.ts";
import { type Answer, endpointName, exchange, type Method } from "./transport.ts";

export type { TrustMode };

/** A JSON resource and the ETag it was read with. */
export type Resource = { id: string; body: Record<string, unknown>; etag?: string };

/** How to reach and log in to one BMC. */
export type RedfishClientOptions = {
  /** https://bmc[:port] */
  endpoint: string;
  username: string;
  /** A function so the password is never stored on a logged object. */
  password: () => string;
  trust: TrustMode;
  /** "auto" (default): a session when the service offers one, else Basic. */
  auth?: "auto" | "session" | "basic";
  timeoutMs?: number;
  retry?: BackoffPolicy;
  /** Shared breakers (one key per BMC origin); default: a private set. */
  breakers?: CircuitBreakers;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  rng?: Rng;
  /** Task monitor polling interval and overall deadline. */
  taskPollMs?: number;
  taskDeadlineMs?: number;
};

/** What an action's POST ended as, after its Task monitor (if any) finished. */
export type ActionOutcome = { status: number; body: unknown; task?: string };

const ROOT = "/redfish/v1/";

/** One BMC's Redfish service. */
export class RedfishClient {
  readonly endpoint: string;
  readonly #o: RedfishClientOptions;
  readonly #agent: PveAgent;
  readonly #breakers: CircuitBreakers;
  readonly #key: string;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #rng: Rng;
  #root: Record<string, unknown> | undefined;
  #session: { token: string; location?: string } | undefined;
  #mode: "session" | "basic" | undefined;

  constructor(opts: RedfishClientOptions) {
    this.#o = opts;
    this.endpoint = new URL(opts.endpoint).origin;
    this.#key = this.endpoint;
    this.#agent = new PveAgent(opts.trust, { maxSockets: 4 });
    const now = opts.now ?? Date.now;
    this.#breakers = opts.breakers ??
      new CircuitBreakers({ failureThreshold: 3, cooldownMs: 30_000, now });
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#rng = opts.rng ?? seededRng(1);
  }

  /** "session" or "basic" once logged in; undefined before the first authenticated call. */
  get authMode(): "session" | "basic" | undefined {
    return this.#mode;
  }

  /** Is this BMC's breaker open (calls answer `circuitOpen` without being sent)? */
  get unhealthy(): boolean {
    return this.#breakers.isOpen(this.#key);
  }

  /** The service root (`/redfish/v1/`), read without credentials and cached. */
  async serviceRoot(): Promise<Result<Record<string, unknown>, RedfishError>> {
    if (this.#root) return ok(this.#root);
    const r = await this.#send("GET", ROOT, {}, undefined, true);
    if (!r.ok) return r;
    if (r.value.status !== 200) {
      return err(httpError(endpointName("GET", ROOT), r.value.status, r.value.body));
    }
    if (!isObject(r.value.body)) {
      return err(localError("malformed", "GET /redfish/v1/", "service root is not an object"));
    }
    this.#root = r.value.body;
    return ok(this.#root);
  }

  /** Reads a resource by its `@odata.id`. */
  async get(path: string): Promise<Result<Resource, RedfishError>> {
    const r = await this.#authed("GET", path);
    if (!r.ok) return r;
    if (r.value.status !== 200) {
      return err(httpError(endpointName("GET", path), r.value.status, r.value.body));
    }
    if (!isObject(r.value.body)) {
      return err(localError("malformed", endpointName("GET", path), "answer is not an object"));
    }
    const etag = r.value.headers["etag"] ?? strOf(r.value.body["@odata.etag"]);
    return ok({ id: path, body: r.value.body, ...(etag ? { etag } : {}) });
  }

  /** The `@odata.id`s of a collection's Members. */
  async members(path: string): Promise<Result<string[], RedfishError>> {
    const r = await this.get(path);
    if (!r.ok) return r;
    const m = r.value.body.Members;
    if (!Array.isArray(m)) {
      return err(localError("malformed", endpointName("GET", path), "collection without Members"));
    }
    return ok(m.map((x) => odataId(x)).filter((x): x is string => !!x));
  }

  /**
   * PATCHes a resource with If-Match: the ETag given, else the one a fresh GET returns. A 412
   * (someone changed it in between) reads it again and tries once more.
   */
  async patch(path: string, body: unknown, etag?: string): Promise<Result<void, RedfishError>> {
    let tag = etag;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (tag === undefined) {
        const cur = await this.get(path);
        if (!cur.ok) return cur;
        tag = cur.value.etag;
      }
      const r = await this.#authed("PATCH", path, body, tag ? { "If-Match": tag } : {});
      if (!r.ok) return r;
      if (r.value.status === 412 && attempt === 0) {
        tag = undefined;
        continue;
      }
      if (r.value.status >= 300) {
        return err(httpError(endpointName("PATCH", path), r.value.status, r.value.body));
      }
      return ok(undefined);
    }
    return err(localError("preconditionFailed", endpointName("PATCH", path), "ETag changed twice"));
  }

  /** POSTs an action; a 202 is followed through its Task monitor to the end. */
  async action(path: string, body: unknown): Promise<Result<ActionOutcome, RedfishError>> {
    const r = await this.#authed("POST", path, body);
    if (!r.ok) return r;
    const a = r.value;
    if (a.status === 202) {
      const monitor = a.headers["location"] ?? odataId(a.body);
      if (!monitor) return ok({ status: 202, body: a.body });
      return await this.#awaitTask(endpointName("POST", path), monitor);
    }
    if (a.status >= 300) return err(httpError(endpointName("POST", path), a.status, a.body));
    return ok({ status: a.status, body: a.body });
  }

  /** Logs the session out (best effort) and closes the connection pool. */
  async close(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    if (s?.location) {
      await this.#send("DELETE", s.location, { "X-Auth-Token": s.token }, undefined, false);
    }
    this.#agent.destroy();
  }

  async #awaitTask(
    endpoint: string,
    monitor: string,
  ): Promise<Result<ActionOutcome, RedfishError>> {
    const now = this.#o.now ?? Date.now;
    const deadline = now() + (this.#o.taskDeadlineMs ?? 120_000);
    const poll = this.#o.taskPollMs ?? 500;
    const path = new URL(monitor, this.endpoint).pathname;
    while (true) {
      const r = await this.#authed("GET", path);
      if (!r.ok) return r;
      const { status, body } = r.value;
      const state = isObject(body) ? strOf(body.TaskState) : undefined;
      if (status >= 300) return err(httpError(endpointName("GET", path), status, body));
      if (status !== 202 && (!state || state === "Completed")) {
        return ok({ status, body, task: path });
      }
      if (state && ["Exception", "Killed", "Cancelled", "Interrupted"].includes(state)) {
        const msgs = isObject(body) && Array.isArray(body.Messages)
          ? body.Messages.map((m) => strOf((m as Record<string, unknown>)?.Message)).filter(Boolean)
          : [];
        return err(
          localError(
            "taskFailed",
            endpoint,
            `task ${path} ended ${state}${msgs.length ? `: ${msgs.join("; ")}` : ""}`,
          ),
        );
      }
      if (now() >= deadline) {
        return err(
          localError(
            "taskDeadline",
            endpoint,
            `task ${path} still ${state ?? "running"} at its deadline`,
          ),
        );
      }
      await this.#sleep(poll);
    }
  }

  /** Deletes a resource (a session, a subscription); a 404 is success. */
  async delete(path: string): Promise<Result<void, RedfishError>> {
    const r = await this.#authed("DELETE", path);
    if (!r.ok) return r;
    if (r.value.status >= 300 && r.value.status !== 404) {
      return err(httpError(endpointName("DELETE", path), r.value.status, r.value.body));
    }
    return ok(undefined);
  }

  /** One authenticated request: logs in first if needed, again once after a 401. */
  async #authed(
    method: Method,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<Result<Answer, RedfishError>> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers = await this.#authHeaders();
      if (!headers.ok) return headers;
      const r = await this.#send(
        method,
        path,
        { ...headers.value, ...extra },
        body,
        method !== "POST",
      );
      if (!r.ok) return r;
      if (r.value.status === 401 && this.#mode === "session" && attempt === 0) {
        this.#session = undefined; // expired or revoked: log in again once
        continue;
      }
      if (r.value.status === 401) {
        return err(httpError(endpointName(method, path), 401, r.value.body));
      }
      return r;
    }
    return err(localError("auth", endpointName(method, path), "login did not hold"));
  }

  async #authHeaders(): Promise<Result<Record<string, string>, RedfishError>> {
    if (this.#mode === "basic") return ok(this.#basic());
    if (this.#session) return ok({ "X-Auth-Token": this.#session.token });
    const want = this.#o.auth ?? "auto";
    if (want === "basic") {
      this.#mode = "basic";
      return ok(this.#basic());
    }
    const root = await this.serviceRoot();
    if (!root.ok) return root;
    const links = root.value.Links;
    const sessions = isObject(links) ? odataId(links.Sessions) : undefined;
    if (!sessions) {
      if (want === "session") {
        return err(
          localError("notAllowed", "POST Sessions", "the service offers no SessionService"),
        );
      }
      this.#mode = "basic";
      return ok(this.#basic());
    }
    const endpoint = endpointName("POST", sessions);
    const r = await this.#send("POST", sessions, {}, {
      UserName: this.#o.username,
      Password: this.#o.password(),
    }, false);
    if (!r.ok) return r;
    const token = r.value.headers["x-auth-token"];
    if (r.value.status < 300 && token) {
      const location = r.value.headers["location"] ?? odataId(r.value.body);
      this.#session = {
        token,
        ...(location ? { location: new URL(location, this.endpoint).pathname } : {}),
      };
      this.#mode = "session";
      return ok({ "X-Auth-Token": token });
    }
    if (want === "auto" && [404, 405, 501].includes(r.value.status)) {
      this.#mode = "basic";
      return ok(this.#basic());
    }
    return err(httpError(endpoint, r.value.status, r.value.body));
  }

  #basic(): Record<string, string> {
    const raw = new TextEncoder().encode(`${this.#o.username}:${this.#o.password()}`);
    return { Authorization: `Basic ${btoa(String.fromCharCode(...raw))}` };
  }

  /** One request through the breaker, retried with backoff when `idempotent`. */
  async #send(
    method: Method,
    path: string,
    headers: Record<string, string>,
    body: unknown,
    idempotent: boolean,
  ): Promise<Result<Answer, RedfishError>> {
    const policy = this.#o.retry ?? { attempts: 3, baseMs: 200, maxMs: 2000 };
    const endpoint = endpointName(method, path);
    let last: Result<Answer, RedfishError> | undefined;
    for (let n = 1; n <= policy.attempts; n++) {
      const admit = this.#breakers.admit(this.#key);
      if (!admit.ok) {
        return err(
          localError(
            "circuitOpen",
            endpoint,
            `BMC ${this.endpoint} failed repeatedly; not called until ${
              new Date(admit.retryAt).toISOString()
            }`,
          ),
        );
      }
      last = await exchange(
        { endpoint: this.endpoint, agent: this.#agent, timeoutMs: this.#o.timeoutMs ?? 15_000 },
        method,
        path,
        headers,
        body,
      );
      const unhealthy = !last.ok
        ? HEALTH_FAILURE_KINDS.has(last.error.kind)
        : last.value.status >= 500;
      if (unhealthy) this.#breakers.failure(this.#key);
      else this.#breakers.success(this.#key);
      const retryable = !last.ok
        ? RETRYABLE_KINDS.has(last.error.kind) && idempotent
        : last.value.status === 503 || (last.value.status >= 500 && idempotent);
      if (!retryable || n === policy.attempts) break;
      await this.#sleep(backoffDelay(policy, n, this.#rng));
    }
    return last!;
  }
}

/** The `@odata.id` of a link object, if it is one. */
export function odataId(x: unknown): string | undefined {
  return isObject(x) ? strOf(x["@odata.id"]) : undefined;
}

/** Is `x` a plain JSON object? */
export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function strOf(x: unknown): string | undefined {
  return typeof x === "string" && x ? x : undefined;
}
