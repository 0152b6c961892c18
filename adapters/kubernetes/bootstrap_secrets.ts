/**
 * kubeadm bootstrap-token Secrets in kube-system (kubernetes-api.md §10.5): one short-lived
 * token per NodeClaim, created before the VM boots and deleted once the node has joined (or
 * when it expired, in case the cluster's token cleaner is off). The Secret's shape comes from
 * core/bootstrap_token.ts; this file only talks to the API.
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

/** Deletes proxscale's token Secrets whose expiration has passed; returns their names. */
export async function deleteExpiredBootstrapTokenSecrets(
  client: KubeClient,
  now: number,
): Promise<Result<string[], KubeError>> {
  const list = await client.requestJson("GET", SECRETS, {
    query: {
      labelSelector: "app.kubernetes.io/managed-by=proxscale",
      fieldSelector: "type=bootstrap.kubernetes.io/token",
    },
  });
  if (!list.ok) return list;
  const items = ((list.value.body as { items?: unknown[] })?.items ?? []) as {
    metadata?: { name?: string };
    data?: Record<string, string>;
  }[];
  const deleted: string[] = [];
  for (const s of items) {
    const name = s.metadata?.name;
    const exp = s.data?.expiration;
    if (!name || !exp) continue;
    let expiresAt: number;
    try {
      expiresAt = Date.parse(atob(exp));
    } catch {
      continue;
    }
    if (!(expiresAt <= now)) continue;
    const r = await client.requestJson("DELETE", `${SECRETS}/${name}`);
    if (!r.ok && !isNotFound(r.error)) return r;
    deleted.push(name);
  }
  return ok(deleted);
}
