/**
 * Shipped user-data for kubeadm nodes: cloud-init writes a kubeadm.k8s.io/v1beta4 JoinConfiguration
 * (discovery by token and CA hash, the node's name, labels and taints) and runs
 * `kubeadm join --config`, then removes the file. The image must carry kubeadm, a kubelet and a
 * container runtime. Kept as a TS string so `deno bundle` and `deno compile` carry it.
 */
export const KUBEADM_TEMPLATE = `#cloud-config
# proxscale: kubeadm join for NodeClaim {{ nodeClaim }} of NodePool {{ nodePool }}.
# The join token expires at {{ join.expiresAt }} and is deleted once the node registers.
hostname: {{ node.name | yaml }}
preserve_hostname: false
manage_etc_hosts: true
write_files:
  - path: /etc/proxscale/join.yaml
    owner: root:root
    permissions: "0600"
    content: |
      apiVersion: kubeadm.k8s.io/v1beta4
      kind: JoinConfiguration
      discovery:
        bootstrapToken:
          apiServerEndpoint: {{ cluster.apiServerEndpoint | quote }}
          token: {{ join.token | quote }}
          caCertHashes:
            - {{ cluster.caCertHash | quote }}
      nodeRegistration:
        name: {{ node.name | quote }}
        taints: {{ node.taints | yaml }}
        kubeletExtraArgs:
          - name: provider-id
            value: {{ node.providerID | quote }}
          - name: node-labels
            value: {{ node.labelsFlag | quote }}
      timeouts:
        discovery: 10m0s
runcmd:
  - [kubeadm, join, --config, /etc/proxscale/join.yaml]
  - [rm, -f, /etc/proxscale/join.yaml]
`;
