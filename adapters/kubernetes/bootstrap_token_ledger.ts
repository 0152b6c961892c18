/**
 * The ledger of join token ids proxscale minted: one ConfigMap in proxscale's own namespace,
 * `proxscale-bootstrap-tokens`, whose data maps each token id (public: it only names the
 * Secret) to the token's expiration (RFC 3339). A token is recorded before its Secret is
 * created and forgotten once its Secret is gone, so the expiry sweep can find every Secret
 * proxscale made by name, even one whose NodeClaim was removed without its finalizer, without
 * ever listing Secrets. Only ids and times are stored here, never a token's secret half.
 *
 * May import: core/, adapters/kubernetes/.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { isNotFound, type KubeClient, type KubeError, PatchType } from "./client.ts";

/** Name of the ledger ConfigMap in proxscale's namespace. */
export const TOKEN_LEDGER_CONFIGMAP = "proxscale-bootstrap-tokens";

const path = (ns: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`;
const TOKEN_ID = /^[a-z0-9]{6}$/;

/** Records a minted token id with its expiration; creates the ConfigMap when missing. */
export async function recordMintedToken(
  client: KubeClient,
  namespace: string,
  tokenId: string,
  expiration: string,
): Promise<Result<void, KubeError>> {
  const patch = await client.requestJson("PATCH", `${path(namespace)}/${TOKEN_LEDGER_CONFIGMAP}`, {
    body: { data: { [tokenId]: expiration } },
    contentType: PatchType.MergePatch,
  });
  if (patch.ok) return ok(undefined);
  if (!isNotFound(patch.error)) return err(patch.error);
  const made = await client.requestJson("POST", path(namespace), {
    body: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: TOKEN_LEDGER_CONFIGMAP,
        namespace,
        labels: { "app.kubernetes.io/managed-by": "proxscale" },
      },
      data: { [tokenId]: expiration },
    },
  });
  if (made.ok) return ok(undefined);
  // Another replica created it in between: patch again.
  if (made.error.kind === "Status" && made.error.code === 409) {
    return await recordMintedToken(client, namespace, tokenId, expiration);
  }
  return err(made.error);
}

/** Drops token ids whose Secrets are gone; a missing ConfigMap has nothing to drop. */
export async function forgetMintedTokens(
  client: KubeClient,
  namespace: string,
  tokenIds: readonly string[],
): Promise<Result<void, KubeError>> {
  if (tokenIds.length === 0) return ok(undefined);
  const r = await client.requestJson("PATCH", `${path(namespace)}/${TOKEN_LEDGER_CONFIGMAP}`, {
    body: { data: Object.fromEntries(tokenIds.map((id) => [id, null])) },
    contentType: PatchType.MergePatch,
  });
  if (r.ok || isNotFound(r.error)) return ok(undefined);
  return err(r.error);
}

/** The recorded token ids (GET by name); none when the ConfigMap does not exist. */
export async function readMintedTokens(
  client: KubeClient,
  namespace: string,
): Promise<Result<string[], KubeError>> {
  const r = await client.requestJson("GET", `${path(namespace)}/${TOKEN_LEDGER_CONFIGMAP}`);
  if (!r.ok) return isNotFound(r.error) ? ok([]) : err(r.error);
  const data = (r.value.body as { data?: unknown } | null)?.data;
  if (!data || typeof data !== "object") return ok([]);
  return ok(Object.keys(data).filter((k) => TOKEN_ID.test(k)));
}
