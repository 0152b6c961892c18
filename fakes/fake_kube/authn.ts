/**
 * Who a request to the fake API server comes from. Credentials, in the order checked:
 * a client certificate signed by the fake's CA (CN is the user, each O a group), the admin
 * bearer token (user `proxscale-admin` in `system:masters`), static tokens from the `users`
 * option (the user named, in no group but `system:authenticated`), ServiceAccount tokens
 * this fake issued (TokenRequest or `tokenFor`), and kubeadm bootstrap tokens backed by a
 * valid `bootstrap-token-<id>` Secret. Over plain HTTP a request without credentials is an
 * anonymous administrator (quick tests); over HTTPS it is refused with 401.
 *
 * ServiceAccount tokens authenticate as `system:serviceaccount:<ns>:<name>` in the groups
 * `system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated`, for as
 * long as they are unexpired and the ServiceAccount they were issued for (same uid) exists.
 *
 * May import: listener.ts, objects.ts, rbac.ts (types), status.ts, store.ts, ../result.ts.
 */
import { err, ok, type Result } from "../result.ts";
import { CLIENT_CERT_HEADER } from "./listener.ts";
import { formatTime, uuid } from "./objects.ts";
import { MASTERS, serviceAccountGroups, type UserInfo } from "./rbac.ts";
import { invalid, notFound, type Status } from "./status.ts";
import type { KubeStore } from "./store.ts";

const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
/** The issuer and default audience of the tokens this fake mints (a real cluster's default). */
export const TOKEN_ISSUER = "https://kubernetes.default.svc.cluster.local";
const SA_REF = { plural: "serviceaccounts", group: "", kind: "ServiceAccount" };

/** The admin user of the bearer token and the client certificate of the kubeconfig. */
export const ADMIN_USER = "proxscale-admin";

type IssuedToken = { namespace: string; name: string; uid: string; expiresAt: number; jti: string };

/** What the authenticator needs from the server. */
export type AuthnOptions = {
  store: KubeStore;
  tls: boolean;
  adminToken: string;
  users: Record<string, string>;
  now: () => number;
  random: () => number;
};

/** A minted ServiceAccount token and when it stops working (RFC 3339). */
export type IssuedServiceAccountToken = { token: string; expirationTimestamp: string };

const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** Resolves credentials to a user and mints ServiceAccount tokens. */
export class Authenticator {
  #o: AuthnOptions;
  #issued = new Map<string, IssuedToken>();

  constructor(o: AuthnOptions) {
    this.#o = o;
  }

  /** The user a request authenticates as, or undefined (401). */
  authenticate(req: Request): UserInfo | undefined {
    const cert = req.headers.get(CLIENT_CERT_HEADER);
    if (cert) {
      const [user, groups] = cert.split("|") as [string, string];
      return {
        username: user,
        groups: [...groups.split(",").filter((g) => g), "system:authenticated"],
      };
    }
    const h = req.headers.get("authorization");
    const bearer = h?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!bearer) {
      return this.#o.tls ? undefined : { username: "system:anonymous", groups: [MASTERS] };
    }
    return this.authenticateToken(bearer);
  }

  /** The user a bearer token stands for (also what a TokenReview answers). */
  authenticateToken(bearer: string): UserInfo | undefined {
    if (bearer === this.#o.adminToken) {
      return { username: ADMIN_USER, groups: [MASTERS, "system:authenticated"] };
    }
    const user = this.#o.users[bearer];
    if (user !== undefined) return { username: user, groups: ["system:authenticated"] };
    const issued = this.#issued.get(bearer);
    if (issued) return this.#serviceAccountUser(issued);
    return this.#bootstrapUser(bearer);
  }

  /**
   * Mints a token for an existing ServiceAccount (`expirationSeconds` defaults to one hour,
   * at least ten minutes as the apiserver requires); 404 when the ServiceAccount is missing.
   */
  issue(
    namespace: string,
    name: string,
    expirationSeconds = 3600,
  ): Result<IssuedServiceAccountToken, Status> {
    const tooShort = !Number.isInteger(expirationSeconds) || expirationSeconds < 600;
    if (tooShort || expirationSeconds > 2 ** 32) {
      return err(invalid("TokenRequest.authentication.k8s.io", name, [{
        reason: "FieldValueInvalid",
        field: "spec.expirationSeconds",
        message: `Invalid value: ${expirationSeconds}: may not specify a duration ${
          tooShort ? "less than 10 minutes" : "larger than 2^32 seconds"
        }`,
      }], { group: "authentication.k8s.io", kind: "TokenRequest" }));
    }
    const sa = this.#o.store.peek("serviceaccounts", namespace, name);
    if (!sa) return err(notFound(SA_REF, name));
    const now = this.#o.now();
    const jti = uuid(this.#o.random);
    const uid = sa.metadata.uid ?? "";
    const expiresAt = now + expirationSeconds * 1000;
    const claims = {
      aud: [TOKEN_ISSUER],
      exp: Math.floor(expiresAt / 1000),
      iat: Math.floor(now / 1000),
      iss: TOKEN_ISSUER,
      jti,
      "kubernetes.io": { namespace, serviceaccount: { name, uid } },
      nbf: Math.floor(now / 1000),
      sub: `system:serviceaccount:${namespace}:${name}`,
    };
    const sig = Array.from(
      { length: 43 },
      () =>
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[
          Math.floor(this.#o.random() * 64)
        ],
    ).join("");
    const token = `${b64url(JSON.stringify({ alg: "RS256", kid: "fake-kube" }))}.${
      b64url(JSON.stringify(claims))
    }.${sig}`;
    this.#issued.set(token, { namespace, name, uid, expiresAt, jti });
    return ok({ token, expirationTimestamp: formatTime(expiresAt) });
  }

  #serviceAccountUser(t: IssuedToken): UserInfo | undefined {
    if (t.expiresAt <= this.#o.now()) return undefined;
    const sa = this.#o.store.peek("serviceaccounts", t.namespace, t.name);
    if (!sa || (sa.metadata.uid ?? "") !== t.uid) return undefined;
    return {
      username: `system:serviceaccount:${t.namespace}:${t.name}`,
      uid: t.uid,
      groups: [...serviceAccountGroups(t.namespace), "system:authenticated"],
      extra: { "authentication.kubernetes.io/credential-id": [`JTI=${t.jti}`] },
    };
  }

  #bootstrapUser(bearer: string): UserInfo | undefined {
    const m = bearer.match(BOOTSTRAP_TOKEN);
    if (!m) return undefined;
    const s = this.#o.store.peek("secrets", "kube-system", `bootstrap-token-${m[1]}`);
    const data = s?.data ?? {};
    const dec = (k: string) => (data[k] ? atob(data[k]) : undefined);
    const exp = dec("expiration");
    if (
      !s || s.type !== "bootstrap.kubernetes.io/token" || dec("token-secret") !== m[2] ||
      dec("usage-bootstrap-authentication") !== "true" || (exp && Date.parse(exp) < this.#o.now())
    ) return undefined;
    const extra = (dec("auth-extra-groups") ?? "").split(",").filter((g) => g);
    return {
      username: `system:bootstrap:${m[1]}`,
      groups: ["system:bootstrappers", ...extra, "system:authenticated"],
    };
  }
}
