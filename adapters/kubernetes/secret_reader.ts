/**
 * Reads one key of a Kubernetes Secret for a `tokenSecret: { secret: ... }` or Redis password
 * reference (adapters/proxmox/secret.ts injects it as `readKubeSecret`). Failures are
 * SecretReadErrors whose text names the namespace/name and the fix, never a value: proxscale's
 * RBAC grants `get` on Secrets only in its own namespace, so a reference elsewhere is a 403 that
 * must read as a configuration mistake at startup, not as an opaque error.
 */
import { type KubeSecretReader, SecretReadError } from "../proxmox/secret.ts";
import type { KubeClient, KubeError } from "./client.ts";

function failure(e: KubeError, namespace: string, own: string | undefined): string {
  if (e.kind === "Transport") return `cannot be read: API server unreachable (${e.message})`;
  if (e.code === 404) return "does not exist";
  if (e.code === 403) {
    return own !== undefined && own !== namespace
      ? `forbidden: proxscale may read Secrets only in its own namespace ${own}; move the Secret ` +
        `there, or grant proxscale's ServiceAccount get on secrets in ${namespace} (a Role and ` +
        "RoleBinding)"
      : `forbidden: proxscale's ServiceAccount lacks get on secrets in ${namespace} ` +
        "(apply the RBAC of deploy/proxscale.yaml)";
  }
  // Only code and reason: a Status message is the API server's, but nothing here needs it.
  return `cannot be read (${e.code} ${e.reason})`;
}

/**
 * A reader through `kube`: GET /api/v1/namespaces/<ns>/secrets/<name>, base64-decoded
 * `data[key]` (UTF-8). `ownNamespace` is proxscale's, for the 403 message.
 */
export function kubeSecretReader(kube: KubeClient, ownNamespace?: string): KubeSecretReader {
  return async (ref) => {
    const path = `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/secrets/${
      encodeURIComponent(ref.name)
    }`;
    const r = await kube.requestJson("GET", path);
    if (!r.ok) throw new SecretReadError(failure(r.error, ref.namespace, ownNamespace));
    const data = (r.value.body as { data?: Record<string, unknown> } | undefined)?.data ?? {};
    const b64 = data[ref.key];
    if (typeof b64 !== "string") {
      const keys = Object.keys(data);
      throw new SecretReadError(
        `has no key ${ref.key} (keys: ${keys.length ? keys.join(", ") : "none"})`,
      );
    }
    try {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new SecretReadError(`key ${ref.key} is not base64-encoded UTF-8 text`);
    }
  };
}
