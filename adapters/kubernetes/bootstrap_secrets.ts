/**
 * kubeadm bootstrap-token Secrets (`bootstrap-token-<id>` in kube-system): one short-lived
 * token per NodeClaim, created before the VM boots and deleted once the node has joined (or
 * when it expired, in case the cluster's token cleaner is off). Every call names its Secret:
 * proxscale may create, get and delete Secrets in kube-system, never list or watch them. The
 * Secret's shape comes from core/bootstrap_token.ts; this file only talks to the API.
 */
import {
  type AuthExtraGroup,
  BOOTSTRAP_TOKEN_NAMESPACE,
  bootstrapSecretManifest,
  type BootstrapToken,
  bootstrapTokenSecretName,
} from "../../core/bootstrap_token.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { isNotFound, type KubeClient, type KubeError } from "./client.ts";

const SECRETS = `/api/v1/namespaces/${BOOTSTRAP_TOKEN_NAMESPACE}/secrets`;

/** Creates the token's Secret, expiring `ttlMs` after `now`. An id collision is a Conflict. */
export async function createBootstrapTokenSecret(
  client: KubeClient,
  token: BootstrapToken,
  now: number,
  ttlMs: number,
  opts: { group?: AuthExtraGroup; nodeClaim?: string } = {},
): Promise<Result<{ name: string; expiresAt: number }, KubeError>> {
  const body = bootstrapSecretManifest(token, now, ttlMs, opts);
  const r = await client.requestJson("POST", SECRETS, { body });
  if (!r.ok) return r;
  return ok({ name: body.metadata.name, expiresAt: Math.floor((now + ttlMs) / 1000) * 1000 });
}

/** Deletes a token's Secret; one already gone counts as deleted. */
export async function deleteBootstrapTokenSecret(
  client: KubeClient,
  tokenId: string,
): Promise<Result<{ existed: boolean }, KubeError>> {
  const r = await client.requestJson("DELETE", `${SECRETS}/${bootstrapTokenSecretName(tokenId)}`);
  if (r.ok) return ok({ existed: true });
  if (isNotFound(r.error)) return ok({ existed: false });
  return err(r.error);
}

/** What reading one token Secret by name found. */
export type TokenSecretState =
  | { exists: false }
  | { exists: true; managed: boolean; expiresAt: number | undefined };

/** Reads a token's Secret by name (GET, never LIST): whether it exists, is ours, and expires. */
export async function readBootstrapTokenSecret(
  client: KubeClient,
  tokenId: string,
): Promise<Result<TokenSecretState, KubeError>> {
  const r = await client.requestJson("GET", `${SECRETS}/${bootstrapTokenSecretName(tokenId)}`);
  if (!r.ok) return isNotFound(r.error) ? ok({ exists: false }) : err(r.error);
  const s = r.value.body as {
    metadata?: { labels?: Record<string, string> };
    data?: Record<string, string>;
  } | null;
  const managed = s?.metadata?.labels?.["app.kubernetes.io/managed-by"] === "proxscale";
  let expiresAt: number | undefined;
  const exp = s?.data?.expiration;
  if (typeof exp === "string") {
    try {
      const t = Date.parse(atob(exp));
      if (Number.isFinite(t)) expiresAt = t;
    } catch {
      expiresAt = undefined;
    }
  }
  return ok({ exists: true, managed, expiresAt });
}

/**
 * Deletes, among the token ids proxscale recorded (on NodeClaims and in its ledger), the Secrets
 * that are proxscale's and whose own `expiration` has passed. Works by name only: GET then
 * DELETE each, so the ServiceAccount needs no `list` on Secrets (a list returns every Secret's
 * data in kube-system). Returns the deleted Secrets' names and the ids whose Secret is gone
 * (deleted now or before), which the caller may drop from its ledger. A Secret proxscale did
 * not label is never touched. kubeadm clusters run the token cleaner controller, which deletes
 * expired token Secrets on its own; this is the backstop for clusters without it.
 */
export async function deleteExpiredBootstrapTokenSecrets(
  client: KubeClient,
  now: number,
  tokenIds: readonly string[],
): Promise<Result<{ deleted: string[]; gone: string[] }, KubeError>> {
  const deleted: string[] = [];
  const gone: string[] = [];
  for (const id of new Set(tokenIds)) {
    if (!/^[a-z0-9]{6}$/.test(id)) continue;
    const s = await readBootstrapTokenSecret(client, id);
    if (!s.ok) return s;
    if (!s.value.exists) {
      gone.push(id);
      continue;
    }
    if (!s.value.managed || s.value.expiresAt === undefined || s.value.expiresAt > now) continue;
    const d = await deleteBootstrapTokenSecret(client, id);
    if (!d.ok) return d;
    if (d.value.existed) deleted.push(bootstrapTokenSecretName(id));
    gone.push(id);
  }
  return ok({ deleted, gone });
}
