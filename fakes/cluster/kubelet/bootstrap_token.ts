/**
 * TLS bootstrap as the API server's bootstrap-token authenticator judges it: a token
 * `<id>.<secret>` is accepted when kube-system holds a Secret `bootstrap-token-<id>` of type
 * `bootstrap.kubernetes.io/token` whose `token-secret` matches, whose
 * `usage-bootstrap-authentication` is "true" and whose `expiration` (if any) is in the future.
 *
 * May import: fakes/.
 */
import type { KubeStore } from "../../fake_kube/store.ts";

/** Whether a bootstrap token would authenticate now (epoch ms). */
export function tokenAccepted(store: KubeStore, token: string, now: number): boolean {
  const m = /^([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(token);
  if (!m) return false;
  const s = store.get("secrets", "kube-system", `bootstrap-token-${m[1]}`);
  if (!s.ok) return false;
  const secret = s.value as {
    type?: string;
    data?: Record<string, string>;
    stringData?: Record<string, string>;
  };
  if (secret.type !== undefined && secret.type !== "bootstrap.kubernetes.io/token") return false;
  const field = (key: string): string | undefined => {
    const b64 = secret.data?.[key];
    if (b64 !== undefined) {
      try {
        return atob(b64);
      } catch {
        return undefined;
      }
    }
    return secret.stringData?.[key];
  };
  const id = field("token-id");
  if (id !== undefined && id !== m[1]) return false;
  if (field("token-secret") !== m[2]) return false;
  if (field("usage-bootstrap-authentication") !== "true") return false;
  const exp = field("expiration");
  if (exp !== undefined) {
    const at = Date.parse(exp);
    if (Number.isNaN(at) || at <= now) return false;
  }
  return true;
}

/** The first of the seed's tokens that would authenticate, if any. */
export function acceptedToken(
  store: KubeStore,
  tokens: readonly string[],
  now: number,
): string | undefined {
  return tokens.find((t) => tokenAccepted(store, t, now));
}
