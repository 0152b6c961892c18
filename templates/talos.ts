/**
 * Shipped user-data for Talos workers: the machine config itself,
 * read by Talos's nocloud platform from the cidata volume. Talos has no join command: the
 * config carries the per-node bootstrap token next to cluster-wide secrets, which come from the
 * operator Secret (`bootstrap.secretRef`) under these keys:
 *   machineToken   machine.token (trustd token)
 *   machineCACert  machine.ca.crt (base64 PEM, as in talosctl's secrets)
 *   clusterID, clusterSecret, clusterName
 *   installDisk    e.g. /dev/sda
 *   installImage   e.g. factory.talos.dev/installer/<schematic>:v1.10.5
 * Register-time taints go through the kubelet (machine.nodeTaints hits NodeRestriction).
 * Kept as a TS string so `deno bundle` and `deno compile` carry it.
 */
export const TALOS_TEMPLATE =
  `# proxscale: Talos worker for NodeClaim {{ nodeClaim }} of NodePool {{ nodePool }}.
# The join token expires at {{ join.expiresAt }} and is deleted once the node registers.
version: v1alpha1
debug: false
persist: true
machine:
  type: worker
  token: {{ values.machineToken | quote }}
  ca:
    crt: {{ values.machineCACert | quote }}
    key: ""
  certSANs: []
  kubelet:
    extraArgs:
      provider-id: {{ node.providerID | quote }}
      register-with-taints: {{ node.taintsFlag | quote }}
  nodeLabels: {{ node.labels | yaml }}
  network:
    hostname: {{ node.name | quote }}
  install:
    disk: {{ values.installDisk | quote }}
    image: {{ values.installImage | quote }}
    wipe: false
cluster:
  id: {{ values.clusterID | quote }}
  secret: {{ values.clusterSecret | quote }}
  controlPlane:
    endpoint: {{ cluster.server | quote }}
  clusterName: {{ values.clusterName | quote }}
  token: {{ join.token | quote }}
  ca:
    crt: {{ cluster.caPEM | b64 | quote }}
    key: ""
`;
