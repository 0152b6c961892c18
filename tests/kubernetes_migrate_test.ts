/**
 * `proxscale migrate` round-trips (YAML -> CRD manifests -> config loaded from CRDs equals the
 * YAML's own config) and imports KubeNodeSmith v0 files.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { captureIo } from "../cli/command.ts";
import { migrateCommand, migrateText } from "../cli/migrate.ts";
import { parseConfigText } from "../adapters/config/load.ts";
import { configFromObjects } from "../adapters/config/crd_source.ts";
import { renderManifests } from "../adapters/config/crd_manifests.ts";
import { goDuration } from "../adapters/config/kubenodesmith_v0.ts";
import { KINDS, objectSchema } from "../adapters/kubernetes/crds.ts";
import { admit } from "../adapters/kubernetes/structural_validate.ts";

const root = new URL("../", import.meta.url);
const example = await Deno.readTextFile(new URL("config.example.yaml", root));

/** YAML text -> migrate output text -> objects -> Config. */
function roundTrip(text: string) {
  const m = migrateText(text, "in.yaml");
  if (!m.ok) throw new Error(m.error.join("\n"));
  const out = renderManifests(m.value.manifests, "header");
  const objects = parseAllDocuments(out).map((d) => d.toJS()).filter((o) => o !== null);
  return { out, loaded: configFromObjects(objects) };
}

Deno.test("migrate round-trips config.example.yaml: CRDs load to the same core Config", () => {
  const direct = parseConfigText(example, "config.example.yaml");
  assert.ok(direct.ok);
  const { out, loaded } = roundTrip(example);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.error));
  assert.deepEqual(loaded.value, direct.value);
  for (const kind of ["Provider", "MachineTemplate", "NodePool"]) {
    assert.match(out, new RegExp(`^kind: ${kind}$`, "m"));
  }
  assert.match(out, /^apiVersion: proxscale\.io\/v1alpha1$/m);
});

const exotic = `
apiVersion: proxscale.io/v1alpha1
providers:
  - name: lab
    spec:
      endpoint: https://10.0.0.2:8006/
      tokenId: a@pam!b
      tokenSecret: { secret: { namespace: ns, name: pve, key: token } }
      tls: { fingerprint: "${Array(32).fill("ab").join(":")}" }
      hosts: [{ name: h1 }, { name: h2, memoryOvercommit: 1.5 }]
      vmidRange: { lower: 100, upper: 100 }
      placement: spread
machineTemplates:
  - name: flex
    spec:
      provider: lab
      flexible:
        cpu: { min: 1, max: 16 }
        memory: { min: 1Gi, max: 64Gi, step: 1Gi }
      source: { scratch: { options: { ostype: l26, numa: 1, agent: true } } }
      bootstrap: { mode: pveCloudInit, cicustom: "user=local:snippets/j.yaml" }
  - name: perhost
    spec:
      provider: lab
      shapes: [{ cpu: "4", memory: 8192Mi }]
      source: { clone: { perHost: { h1: 9001, h2: 9002 }, full: true, storage: fast } }
nodePools:
  - name: a
    spec:
      machineTemplate: flex
      requirements:
        - { key: x, operator: Gte, values: ["3"] }
        - { key: y, operator: In, values: [a, b], minValues: 2 }
      startupTaints: [{ key: s, effect: NoExecute }]
      limits: { nodes: 3 }
      minNodes: 3
      disruption:
        consolidateAfter: Never
        expireAfter: Never
        terminationGracePeriod: 1h
        budgets: [{ nodes: "0", schedule: "0 9 * * 1-5", duration: 8h, reasons: [Drifted] }]
        drainTimeoutAction: force
  - name: b
    spec: { machineTemplate: perhost }
settings:
  cost: { perVcpuHour: 0.5, perGiBHour: 0.1 }
  batchIdle: 3s
  launchTimeout: 20m
queue:
  redis: { url: "redis://127.0.0.1:6379" }
`;

Deno.test("migrate round-trips unions, Never durations, settings and defaults", () => {
  const direct = parseConfigText(exotic, "exotic.yaml");
  assert.ok(direct.ok, JSON.stringify(!direct.ok && direct.error));
  const { loaded } = roundTrip(exotic);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.error));
  assert.deepEqual(loaded.value, direct.value);
  assert.equal(loaded.value.settings.batchIdle, 3000);
});

Deno.test("loading from CRDs names the object and field of a problem", () => {
  const m = migrateText(example, "x");
  assert.ok(m.ok);
  const objs = structuredClone(m.value.manifests) as { kind: string; spec?: { weight?: number } }[];
  objs.find((o) => o.kind === "NodePool")!.spec!.weight = 0;
  const r = configFromObjects(objs);
  assert.ok(!r.ok);
  assert.equal(r.error[0]!.object, "NodePool/general");
  assert.equal(r.error[0]!.path, "spec.weight");
});

const kns = `
schemaVersion: v1alpha1
pollingInterval: 30s
providers:
  proxmox-production:
    type: proxmox
    credentialsRef: { name: proxmox-api-secret, namespace: kubenodesmith }
    options:
      endpoint: https://10.0.4.30:8006/api2/json
      nodeWhitelist: [alfaromeo, porsche]
      vmIDRange: { lower: 1250, upper: 1300 }
      managedNodeTag: kubenodesmith-managed
      vmMemOverheadMiB: 2048
      networkInterfaces:
        - { name: net0, model: virtio, bridge: vmbr0, vlanTag: 20, macPrefix: "02:00:00" }
      vmOptions:
        - { name: sockets, value: 1 }
        - { name: cpu, value: host }
        - { name: boot, value: order=net0 }
        - { name: ostype, value: l26 }
        - { name: ipconfig0, value: ip=dhcp }
        - { name: ide2, value: "local-zfs:cloudinit" }
        - { name: scsi0, value: "local-zfs:16,serial=CONTAINERD01,discard=on,ssd=1" }
        - { name: cicustom, value: "meta=snippets:snippets/zagato-shared-cloud-init-meta-data.yaml" }
  redfish-lab:
    type: redfish
nodePools:
  - name: proxmox-small
    providerRef: proxmox-production
    limits: { minNodes: 0, maxNodes: 5, cpuCores: 0, memoryMiB: 30720 }
    machineTemplate:
      kubeNodeNamePrefix: zagato-worker-auto
      architecture: amd64
      labels: { node-role.kubernetes.io/worker: "" }
    scaleUp: { batchSize: 1, stabilizationWindow: 2m }
    scaleDown: { maxConcurrent: 1, drainTimeout: 10m }
`;

Deno.test("KubeNodeSmith v0 files are detected and imported so existing VMs and nodes are adopted", () => {
  const m = migrateText(kns, "scaler-config.yaml");
  assert.ok(m.ok, JSON.stringify(!m.ok && m.error));
  assert.equal(m.value.source, "KubeNodeSmith v0");
  const loaded = configFromObjects(m.value.manifests);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.error));
  const c = loaded.value;
  assert.equal(c.providers.length, 1, "the redfish provider is skipped");
  const p = c.providers[0]!;
  assert.equal(p.name, "proxmox-production");
  assert.equal(p.endpoint, "https://10.0.4.30:8006");
  assert.deepEqual(p.vmidRange, { lower: 1250, upper: 1300 });
  assert.equal(p.managedTag, "kubenodesmith-managed");
  assert.deepEqual(p.hosts.map((h) => h.name), ["alfaromeo", "porsche"]);
  assert.deepEqual(p.tokenSecret, {
    secret: { namespace: "kubenodesmith", name: "proxmox-api-secret", key: "PROXMOX_SECRET" },
  });
  const t = c.machineTemplates[0]!;
  assert.equal(t.vmMemOverhead, 2048 * 2 ** 20);
  assert.deepEqual(t.disks, [{
    slot: "scsi0",
    storage: "local-zfs",
    size: 16 * 2 ** 30,
    serial: "CONTAINERD01",
    discard: true,
    ssd: true,
  }]);
  assert.deepEqual(t.network, [{
    slot: "net0",
    model: "virtio",
    bridge: "vmbr0",
    vlan: 20,
    ipconfig: "ip=dhcp",
  }]);
  assert.deepEqual(t.source, {
    kind: "scratch",
    options: { sockets: 1, cpu: "host", boot: "order=net0", ostype: "l26" },
  });
  assert.equal(
    t.bootstrap.cicustom,
    "meta=snippets:snippets/zagato-shared-cloud-init-meta-data.yaml",
  );
  assert.deepEqual(t.labels, { "node-role.kubernetes.io/worker": "" });
  const pool = c.nodePools[0]!;
  assert.deepEqual(pool.labels, { "topology.kubenodesmith.io/pool": "proxmox-small" });
  assert.deepEqual(pool.limits, { memory: 30720 * 2 ** 20, nodes: 5 }, "0 means unlimited");
  assert.equal(pool.scaleUp.stabilizationWindow, 120_000);
  assert.equal(pool.scaleDown.drainTimeout, 600_000);
  assert.deepEqual(pool.requirements, [{
    key: "kubernetes.io/arch",
    operator: "In",
    values: ["amd64"],
  }]);
  const w = m.value.warnings.join("\n");
  assert.match(w, /counts vmMemOverheadMiB/);
  assert.match(w, /PROXMOX_TOKEN_ID/);
  assert.match(w, /not enforced by KubeNodeSmith v0/);
  assert.match(w, /redfish/);
});

Deno.test("KubeNodeSmith v0 files with an unknown provider reference are refused", () => {
  const bad = kns.replace("providerRef: proxmox-production", "providerRef: nope");
  const m = migrateText(bad, "s.yaml");
  assert.ok(!m.ok);
  assert.match(m.error.join("\n"), /providerRef "nope"/);
});

Deno.test("Go durations convert to proxscale durations", () => {
  assert.equal(goDuration("1m30s"), "1m30s");
  assert.equal(goDuration("1.5h"), "1h30m");
  assert.equal(goDuration("500ms"), "500ms");
  assert.equal(goDuration(30_000_000_000), "30s");
  assert.equal(goDuration("soon"), null);
});

Deno.test("proxscale migrate prints manifests, or writes them with --out, and rejects invalid files", async () => {
  const io = captureIo();
  assert.equal(await migrateCommand.run([new URL("config.example.yaml", root).pathname], io), 0);
  const text = io.stdout.join("\n");
  for (const kind of ["Provider", "MachineTemplate", "NodePool"]) {
    assert.match(text, new RegExp(`^kind: ${kind}$`, "m"));
  }
  const dir = await Deno.makeTempDir();
  try {
    const io2 = captureIo();
    const src = `${dir}/kns.yaml`;
    await Deno.writeTextFile(src, kns);
    assert.equal(await migrateCommand.run([src, "--out", `${dir}/out`], io2), 0);
    const written = await Deno.readTextFile(`${dir}/out/proxscale-config.yaml`);
    assert.match(written, /^kind: NodePool$/m);
    assert.match(io2.stderr.join("\n"), /warning: /);
    const io3 = captureIo();
    const broken = `${dir}/broken.yaml`;
    await Deno.writeTextFile(broken, example.replace("weight: 50", "weight: 500"));
    assert.equal(await migrateCommand.run([broken], io3), 2);
    assert.match(io3.stderr.join("\n"), /broken\.yaml:\d+:\d+: nodePools\[0\]\.spec\.weight/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fractional quantities become strings so the CRD's int-or-string fields accept them", () => {
  const text = example.replace(
    'reserved: { cpu: "2", memory: 8Gi }',
    "reserved: { cpu: 0.5, memory: 8Gi }",
  );
  assert.notEqual(text, example);
  const direct = parseConfigText(text, "x.yaml");
  assert.ok(direct.ok);
  const m = migrateText(text, "x.yaml");
  assert.ok(m.ok);
  const provider = m.value.manifests.find((o) => o.kind === "Provider")!;
  const kind = KINDS.find((k) => k.kind === "Provider")!;
  const admitted = admit(provider, objectSchema(kind));
  assert.ok(admitted.ok, JSON.stringify(!admitted.ok && admitted.errors));
  const hosts = (provider.spec as { hosts: { reserved: { cpu: unknown } }[] }).hosts;
  assert.equal(hosts[0]!.reserved.cpu, "0.5");
  const { loaded } = roundTrip(text);
  assert.ok(loaded.ok);
  assert.deepEqual(loaded.value, direct.value);
});

Deno.test("KubeNodeSmith's later CRD objects are folded into the v0 importer", () => {
  const crds = `
apiVersion: kubenodesmith.parawell.cloud/v1alpha1
kind: NodeSmithProvider
metadata: { name: proxmox-production }
spec:
  credentialsSecretRef: { name: proxmox-api-secret, namespace: kubenodesmith }
  proxmox:
    endpoint: https://10.0.4.30:8006/api2/json
    nodeWhitelist: [alfaromeo]
    vmIDRange: { lower: 1250, upper: 1300 }
    managedNodeTag: kubenodesmith-managed
    vmOptions:
      - { name: scsi0, value: "local-zfs:16,serial=CONTAINERD01" }
---
apiVersion: kubenodesmith.parawell.cloud/v1alpha1
kind: NodeSmithPool
metadata: { name: proxmox-small }
spec:
  providerRef: proxmox-production
  limits: { minNodes: 1, maxNodes: 3 }
  machineTemplate: { labels: { tier: small } }
---
apiVersion: kubenodesmith.parawell.cloud/v1alpha1
kind: NodeSmithControlPlane
metadata: { name: main }
spec: { pools: [proxmox-small] }
`;
  const m = migrateText(crds, "kns-crds.yaml");
  assert.ok(m.ok, JSON.stringify(!m.ok && m.error));
  assert.equal(m.value.source, "KubeNodeSmith CRDs");
  const loaded = configFromObjects(m.value.manifests);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.error));
  assert.equal(loaded.value.providers[0]!.name, "proxmox-production");
  assert.equal(loaded.value.machineTemplates[0]!.disks[0]!.serial, "CONTAINERD01");
  assert.equal(loaded.value.nodePools[0]!.minNodes, 1);
  assert.deepEqual(loaded.value.nodePools[0]!.limits, { nodes: 3 });
  assert.deepEqual(loaded.value.machineTemplates[0]!.labels, { tier: "small" });
  assert.match(m.value.warnings.join("\n"), /NodeSmithControlPlane "main" .* skipped/);
});

Deno.test("several documents that are not KubeNodeSmith objects are refused", () => {
  const m = migrateText(example + "\n---\n" + example, "two.yaml");
  assert.ok(!m.ok);
  assert.match(m.error[0]!, /2 YAML documents/);
});

Deno.test("migrate reports YAML traps with file:line:col instead of an internal error", async () => {
  const bomb = await Deno.readTextFile("tests/fixtures/bad_configs/alias_bomb.yaml");
  const cases: [string, RegExp][] = [
    ["providers: *nope\n", /^in\.yaml:1:12: alias \*nope refers to no anchor/],
    [bomb, /^in\.yaml:5:38: aliases expand to more than 10000 values/],
    ["a: !custom 5\n", /^in\.yaml:1:4: unknown YAML tag !custom/],
  ];
  for (const [text, says] of cases) {
    const r = migrateText(text, "in.yaml");
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error[0]!, says);
  }
});
