/**
 * Configuration schema versions: a file of the retired version proxscale.io/v1alpha0 is refused
 * by `validate` with one problem naming the remedy, and `proxscale migrate` upgrades it to the
 * same configuration as its hand-written v1alpha1 twin; KubeNodeSmith v0 wrapped in the
 * ConfigMap it shipped in migrates like the bare file.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { captureIo } from "../cli/command.ts";
import { migrateCommand, migrateText } from "../cli/migrate.ts";
import { validateCommand } from "../cli/validate.ts";
import { parseConfigText } from "../adapters/config/load.ts";
import { configFromObjects } from "../adapters/config/crd_source.ts";
import { renderManifests } from "../adapters/config/crd_manifests.ts";

const V0 = `apiVersion: proxscale.io/v1alpha0
providers:
  - name: lab
    spec:
      endpoint: https://pve.lan:8006
      tokenId: "a@pam!b"
      tokenSecret: { env: T }
      hosts: [{ name: pve1 }]
      vmidRange: { lower: 1000, upper: 1100 }
templates:
  - name: worker
    spec: { provider: lab, shapes: [{ cpu: 2, memory: 4Gi }], source: { clone: { templateVmid: 9000 } } }
pools:
  - name: general
    spec: { template: worker, limits: { nodes: 4 } }
settings: { orphanGracePeriodSeconds: 90 }
`;

const V1 = `apiVersion: proxscale.io/v1alpha1
providers:
  - name: lab
    spec:
      endpoint: https://pve.lan:8006
      tokenId: "a@pam!b"
      tokenSecret: { env: T }
      hosts: [{ name: pve1 }]
      vmidRange: { lower: 1000, upper: 1100 }
machineTemplates:
  - name: worker
    spec: { provider: lab, shapes: [{ cpu: 2, memory: 4Gi }], source: { clone: { templateVmid: 9000 } } }
nodePools:
  - name: general
    spec: { machineTemplate: worker, limits: { nodes: 4 } }
settings: { orphanGracePeriod: 90s }
`;

function loaded(text: string, file: string) {
  const m = migrateText(text, file);
  if (!m.ok) throw new Error(m.error.join("\n"));
  const objs = parseAllDocuments(renderManifests(m.value.manifests)).map((d) => d.toJS())
    .filter((o) => o !== null);
  return { m: m.value, config: configFromObjects(objs) };
}

Deno.test("validate refuses a retired schema version with one problem that names migrate", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/old.yaml`, V0);
    const io = captureIo();
    assert.equal(await validateCommand.run([`${dir}/old.yaml`], io), 2);
    assert.match(
      io.stderr[0]!,
      /old\.yaml:1:13: apiVersion: schema version proxscale\.io\/v1alpha0 is retired .*proxscale migrate/,
    );
    assert.equal(io.stderr.filter((l) => /old\.yaml:\d+:\d+:/.test(l)).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrate upgrades a v1alpha0 file to the configuration its v1alpha1 twin gives", () => {
  const up = loaded(V0, "old.yaml");
  const twin = parseConfigText(V1, "new.yaml");
  assert.ok(twin.ok && up.config.ok, JSON.stringify(!up.config.ok && up.config.error));
  assert.deepEqual(up.config.value, twin.value);
  assert.equal(up.config.value.settings.orphanGracePeriod, 90_000);
  assert.match(up.m.source, /v1alpha0, upgraded/);
  assert.ok(
    up.m.warnings.includes("nodePools[0].spec.template is now nodePools[0].spec.machineTemplate"),
  );
});

Deno.test("migrate refuses a v1alpha0 file that sets a field in both spellings", () => {
  const m = migrateText(
    V0.replace("{ template: worker,", "{ template: worker, machineTemplate: worker,"),
    "x.yaml",
  );
  assert.ok(!m.ok);
  assert.match(
    m.error[0]!,
    /^x\.yaml: nodePools\[0\]\.spec\.template and nodePools\[0\]\.spec\.machineTemplate are both set/,
  );
});

const KNS = `schemaVersion: v1alpha1
providers:
  pve:
    type: proxmox
    credentialsRef: { name: proxmox-api-secret, namespace: kubenodesmith }
    options:
      endpoint: https://10.0.4.30:8006/api2/json
      nodeWhitelist: [alfaromeo]
      vmIDRange: { lower: 1250, upper: 1300 }
      managedNodeTag: kubenodesmith-managed
      vmOptions:
        - { name: scsi0, value: "local-zfs:16,serial=CONTAINERD01,discard=on,ssd=1" }
nodePools:
  - name: small
    providerRef: pve
    limits: { minNodes: 0, maxNodes: 5 }
    machineTemplate: { kubeNodeNamePrefix: worker-auto }
`;

const wrapped = (body: string) =>
  `apiVersion: v1
kind: ConfigMap
metadata: { name: kubenodesmith-config, namespace: kubenodesmith }
data:
  config.yaml: |
${body.split("\n").map((l) => `    ${l}`).join("\n")}
`;

Deno.test("KubeNodeSmith v0 inside its ConfigMap migrates to the same configuration as the bare file", async () => {
  const bare = loaded(KNS, "bare.yaml");
  const inCm = loaded(wrapped(KNS), "cm.yaml");
  assert.ok(bare.config.ok && inCm.config.ok, JSON.stringify(!inCm.config.ok && inCm.config.error));
  assert.deepEqual(inCm.config.value, bare.config.value);
  assert.match(
    inCm.m.source,
    /KubeNodeSmith v0, in ConfigMap kubenodesmith-config, key config\.yaml/,
  );
  // The command itself, as an operator runs it on the ConfigMap they exported.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cm.yaml`, wrapped(KNS));
    const io = captureIo();
    assert.equal(await migrateCommand.run([`${dir}/cm.yaml`], io), 0, io.stderr.join("\n"));
    assert.match(io.stdout.join("\n"), /^kind: NodePool$/m);
    const empty = captureIo();
    await Deno.writeTextFile(
      `${dir}/empty.yaml`,
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
    );
    assert.equal(await migrateCommand.run([`${dir}/empty.yaml`], empty), 2);
    assert.match(
      empty.stderr[0]!,
      /ConfigMap x has 0 data keys holding a configuration \(keys: a\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
