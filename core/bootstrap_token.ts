/**
 * Per-NodeClaim kubeadm bootstrap tokens: the token itself (`<id>.<secret>`, drawn from a
 * random source passed in) and the `bootstrap.kubernetes.io/token` Secret that makes the API
 * server accept it. One short-lived token per NodeClaim means a leaked seed ISO is worth
 * minutes, not a cluster-wide credential: it expires after the registration timeout plus a margin,
 * is never reused, and is deleted once the node has joined or the claim is gone.
 *
 * Pure: no clock (pass `now`), no randomness of its own (pass the bytes).
 */
import { err, ok, type Result } from "./result.ts";

/** A kubeadm bootstrap token; `id` is public (it names the Secret), `secret` is the credential. */
export type BootstrapToken = { id: string; secret: string };

/** Fills `n` bytes from a cryptographically secure source (the adapter passes getRandomValues). */
export type RandomBytes = (n: number) => Uint8Array;

/** The whole-token format the API server's authenticator accepts. */
export const BOOTSTRAP_TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

/** The group kubeadm's RBAC (node bootstrapper, CSR auto-approval, join reads) is bound to. */
export const KUBEADM_NODE_GROUP = "system:bootstrappers:kubeadm:default-node-token";
/** The group `k3s token create` uses; k3s binds its bootstrap RBAC to it. */
export const K3S_NODE_GROUP = "system:bootstrappers:k3s:default-node-token";
/** The extra groups proxscale may put on a token: only those the shipped RBAC covers. */
export type AuthExtraGroup = typeof KUBEADM_NODE_GROUP | typeof K3S_NODE_GROUP;

/** Namespace the API server's bootstrap authenticator reads token Secrets from. */
export const BOOTSTRAP_TOKEN_NAMESPACE = "kube-system";

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
/** Bytes at or above this are discarded so that `byte % 36` is unbiased (252 = 7 * 36). */
const REJECT_FROM = 252;

/**
 * Draws a fresh token: each of the 22 characters from `0-9a-z`, rejecting bytes >= 252 as the
 * reference implementation does. Throws only if the random source keeps returning rejectable
 * bytes, which means the source is broken.
 */
export function generateBootstrapToken(random: RandomBytes): BootstrapToken {
  const chars: string[] = [];
  for (let round = 0; chars.length < 22; round++) {
    if (round > 1000) throw new Error("Random source returned no usable bytes in 1000 draws");
    for (const b of random(32)) {
      if (b >= REJECT_FROM) continue;
      chars.push(ALPHABET[b % ALPHABET.length]!);
      if (chars.length === 22) break;
    }
  }
  return { id: chars.slice(0, 6).join(""), secret: chars.slice(6).join("") };
}

/** `<id>.<secret>`, the form kubeadm, k3s and Talos take. */
export function formatBootstrapToken(t: BootstrapToken): string {
  return `${t.id}.${t.secret}`;
}

/** Why a text is not a bootstrap token (never echoes the text: it may be a real secret). */
export type BootstrapTokenError = { kind: "InvalidBootstrapToken"; message: string };

/** Parses `<id>.<secret>`. */
export function parseBootstrapToken(text: string): Result<BootstrapToken, BootstrapTokenError> {
  const m = BOOTSTRAP_TOKEN_PATTERN.exec(text);
  if (!m) {
    return err({
      kind: "InvalidBootstrapToken",
      message: "a bootstrap token is 6 then 16 characters of [a-z0-9] joined by '.'",
    });
  }
  return ok({ id: m[1]!, secret: m[2]! });
}

/** The Secret's name: the API server looks tokens up as `bootstrap-token-<id>`. */
export function bootstrapTokenSecretName(tokenId: string): string {
  return `bootstrap-token-${tokenId}`;
}

/** Does a group satisfy the authenticator's rule for `auth-extra-groups` entries? */
export function isValidAuthExtraGroup(group: string): boolean {
  return /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/.test(group);
}

/** The Secret as sent to the API server (stringData: the server base64-encodes it). */
export type BootstrapTokenSecret = {
  apiVersion: "v1";
  kind: "Secret";
  metadata: {
    name: string;
    namespace: typeof BOOTSTRAP_TOKEN_NAMESPACE;
    labels: Record<string, string>;
  };
  type: "bootstrap.kubernetes.io/token";
  stringData: {
    "token-id": string;
    "token-secret": string;
    expiration: string;
    "usage-bootstrap-authentication": "true";
    "usage-bootstrap-signing": "true";
    "auth-extra-groups": string;
    description: string;
  };
};

/**
 * The token Secret for one NodeClaim. Both usages are on: authentication for the kubelet's
 * TLS bootstrap, signing so that `kubeadm join` token discovery finds its JWS in cluster-info
 * (peers that drop signing cannot join with kubeadm). Expires at
 * `now + ttlMs` (epoch ms), written as RFC 3339 UTC to the second.
 */
export function bootstrapSecretManifest(
  token: BootstrapToken,
  now: number,
  ttlMs: number,
  opts: { group?: AuthExtraGroup; nodeClaim?: string } = {},
): BootstrapTokenSecret {
  const group = opts.group ?? KUBEADM_NODE_GROUP;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: bootstrapTokenSecretName(token.id),
      namespace: BOOTSTRAP_TOKEN_NAMESPACE,
      labels: { "app.kubernetes.io/managed-by": "proxscale" },
    },
    type: "bootstrap.kubernetes.io/token",
    stringData: {
      "token-id": token.id,
      "token-secret": token.secret,
      expiration: rfc3339(now + ttlMs),
      "usage-bootstrap-authentication": "true",
      "usage-bootstrap-signing": "true",
      "auth-extra-groups": group,
      description: opts.nodeClaim === undefined
        ? "proxscale join token"
        : `proxscale join token for NodeClaim ${opts.nodeClaim}`,
    },
  };
}

/** Default margin added to the registration timeout: 15 min + 15 min = 30 min in all. */
export const TOKEN_TTL_MARGIN_MS = 15 * 60_000;

/**
 * How long a per-node token lives: long enough for a slow boot to register (the registration
 * timeout plus a margin, cf. cluster-api#2770), short enough that a leaked ISO soon stops
 * mattering. Tokens are never refreshed silently.
 */
export function bootstrapTokenTtl(
  registrationTimeoutMs: number,
  marginMs = TOKEN_TTL_MARGIN_MS,
): number {
  return registrationTimeoutMs + marginMs;
}

/** RFC 3339 UTC to the second ("2026-09-01T12:30:00Z"), as the authenticator parses it. */
export function rfc3339(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
