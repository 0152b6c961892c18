/**
 * Kubeconfig text for the fake API server (kubernetes-api.md §11.3): HTTPS with the CA and
 * a bearer token, or HTTP with `insecure-skip-tls-verify: true` and no CA (traps 12.2.5-6:
 * client-node refuses http:// without the flag, kubectl refuses the flag with a CA).
 */
import { stringify } from "yaml";

/** Builds the YAML of a kubeconfig that points any client at `url`. */
export function kubeconfigYaml(
  opts: { url: string; token: string; caPem?: string; namespace?: string },
): string {
  const cluster: Record<string, unknown> = { server: opts.url };
  if (opts.url.startsWith("https:") && opts.caPem) {
    cluster["certificate-authority-data"] = btoa(opts.caPem);
  } else cluster["insecure-skip-tls-verify"] = true;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "proxscale-fake", cluster }],
    users: [{ name: "proxscale-admin", user: { token: opts.token } }],
    contexts: [{
      name: "proxscale-fake",
      context: {
        cluster: "proxscale-fake",
        user: "proxscale-admin",
        namespace: opts.namespace ?? "default",
      },
    }],
    "current-context": "proxscale-fake",
    preferences: {},
  });
}
