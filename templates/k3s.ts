/**
 * Shipped user-data for k3s agents: cloud-init writes /etc/rancher/k3s/config.yaml (server, token,
 * node name, labels, taints, kubelet provider-id) with a secure `K10<ca hash>::<id>.<secret>` token
 * when the CA is known, then installs and starts the agent. For images with k3s preinstalled, copy
 * this template into `bootstrap.userData` and replace the runcmd. Kept as a TS string so
 * `deno bundle` and `deno compile` carry it.
 */
export const K3S_TEMPLATE = `#cloud-config
# proxscale: k3s agent join for NodeClaim {{ nodeClaim }} of NodePool {{ nodePool }}.
# The join token expires at {{ join.expiresAt }} and is deleted once the node registers.
hostname: {{ node.name | yaml }}
preserve_hostname: false
manage_etc_hosts: true
write_files:
  - path: /etc/rancher/k3s/config.yaml
    owner: root:root
    permissions: "0600"
    content: |
      server: {{ cluster.server | quote }}
      token: {{ join.k3sToken | quote }}
      node-name: {{ node.name | quote }}
      node-label: {{ node.labelsList | yaml }}
      node-taint: {{ node.taintsList | yaml }}
      kubelet-arg:
        - "provider-id={{ node.providerID }}"
runcmd:
  - [sh, -c, "curl -sfL https://get.k3s.io | INSTALL_K3S_EXEC=agent sh -"]
`;
