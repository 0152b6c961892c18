/**
 * Authentication and permissions of the fake PVE: API tokens
 * (`PVEAPIToken=user@realm!id=secret`, no CSRF), tickets with CSRFPreventionToken for writes,
 * PVE's exact 401 texts, and a small ACL model (privileges on paths, propagating to children)
 * that is enough to answer `403 Permission check failed (<path>, <priv>)` and to filter lists.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** A privilege grant; `privs` may contain "*" for all. Propagates to sub-paths unless false. */
export type Acl = { path: string; privs: string[]; propagate?: boolean };

/** An API token; `acls` undefined means every privilege (a privsep=0 root token). */
export type TokenSpec = { id: string; secret: string; acls?: Acl[]; enabled?: boolean };

/** A password user for ticket login. */
export type UserSpec = { userid: string; password: string; acls?: Acl[] };

/** Who is calling. `full` is how tasks name the caller (`user@realm!tokenid`). */
export type Identity = {
  userid: string;
  tokenid?: string;
  full: string;
  acls?: Acl[];
  via: "token" | "ticket";
};

/** Auth outcome: an identity, or the 401 reason phrase. */
export type AuthResult = { ok: true; identity: Identity } | { ok: false; message: string };

const TICKET_LIFETIME_S = 2 * 3600;

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, "0");
}

function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Holds tokens, users and the server secret that signs tickets and CSRF tokens. */
export class AuthRegistry {
  readonly tokens = new Map<string, TokenSpec>();
  readonly users = new Map<string, UserSpec>();
  readonly #secret: string;
  readonly #now: () => number;

  constructor(secret: string, now: () => number) {
    this.#secret = secret;
    this.#now = now;
  }

  /** Adds or replaces a token. */
  addToken(t: TokenSpec): void {
    this.tokens.set(t.id, t);
  }

  /** Revokes a token: later calls get `401 Authentication failed!`. */
  revokeToken(id: string): void {
    this.tokens.delete(id);
  }

  /** Adds or replaces a password user. */
  addUser(u: UserSpec): void {
    this.users.set(u.userid, u);
  }

  #sign(text: string): string {
    return createHmac("sha256", this.#secret).update(text).digest("base64").replace(/=+$/, "");
  }

  /** `POST /access/ticket`: a ticket and CSRF token, or undefined on a wrong password. */
  login(
    username: string,
    password: string,
  ): { ticket: string; csrf: string; username: string } | undefined {
    const u = this.users.get(username);
    let userid = u?.userid;
    if (!u || !safeEqual(u.password, password)) {
      // renewing with the current ticket as password is allowed
      const t = this.#verifyTicket(password);
      if (!t || t !== username) return undefined;
      userid = t;
    }
    const ts = hex8(Math.floor(this.#now() / 1000));
    const plain = `PVE:${userid}:${ts}`;
    return {
      ticket: `${plain}::${this.#sign(plain)}`,
      csrf: this.csrfFor(userid!, ts),
      username: userid!,
    };
  }

  /** The CSRFPreventionToken for a user: `<HEX ts>:<base64 HMAC-SHA256>` (43 chars). */
  csrfFor(userid: string, ts: string): string {
    return `${ts}:${this.#sign(`${ts}:${userid}`)}`;
  }

  #verifyTicket(ticket: string): string | undefined {
    const m = /^(PVE:([^:]+):([0-9A-F]{8}))::(.+)$/.exec(ticket);
    if (!m || !safeEqual(this.#sign(m[1]!), m[4]!)) return undefined;
    const age = Math.floor(this.#now() / 1000) - parseInt(m[3]!, 16);
    if (age < -300 || age > TICKET_LIFETIME_S + 300) return undefined;
    return this.users.has(m[2]!) ? m[2]! : undefined;
  }

  /**
   * Authenticates a request. Precedence as PVE: ticket cookie, ticket in Authorization, then
   * the token. Writes with a ticket need a valid CSRFPreventionToken.
   */
  authenticate(headers: Record<string, string | string[] | undefined>, method: string): AuthResult {
    const cookie = String(headers["cookie"] ?? "");
    const authz = String(headers["authorization"] ?? "");
    let ticket = /(?:^|;\s*)PVEAuthCookie=([^;]*)/.exec(cookie)?.[1];
    if (ticket === undefined) ticket = /(?:^|\s)PVEAuthCookie=([^;\s]*)/.exec(authz)?.[1];
    if (ticket !== undefined) {
      const userid = this.#verifyTicket(decodeURIComponent(ticket));
      if (!userid) return { ok: false, message: "Authentication failed!" };
      if (method !== "GET") {
        const csrf = String(headers["csrfpreventiontoken"] ?? "");
        const ts = csrf.split(":")[0] ?? "";
        if (!/^[0-9A-F]{8}$/.test(ts) || !safeEqual(csrf, this.csrfFor(userid, ts))) {
          return { ok: false, message: "Permission denied - invalid csrf token" };
        }
      }
      const u = this.users.get(userid)!;
      const id: Identity = { userid, full: userid, via: "ticket" };
      if (u.acls) id.acls = u.acls;
      return { ok: true, identity: id };
    }
    const tok = /(?:^|\s)PVEAPIToken(?:=| )([^;]*)/.exec(authz)?.[1];
    if (tok === undefined) return { ok: false, message: "No ticket" };
    let value: string;
    try {
      value = decodeURIComponent(tok.trim());
    } catch {
      return { ok: false, message: "Authentication failed!" };
    }
    const eq = value.lastIndexOf("=");
    const tokenId = value.slice(0, eq);
    const secret = value.slice(eq + 1);
    const m = /^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$/.exec(tokenId);
    const spec = this.tokens.get(tokenId);
    if (eq < 0 || !m || !spec || spec.enabled === false || !safeEqual(spec.secret, secret)) {
      return { ok: false, message: "Authentication failed!" };
    }
    const id: Identity = { userid: m[1]!, tokenid: m[2]!, full: tokenId, via: "token" };
    if (spec.acls) id.acls = spec.acls;
    return { ok: true, identity: id };
  }
}

/** Whether `id` holds `priv` on any of `paths` (an ACL on a parent propagates). */
export function hasPriv(id: Identity, paths: string[], priv: string): boolean {
  if (!id.acls) return true;
  return id.acls.some((a) =>
    (a.privs.includes(priv) || a.privs.includes("*")) &&
    paths.some((p) =>
      p === a.path || (a.propagate !== false && (a.path === "/" || p.startsWith(`${a.path}/`)))
    )
  );
}

/** `Permission check failed (<path>, <priv>)` for the first privilege not held, else undefined. */
export function missingPriv(
  id: Identity,
  needs: Array<{ paths: string[]; privs: string[] }>,
): string | undefined {
  for (const n of needs) {
    if (!n.privs.some((p) => hasPriv(id, n.paths, p))) {
      return `Permission check failed (${n.paths[0]}, ${n.privs.join("|")})`;
    }
  }
  return undefined;
}
