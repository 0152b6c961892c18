/**
 * Which labels a kubelet may put on its own Node (NodeRestriction and the kubelet's
 * `--node-labels` check: keys outside the kubernetes.io and k8s.io domains, a few well-known
 * labels such as hostname, os, arch, zone and instance type, and keys under
 * kubelet.kubernetes.io or node.kubernetes.io). Bootstrap data carries only these: one
 * forbidden key makes the kubelet refuse to start. proxscale sets the rest itself after
 * registration with its own credentials.
 */

const ALLOWED_KUBERNETES_LABELS = new Set([
  "kubernetes.io/hostname",
  "kubernetes.io/os",
  "kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/arch",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/region",
]);

const inDomain = (prefix: string, domain: string) =>
  prefix === domain || prefix.endsWith("." + domain);

/** May a kubelet set this label key on itself at registration? */
export function isKubeletSettableLabel(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash < 0) return true;
  const prefix = key.slice(0, slash);
  if (inDomain(prefix, "node-restriction.kubernetes.io")) return false;
  if (!inDomain(prefix, "kubernetes.io") && !inDomain(prefix, "k8s.io")) return true;
  return ALLOWED_KUBERNETES_LABELS.has(key) || inDomain(prefix, "kubelet.kubernetes.io") ||
    inDomain(prefix, "node.kubernetes.io");
}

/** Splits labels into those the kubelet sets at registration and those proxscale must set. */
export function splitNodeLabels(
  labels: Record<string, string>,
): { selfSet: Record<string, string>; restricted: Record<string, string> } {
  const selfSet: Record<string, string> = {};
  const restricted: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) {
    (isKubeletSettableLabel(k) ? selfSet : restricted)[k] = labels[k]!;
  }
  return { selfSet, restricted };
}
