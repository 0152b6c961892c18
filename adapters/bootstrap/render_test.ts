import assert from "node:assert/strict";
import { parse } from "yaml";
import { formatBootstrapToken } from "../../core/bootstrap_token.ts";
import { readIso } from "./iso9660_reader.ts";
import {
  buildSeedIso,
  clusterEndpoints,
  redact,
  registrationTaints,
  renderNoCloudSeed,
  seedSecrets,
} from "./render.ts";
import {
  CA_HASH,
  CA_PEM,
  claim,
  input,
  machineTemplate,
  pool,
  TALOS_VALUES,
  token,
} from "./testing/sample.ts";

Deno.test("the kubeadm template renders a v1beta4 JoinConfiguration with providerID and taints", () => {
  const r = renderNoCloudSeed(input({ mode: "nocloudIso", template: "kubeadm" }));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  assert.ok(r.value.userData.startsWith("#cloud-config\n"));
  const cloudConfig = parse(r.value.userData);
  assert.equal(cloudConfig.hostname, "gpu-pool-7f3k2");
  assert.deepEqual(cloudConfig.runcmd[0], [
    "kubeadm",
    "join",
    "--config",
    "/etc/proxscale/join.yaml",
  ]);
  const file = cloudConfig.write_files[0];
  assert.equal(file.path, "/etc/proxscale/join.yaml");
  assert.equal(file.permissions, "0600");
  const join = parse(file.content);
  assert.equal(join.apiVersion, "kubeadm.k8s.io/v1beta4");
  assert.equal(join.kind, "JoinConfiguration");
  assert.deepEqual(join.discovery.bootstrapToken, {
    apiServerEndpoint: "10.0.0.10:6443",
    token: "k3x9qa.0f1e2d3c4b5a6978",
    caCertHashes: [CA_HASH],
  });
  assert.equal(join.nodeRegistration.name, "gpu-pool-7f3k2");
  assert.deepEqual(join.nodeRegistration.taints, [
    { key: "proxscale.io/unregistered", effect: "NoExecute" },
    { key: "dedicated", value: "gpu", effect: "NoSchedule" },
    { key: "cilium.io/agent-not-ready", effect: "NoSchedule" },
  ]);
  // v1beta4: kubeletExtraArgs is a list of {name, value}, not a map.
  assert.ok(Array.isArray(join.nodeRegistration.kubeletExtraArgs));
  const args = Object.fromEntries(
    join.nodeRegistration.kubeletExtraArgs.map((a: { name: string; value: string }) => [
      a.name,
      a.value,
    ]),
  );
  assert.equal(args["provider-id"], "proxmox://pve-a/1234");
  assert.deepEqual(args["node-labels"].split(",").sort(), [
    "example.com/gpu=true",
    "example.com/rack=r1",
    "node.kubernetes.io/instance-type=4c-16Gi",
    "proxscale.io/host=pve1",
    "proxscale.io/nodeclaim=gpu-pool-7f3k2",
    "proxscale.io/nodepool=gpu-pool",
    "topology.kubernetes.io/region=pve-a",
    "topology.kubernetes.io/zone=rack-a",
  ]);
  assert.ok(!args["node-labels"].includes("node-role"), "restricted labels stay out");
  assert.equal(join.timeouts.discovery, "10m0s");
  assert.deepEqual(Object.keys(join).sort(), [
    "apiVersion",
    "discovery",
    "kind",
    "nodeRegistration",
    "timeouts",
  ]);
});

Deno.test("the k3s template writes an agent config with the secure token form", () => {
  const r = renderNoCloudSeed(
    input({ mode: "nocloudIso", template: "k3s" }, {
      cluster: { server: "https://10.0.0.10:6443", k3sCaHash: "cd".repeat(32) },
    }),
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const cloudConfig = parse(r.value.userData);
  const file = cloudConfig.write_files[0];
  assert.equal(file.path, "/etc/rancher/k3s/config.yaml");
  const cfg = parse(file.content);
  assert.equal(cfg.server, "https://10.0.0.10:6443");
  assert.equal(cfg.token, `K10${"cd".repeat(32)}::k3x9qa.0f1e2d3c4b5a6978`);
  assert.equal(cfg["node-name"], "gpu-pool-7f3k2");
  assert.ok(cfg["node-label"].includes("proxscale.io/nodepool=gpu-pool"));
  assert.deepEqual(cfg["node-taint"], [
    "proxscale.io/unregistered:NoExecute",
    "dedicated=gpu:NoSchedule",
    "cilium.io/agent-not-ready:NoSchedule",
  ]);
  assert.deepEqual(cfg["kubelet-arg"], ["provider-id=proxmox://pve-a/1234"]);
});

Deno.test("the Talos template is a worker machine config carrying the per-node token", () => {
  const r = renderNoCloudSeed(
    input({ mode: "nocloudIso", template: "talos" }, { values: TALOS_VALUES }),
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  const mc = parse(r.value.userData);
  assert.equal(mc.version, "v1alpha1");
  assert.equal(mc.machine.type, "worker");
  assert.equal(mc.machine.token, "trustd-token-abc123");
  assert.equal(mc.machine.kubelet.extraArgs["provider-id"], "proxmox://pve-a/1234");
  assert.equal(
    mc.machine.kubelet.extraArgs["register-with-taints"],
    "proxscale.io/unregistered:NoExecute,dedicated=gpu:NoSchedule,cilium.io/agent-not-ready:NoSchedule",
  );
  assert.equal(mc.machine.nodeLabels["proxscale.io/nodepool"], "gpu-pool");
  assert.equal(mc.machine.nodeLabels["node-role.kubernetes.io/worker"], undefined);
  assert.equal(mc.machine.network.hostname, "gpu-pool-7f3k2");
  assert.equal(mc.cluster.token, "k3x9qa.0f1e2d3c4b5a6978");
  assert.equal(mc.cluster.controlPlane.endpoint, "https://10.0.0.10:6443");
  assert.equal(atob(mc.cluster.ca.crt), CA_PEM);
});

Deno.test("a Talos pool without its operator values names each missing key", () => {
  const r = renderNoCloudSeed(input({ mode: "nocloudIso", template: "talos" }));
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "TemplateInvalid");
  if (r.error.kind !== "TemplateInvalid") return;
  assert.equal(r.error.source, "templates/talos");
  assert.ok(r.error.errors.every((e) => e.kind === "MissingValue" && e.line > 0));
  assert.ok(r.error.errors.some((e) => e.message.includes("values.clusterSecret")));
});

Deno.test("meta-data names the instance and host; network-config v2 matches each NIC by MAC", () => {
  const r = renderNoCloudSeed(input({
    mode: "nocloudIso",
    template: "kubeadm",
    nameserver: "10.0.0.2 10.0.0.3",
    searchdomain: "lan",
  }));
  assert.ok(r.ok);
  assert.deepEqual(parse(r.value.metaData), {
    "instance-id": "1234",
    "local-hostname": "gpu-pool-7f3k2",
    "provider-id": "proxmox://pve-a/1234",
    region: "pve-a",
    zone: "rack-a",
  });
  const net = parse(r.value.networkConfig);
  assert.equal(net.version, 2);
  assert.equal(net.network, undefined, "no wrapping network: key (Talos rejects it)");
  assert.deepEqual(net.ethernets.net0, {
    match: { macaddress: "02:00:00:04:d2:00" },
    dhcp4: true,
    nameservers: { addresses: ["10.0.0.2", "10.0.0.3"], search: ["lan"] },
  });
  assert.deepEqual(net.ethernets.net1.addresses, ["10.1.0.5/24"]);
  assert.deepEqual(net.ethernets.net1.routes, [{ to: "0.0.0.0/0", via: "10.1.0.1" }]);
});

Deno.test("YAML 1.1 readers (cloud-init, Go) see MACs and label values as strings", () => {
  const t = machineTemplate({ mode: "nocloudIso", template: "kubeadm" });
  t.labels = { "example.com/enabled": "yes" };
  const r = renderNoCloudSeed({
    ...input({ mode: "nocloudIso" }),
    template: t,
    claim: { ...claim, macs: { net0: "10:20:30:40:50:00", net1: "02:00:00:04:d2:01" } },
  });
  assert.ok(r.ok);
  const net = parse(r.value.networkConfig, { version: "1.1" });
  assert.equal(net.ethernets.net0.match.macaddress, "10:20:30:40:50:00");
  assert.equal(parse(r.value.metaData, { version: "1.1" })["instance-id"], "1234");
  const talos = renderNoCloudSeed({
    ...input({ mode: "nocloudIso" }),
    template: { ...t, bootstrap: { mode: "nocloudIso", template: "talos" } },
    values: TALOS_VALUES,
  });
  assert.ok(talos.ok);
  const mc = parse(talos.value.userData, { version: "1.1" });
  assert.equal(mc.machine.nodeLabels["example.com/enabled"], "yes");
});

Deno.test("a NIC without a MAC, a bad ipconfig and a missing template are values", () => {
  const noMac = renderNoCloudSeed(
    input({ mode: "nocloudIso", template: "kubeadm" }, { claim: { ...claim, macs: {} } }),
  );
  assert.ok(!noMac.ok);
  assert.equal(noMac.error.kind, "NetworkInvalid");
  const t = machineTemplate({ mode: "nocloudIso", template: "kubeadm" });
  t.network = [{ slot: "net0", model: "virtio", bridge: "vmbr0", ipconfig: "ip=maybe" }];
  const badIp = renderNoCloudSeed({ ...input({ mode: "nocloudIso" }), template: t });
  assert.ok(!badIp.ok);
  assert.match(JSON.stringify(badIp.error), /ip=maybe/);
  const none = renderNoCloudSeed(input({ mode: "nocloudIso" }));
  assert.ok(!none.ok);
  assert.equal(none.error.kind, "NoTemplate");
});

Deno.test("an inline template with an unknown variable fails with its line and column", () => {
  const r = renderNoCloudSeed(
    input({ mode: "nocloudIso", userData: "#cloud-config\nhostname: {{ node.hostname }}\n" }),
  );
  assert.ok(!r.ok);
  assert.equal(r.error.kind, "TemplateInvalid");
  if (r.error.kind !== "TemplateInvalid") return;
  assert.equal(r.error.source, "machineTemplates/worker/bootstrap.userData");
  assert.deepEqual(
    r.error.errors.map((e) => [e.kind, e.line, e.col]),
    [["UnknownVariable", 2, 14]],
  );
});

Deno.test("register-time taints always start with the unregistered taint, once", () => {
  const t = machineTemplate({ mode: "nocloudIso" });
  t.taints = [{ key: "proxscale.io/unregistered", effect: "NoExecute" }];
  assert.deepEqual(registrationTaints(t, pool)[0], {
    key: "proxscale.io/unregistered",
    effect: "NoExecute",
  });
  assert.equal(
    registrationTaints(t, pool).filter((x) => x.key === "proxscale.io/unregistered").length,
    1,
  );
  assert.deepEqual(clusterEndpoints("https://api.lan:6443/"), {
    server: "https://api.lan:6443",
    apiServerEndpoint: "api.lan:6443",
  });
});

Deno.test("redaction hides the token in every form while the ISO carries the real one", () => {
  const seedInput = input({ mode: "nocloudIso", template: "talos" }, {
    values: TALOS_VALUES,
    cluster: { server: "10.0.0.10:6443", caPEM: CA_PEM, k3sCaHash: "ef".repeat(32) },
  });
  const r = renderNoCloudSeed(seedInput);
  assert.ok(r.ok);
  const secrets = seedSecrets(seedInput);
  const shown = redact(r.value.userData + r.value.metaData + r.value.networkConfig, secrets);
  for (const s of [formatBootstrapToken(token), token.secret, ...Object.values(TALOS_VALUES)]) {
    assert.ok(!shown.includes(s), `"${s}" leaked into the preview`);
  }
  assert.match(shown, /token: "<redacted:join-token>"/);
  assert.match(shown, /<redacted:values\.clusterSecret>/);
  assert.equal(redact("a secret-half b", [{ label: "x", value: "" }]), "a secret-half b");
  const iso = readIso(buildSeedIso(r.value));
  assert.ok(iso.ok);
  const userData = iso.value.rockRidge.find((f) => f.name === "user-data");
  assert.equal(new TextDecoder().decode(userData?.data), r.value.userData);
});
