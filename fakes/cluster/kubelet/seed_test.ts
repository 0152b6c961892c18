/**
 * The seed reader against each bootstrap form a kubelet can be configured with, including the
 * user-data proxscale ships (rendered from its templates with made-up values).
 */
import { deepEqual, equal } from "node:assert/strict";
import { renderTemplateText } from "../../../adapters/bootstrap/template.ts";
import { K3S_TEMPLATE } from "../../../templates/k3s.ts";
import { KUBEADM_TEMPLATE } from "../../../templates/kubeadm.ts";
import { TALOS_TEMPLATE } from "../../../templates/talos.ts";
import { parseSeed, parseTaint } from "./seed.ts";

const TOKEN = "abcdef.0123456789abcdef";
const VARS = {
  nodeClaim: "gpu-abc12",
  nodePool: "gpu",
  node: {
    name: "gpu-abc12",
    providerID: "proxmox://lab/123",
    taints: [{ key: "proxscale.io/unregistered", effect: "NoExecute" }, {
      key: "gpu",
      value: "true",
      effect: "NoSchedule",
    }],
    labels: { "proxscale.io/nodepool": "gpu", "node.kubernetes.io/instance-type": "g1" },
    labelsFlag: "proxscale.io/nodepool=gpu,node.kubernetes.io/instance-type=g1",
    labelsList: ["proxscale.io/nodepool=gpu", "node.kubernetes.io/instance-type=g1"],
    taintsFlag: "proxscale.io/unregistered:NoExecute,gpu=true:NoSchedule",
    taintsList: ["proxscale.io/unregistered:NoExecute", "gpu=true:NoSchedule"],
  },
  cluster: {
    apiServerEndpoint: "10.0.0.1:6443",
    server: "https://10.0.0.1:6443",
    caCertHash: "sha256:abc",
    caPEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  },
  join: {
    token: TOKEN,
    expiresAt: "2030-01-01T00:00:00Z",
    k3sToken: `K10abc::${TOKEN}`,
  },
  values: {
    machineToken: "m",
    machineCACert: "c",
    clusterID: "i",
    clusterSecret: "s",
    clusterName: "n",
    installDisk: "/dev/sda",
    installImage: "img",
  },
};

function render(template: string): string {
  const r = renderTemplateText(template, VARS);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

const EXPECTED_LABELS = {
  "proxscale.io/nodepool": "gpu",
  "node.kubernetes.io/instance-type": "g1",
};
const EXPECTED_TAINTS = [
  { key: "proxscale.io/unregistered", effect: "NoExecute" },
  { key: "gpu", value: "true", effect: "NoSchedule" },
];

Deno.test("a kubeadm JoinConfiguration seed gives the node name, providerID, --node-labels, taints and token", () => {
  const s = parseSeed({ userData: render(KUBEADM_TEMPLATE) });
  equal(s.nodeName, "gpu-abc12");
  equal(s.hostname, "gpu-abc12");
  equal(s.providerID, "proxmox://lab/123");
  deepEqual(s.nodeLabels, EXPECTED_LABELS);
  deepEqual(s.taints, EXPECTED_TAINTS);
  deepEqual(s.tokens, [TOKEN]);
});

Deno.test("a k3s agent config seed gives the same kubelet settings and the token inside the K10 form", () => {
  const s = parseSeed({ userData: render(K3S_TEMPLATE) });
  equal(s.nodeName, "gpu-abc12");
  equal(s.providerID, "proxmox://lab/123");
  deepEqual(s.nodeLabels, EXPECTED_LABELS);
  deepEqual(s.taints, EXPECTED_TAINTS);
  deepEqual(s.tokens, [TOKEN]);
});

Deno.test("a Talos machine config seed gives hostname, providerID, node labels and taints", () => {
  const s = parseSeed({ userData: render(TALOS_TEMPLATE) });
  equal(s.hostname, "gpu-abc12");
  equal(s.providerID, "proxmox://lab/123");
  deepEqual(s.nodeLabels, EXPECTED_LABELS);
  deepEqual(s.taints, EXPECTED_TAINTS);
  deepEqual(s.tokens, [TOKEN]);
});

Deno.test("plain kubelet flags in a shell script are read, quoted or not", () => {
  const s = parseSeed({
    userData: [
      "#!/bin/sh",
      `echo 'KUBELET_EXTRA_ARGS=--node-labels="a=1,team=x" --provider-id proxmox://p/7 --register-with-taints=dedicated=ml:NoSchedule --cloud-provider=external' > /etc/default/kubelet`,
      `kubeadm join 10.0.0.1:6443 --token ${TOKEN} --discovery-token-unsafe-skip-ca-verification`,
    ].join("\n"),
  });
  deepEqual(s.nodeLabels, { a: "1", team: "x" });
  equal(s.providerID, "proxmox://p/7");
  deepEqual(s.taints, [{ key: "dedicated", value: "ml", effect: "NoSchedule" }]);
  equal(s.externalCloudProvider, true);
  deepEqual(s.tokens, [TOKEN]);
});

Deno.test("a KubeletConfiguration written by cloud-init sets providerID and registerWithTaints", () => {
  const kubeletConfig = [
    "apiVersion: kubelet.config.k8s.io/v1beta1",
    "kind: KubeletConfiguration",
    "providerID: proxmox://lab/55",
    "registerWithTaints:",
    "  - {key: a, effect: NoExecute}",
  ].join("\n");
  const userData =
    `#cloud-config\nwrite_files:\n  - path: /var/lib/kubelet/config.yaml\n    encoding: b64\n    content: ${
      btoa(kubeletConfig)
    }\n`;
  const s = parseSeed({ userData });
  equal(s.providerID, "proxmox://lab/55");
  deepEqual(s.taints, [{ key: "a", effect: "NoExecute" }]);
  deepEqual(s.nodeLabels, {});
});

Deno.test("without a hostname in user-data the meta-data local-hostname names the guest", () => {
  const s = parseSeed({
    userData: "#cloud-config\nruncmd: [[true]]\n",
    metaData: "instance-id: '9'\nlocal-hostname: from-meta\n",
  });
  equal(s.hostname, "from-meta");
  equal(s.nodeName, undefined);
  equal(s.providerID, undefined);
});

Deno.test("a taint is key[=value]:Effect with one of the three effects", () => {
  deepEqual(parseTaint("k=v:NoSchedule"), { key: "k", value: "v", effect: "NoSchedule" });
  deepEqual(parseTaint("k:NoExecute"), { key: "k", effect: "NoExecute" });
  equal(parseTaint("k=v:Sometimes"), undefined);
  equal(parseTaint("k=v"), undefined);
});
