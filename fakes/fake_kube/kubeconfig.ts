/**
 * Kubeconfig text for the fake API server: HTTPS with the CA and a bearer token, or HTTP with
 * `insecure-skip-tls-verify: true` and no CA (client-node refuses http:// without the flag,
 * kubectl refuses the flag together with a CA, and kubectl sends no credentials over HTTP).
 */
import { stringify } from "yaml";

/**
 * Builds the YAML of a kubeconfig that points any client at `url`: a token user (current
 * context) and, over HTTPS when a client certificate is given, a certificate user and context.
 */
export function kubeconfigYaml(opts: {
  url: string;
  token: string;
  caPem?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  namespace?: string;
}): string {
  const cluster: Record<string, unknown> = { server: opts.url };
  const https = opts.url.startsWith("https:") && opts.caPem !== undefined;
  if (https) cluster["certificate-authority-data"] = btoa(opts.caPem!);
  else cluster["insecure-skip-tls-verify"] = true;
  const namespace = opts.namespace ?? "default";
  const users: unknown[] = [{ name: "proxscale-admin", user: { token: opts.token } }];
  const contexts: unknown[] = [{
    name: "proxscale-fake",
    context: { cluster: "proxscale-fake", user: "proxscale-admin", namespace },
  }];
  if (https && opts.clientCertPem && opts.clientKeyPem) {
    users.push({
      name: "proxscale-admin-cert",
      user: {
        "client-certificate-data": btoa(opts.clientCertPem),
        "client-key-data": btoa(opts.clientKeyPem),
      },
    });
    contexts.push({
      name: "proxscale-fake-cert",
      context: { cluster: "proxscale-fake", user: "proxscale-admin-cert", namespace },
    });
  }
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "proxscale-fake", cluster }],
    users,
    contexts,
    "current-context": "proxscale-fake",
    preferences: {},
  });
}
