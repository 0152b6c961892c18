/**
 * The fake BMC's accounts and sessions: users with a Redfish role (Administrator, Operator,
 * ReadOnly), SessionService sessions that expire after `SessionTimeout` seconds without use,
 * HTTP Basic for every request, and a test control that expires all sessions at once.
 *
 * May import: fakes/.
 */

/** A Redfish role; ReadOnly may only read, Operator may also act and patch. */
export type Role = "Administrator" | "Operator" | "ReadOnly";

/** One BMC account. */
export type FakeUser = { username: string; password: string; role: Role };

/** One live session. */
export type FakeSession = { id: string; token: string; user: FakeUser; lastUsed: number };

/** Accounts, sessions and their expiry. */
export class SessionStore {
  readonly users: FakeUser[];
  readonly sessions = new Map<string, FakeSession>();
  /** Idle seconds before a session expires. */
  timeoutS: number;
  #next = 1;
  readonly #now: () => number;

  constructor(users: FakeUser[], timeoutS: number, now: () => number = Date.now) {
    this.users = users;
    this.timeoutS = timeoutS;
    this.#now = now;
  }

  /** Checks a password login; the user when right. */
  login(username: unknown, password: unknown): FakeUser | undefined {
    return this.users.find((u) => u.username === username && u.password === password);
  }

  /** Opens a session for `user`. */
  open(user: FakeUser): FakeSession {
    const id = String(this.#next++);
    const token = crypto.randomUUID().replaceAll("-", "");
    const s = { id, token, user, lastUsed: this.#now() };
    this.sessions.set(id, s);
    return s;
  }

  /** The user behind an X-Auth-Token or Basic header, refreshing the session's idle clock. */
  authenticate(headers: Record<string, string | string[] | undefined>): FakeUser | undefined {
    const token = headers["x-auth-token"];
    if (typeof token === "string") {
      for (const s of this.sessions.values()) {
        if (s.token !== token) continue;
        if (this.#now() - s.lastUsed > this.timeoutS * 1000) {
          this.sessions.delete(s.id);
          return undefined;
        }
        s.lastUsed = this.#now();
        return s.user;
      }
      return undefined;
    }
    const auth = headers["authorization"];
    if (typeof auth === "string" && auth.startsWith("Basic ")) {
      let decoded = "";
      try {
        decoded = atob(auth.slice(6));
      } catch {
        return undefined;
      }
      const i = decoded.indexOf(":");
      return i < 0 ? undefined : this.login(decoded.slice(0, i), decoded.slice(i + 1));
    }
    return undefined;
  }

  /** Ends a session (logout). */
  close(id: string): boolean {
    return this.sessions.delete(id);
  }

  /** Test control: every session is gone, as after a BMC reboot or timeout. */
  expireAll(): void {
    this.sessions.clear();
  }
}
