/**
 * `proxscale diagnose` against the fake PVE and the fake API server: a fully privileged token
 * and proxscale's RBAC pass every check; a token with a limited ACL is told exactly which
 * privileges it lacks and for what; missing templates and storages, an exhausted VMID range,
 * a missing RBAC rule and a missing CRD are FAIL lines with a fix; the command exits 1 then.
 */
import assert from "node:assert/strict";
import type { Config } from "../core/model.ts";
import { GiB } from "../core/quantity.ts";
import { captureIo } from "../cli/command.ts";
import { diagnose, diagnoseCommand, formatChecks } from "../cli/diagnose.ts";
import { holds, privilegeNeeds } from "../cli/diagnose_pve.ts";
import type { Check } from "../cli/diagnose_pve.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { startFakePve } from "../fakes/fake_pve/server.ts";
import type { FakePve } from "../fakes/fake_pve/server.ts";
import { startFakeKube } from "../fakes/fake_kube/server.ts";
import { demoConfig } from "../harness/demo_config.ts";
import { applyShippedRbac } from "./testing/shipped_rbac.ts";

const NS = "proxscale-system";
const LIMITED = "proxscale@pve!limited";
const LIMITED_SECRET = "0f0e0d0c-limited-token-secret";

function configFor(pve: FakePve, tokenId = pve.tokenId, env = "PROXSCALE_DIAG_TOKEN"): Config {
  const hosts = pve.model.nodes().map((n) => String(n.node)).sort();
  const c = demoConfig({ url: pve.url, tokenId, fingerprint: pve.fingerprint, hosts });
  c.providers[0]!.tokenSecret = { env };
  const t = c.machineTemplates[0]!;
  t.disks = [{ slot: "scsi0", storage: "local-lvm", size: 32 * GiB }];
  t.bootstrap = { mode: "nocloudIso", isoStorage: "local", template: "kubeadm" };
  return c;
}

const failed = (cs: Check[]) => cs.filter((c) => !c.ok);

Deno.test("diagnose: a full token and proxscale's RBAC pass every check", async () => {
  const pve = await startFakePve({ hosts: 3, seed: 3 });
  const kube = await startFakeKube({ seed: 3 });
  try {
    for (const k of KINDS) {
      const r = kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k));
      assert.ok(r.ok);
    }
    Deno.env.set("PROXSCALE_DIAG_TOKEN", pve.tokenSecret);
    const saToken = await applyShippedRbac(kube, NS);
    const sa = kubeClientFromKubeconfig(kube.kubeconfig().replace(kube.token, saToken));
    const checks = await diagnose(configFor(pve), sa, NS);
    const text = formatChecks(checks);
    assert.deepEqual(failed(checks), [], text);
    for (
      const want of [
        /ok {4}pve demo: API reachable: Proxmox VE 8/,
        /ok {4}pve demo: token rights: every privilege/,
        /ok {4}pve demo: template 9001 \(worker\) on pve2: present/,
        /ok {4}pve demo: storage local-lvm \(images\) on pve1: present/,
        /ok {4}pve demo: storage local \(iso\) on pve3: present/,
        /ok {4}pve demo: VMID range headroom: 1000 of 1000 VMIDs free in 1000-1999/,
        /ok {4}kubernetes: may create pods\/eviction: allowed/,
        /ok {4}kubernetes: may get,create,update leases.coordination.k8s.io in proxscale-system/,
        /ok {4}kubernetes: CRD nodeclaims.proxscale.io: installed/,
        /all \d+ checks passed/,
      ]
    ) assert.match(text, want);
    // The token's secret is never part of the output.
    assert.ok(!text.includes(pve.tokenSecret));
  } finally {
    Deno.env.delete("PROXSCALE_DIAG_TOKEN");
    await kube.close();
    await pve.close();
  }
});

Deno.test("diagnose: a limited token is told which privileges it lacks, for what", async () => {
  const pve = await startFakePve({
    hosts: 3,
    seed: 4,
    tokens: [{
      id: LIMITED,
      secret: LIMITED_SECRET,
      acls: [
        { path: "/", privs: ["Sys.Audit", "VM.Audit", "Datastore.Audit"] },
        {
          path: "/vms",
          privs: ["VM.Allocate", "VM.PowerMgmt", "VM.Config.CPU", "VM.Config.Memory"],
        },
        { path: "/vms/9000", privs: ["VM.Clone"], propagate: false },
        { path: "/storage/local-lvm", privs: ["Datastore.AllocateSpace"] },
      ],
    }],
  });
  try {
    Deno.env.set("PROXSCALE_DIAG_LIMITED", LIMITED_SECRET);
    const checks = await diagnose(configFor(pve, LIMITED, "PROXSCALE_DIAG_LIMITED"), undefined, NS);
    const text = formatChecks(checks);
    const missing = failed(checks).map((c) => c.name.replace("pve demo: token rights ", ""));
    assert.deepEqual(missing.sort(), [
      "Datastore.Allocate on /storage/local",
      "Datastore.AllocateTemplate on /storage/local",
      "VM.Clone on /vms/9001",
      "VM.Clone on /vms/9002",
      "VM.Config.CDROM on /vms",
      "VM.Config.Disk on /vms",
      "VM.Config.Network on /vms",
      "VM.Config.Options on /vms",
    ], text);
    assert.match(
      text,
      /FAIL {2}pve demo: token rights VM\.Clone on \/vms\/9001: the token lacks VM\.Clone on \/vms\/9001, needed to clone template 9001 \(worker\) on pve2\n {6}fix: pveum acl modify \/vms\/9001 --tokens 'proxscale@pve!limited'/,
    );
    assert.match(text, /ok {4}kubernetes: skipped/);
    assert.match(text, /8 of \d+ checks failed/);
    assert.ok(!text.includes(LIMITED_SECRET));
  } finally {
    Deno.env.delete("PROXSCALE_DIAG_LIMITED");
    await pve.close();
  }
});

Deno.test("diagnose: a token that cannot delete seed ISOs on the default iso storage fails", async () => {
  // Everything proxscale needs, granted from /, except Datastore.Allocate.
  const shape = demoConfig({ url: "https://x", tokenId: LIMITED, fingerprint: "", hosts: ["a"] });
  shape.machineTemplates[0]!.disks = [{ slot: "scsi0", storage: "local-lvm", size: 32 * GiB }];
  shape.machineTemplates[0]!.bootstrap = { mode: "nocloudIso", template: "kubeadm" };
  const privs = [
    ...new Set(privilegeNeeds(shape.providers[0]!, shape.machineTemplates).map((n) => n.priv)),
  ].filter((p) => p !== "Datastore.Allocate");
  assert.ok(privs.includes("VM.Config.CDROM") && privs.includes("Datastore.AllocateTemplate"));
  const pve = await startFakePve({
    hosts: 2,
    seed: 7,
    tokens: [{ id: LIMITED, secret: LIMITED_SECRET, acls: [{ path: "/", privs }] }],
  });
  try {
    Deno.env.set("PROXSCALE_DIAG_NOALLOC", LIMITED_SECRET);
    const c = configFor(pve, LIMITED, "PROXSCALE_DIAG_NOALLOC");
    c.machineTemplates[0]!.bootstrap = { mode: "nocloudIso", template: "kubeadm" }; // iso: local
    const checks = await diagnose(c, undefined, NS);
    const text = formatChecks(checks);
    assert.deepEqual(failed(checks).map((x) => x.name), [
      "pve demo: token rights Datastore.Allocate on /storage/local",
    ], text);
    assert.match(
      text,
      /FAIL {2}pve demo: token rights Datastore\.Allocate on \/storage\/local: the token lacks Datastore\.Allocate on \/storage\/local, needed to delete worker's bootstrap ISOs/,
    );
    // The default iso storage is checked on every host for content iso.
    for (const h of pve.model.nodes().map((n) => String(n.node))) {
      assert.match(text, new RegExp(`ok {4}pve demo: storage local \\(iso\\) on ${h}: present`));
    }
  } finally {
    Deno.env.delete("PROXSCALE_DIAG_NOALLOC");
    await pve.close();
  }
});

Deno.test("diagnose: missing template and storage, full VMID range, bad secret", async () => {
  const pve = await startFakePve({ hosts: 2, seed: 5 });
  try {
    Deno.env.set("PROXSCALE_DIAG_TOKEN", pve.tokenSecret);
    const c = configFor(pve);
    const t = c.machineTemplates[0]!;
    if (t.source.kind === "clone") t.source.perHost = { pve1: 9000, pve2: 9555 };
    t.disks.push({ slot: "scsi1", storage: "fast-nvme", size: GiB });
    c.providers[0]!.vmidRange = { lower: 9000, upper: 9001 }; // the two templates fill it
    const text = formatChecks(await diagnose(c, undefined, NS));
    assert.match(
      text,
      /FAIL {2}pve demo: template 9555 \(worker\) on pve2: .*\n {6}fix: create the template on pve2/,
    );
    assert.match(text, /FAIL {2}pve demo: storage fast-nvme \(images\) on pve1: not present/);
    assert.match(
      text,
      /FAIL {2}pve demo: VMID range headroom: 0 of 2 VMIDs free in 9000-9001\n {6}fix: widen vmidRange/,
    );

    Deno.env.set("PROXSCALE_DIAG_TOKEN", "wrong-secret");
    const bad = formatChecks(await diagnose(configFor(pve), undefined, NS));
    assert.match(bad, /FAIL {2}pve demo: API reachable: .*401.*\n {6}fix: check tokenId/);
  } finally {
    Deno.env.delete("PROXSCALE_DIAG_TOKEN");
    await pve.close();
  }
});

Deno.test("diagnose: a shared template on local storage FAILs for the hosts that cannot clone it", async () => {
  const pve = await startFakePve({ hosts: 3, seed: 9 });
  try {
    Deno.env.set("PROXSCALE_DIAG_TOKEN", pve.tokenSecret);
    const c = configFor(pve);
    const t = c.machineTemplates[0]!;
    // The fake's template 9000 sits on pve1's local-lvm.
    t.source = { kind: "clone", templateVmid: 9000, full: false };
    const text = formatChecks(await diagnose(c, undefined, NS));
    assert.match(
      text,
      /FAIL {2}pve demo: template locality of worker \(template 9000\): .*local-lvm.*; pve2, pve3 cannot clone it\n {6}fix: .*perHost \(pve2: <vmid>, pve3: <vmid>\)/,
    );
    assert.ok(
      !/template 9000 \(worker\) on pve2/.test(text),
      "no per-host lookup of a shared template",
    );

    // The same template on shared storage (Ceph) serves every host.
    pve.model.addTemplate(9100, "pve1", "ceph");
    t.source = { kind: "clone", templateVmid: 9100, full: false };
    const shared = formatChecks(await diagnose(c, undefined, NS));
    assert.match(
      shared,
      /ok {4}pve demo: template locality of worker \(template 9100\): its disks are on shared storage/,
    );
  } finally {
    Deno.env.delete("PROXSCALE_DIAG_TOKEN");
    await pve.close();
  }
});

Deno.test("diagnose: a missing RBAC rule and a missing CRD are FAIL lines", async () => {
  const pve = await startFakePve({ hosts: 1, seed: 6 });
  const kube = await startFakeKube({ seed: 6 });
  try {
    for (const k of KINDS.filter((k) => k.plural !== "nodeclaims")) {
      assert.ok(
        kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k)).ok,
      );
    }
    Deno.env.set("PROXSCALE_DIAG_TOKEN", pve.tokenSecret);
    // The shipped RBAC without the eviction rule.
    const saToken = await applyShippedRbac(kube, NS, { resource: "pods/eviction", verb: "create" });
    const sa = kubeClientFromKubeconfig(kube.kubeconfig().replace(kube.token, saToken));
    const checks = await diagnose(configFor(pve), sa, NS);
    const text = formatChecks(checks);
    assert.deepEqual(failed(checks).map((c) => c.name), [
      "kubernetes: may create pods/eviction",
      "kubernetes: CRD nodeclaims.proxscale.io",
    ], text);
    assert.match(text, /denied: create pods\/eviction\n {6}fix: apply deploy\/proxscale\.yaml/);
    assert.match(text, /fix: kubectl apply -f deploy\/crds\//);
  } finally {
    Deno.env.delete("PROXSCALE_DIAG_TOKEN");
    await kube.close();
    await pve.close();
  }
});

Deno.test("diagnose --config: exit 1 with FAIL lines, exit 0 when all pass; usage errors exit 2", async () => {
  const pve = await startFakePve({ hosts: 3, seed: 8 });
  const dir = await Deno.makeTempDir({ prefix: "proxscale-diag-" });
  try {
    Deno.env.set("PROXSCALE_DIAG_TOKEN", pve.tokenSecret);
    const hosts = pve.model.nodes().map((n) => String(n.node)).sort();
    const yaml = (perHost: string) =>
      `apiVersion: proxscale.io/v1alpha1
providers:
  - name: lab
    spec:
      endpoint: ${pve.url}
      tokenId: ${pve.tokenId}
      tokenSecret: { env: PROXSCALE_DIAG_TOKEN }
      tls: { fingerprint: "${pve.fingerprint}" }
      hosts:
${hosts.map((h) => `        - { name: ${h}, zone: ${h} }`).join("\n")}
      vmidRange: { lower: 2000, upper: 2099 }
machineTemplates:
  - name: worker
    spec:
      provider: lab
      shapes: [{ cpu: 2, memory: 4Gi }]
      source: { clone: { perHost: { ${perHost} }, full: false } }
      disks: [{ slot: scsi0, storage: local-lvm, size: 32Gi }]
nodePools:
  - name: general
    spec: { machineTemplate: worker }
`;
    const good = `${dir}/good.yaml`;
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(good, yaml(hosts.map((h, i) => `${h}: ${9000 + i}`).join(", ")));
    await Deno.writeTextFile(bad, yaml(hosts.map((h) => `${h}: 9000`).join(", ")));
    const run = async (args: string[]) => {
      const io = captureIo();
      const code = await diagnoseCommand.run(args, io);
      return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
    };
    const ok = await run(["--config", good]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /all \d+ checks passed/);
    const ko = await run(["--config", bad]);
    assert.equal(ko.code, 1, ko.out);
    assert.match(ko.out, /FAIL {2}pve lab: template 9000 \(worker\) on pve2/);
    const json = await run(["--config", bad, "--json"]);
    assert.equal(json.code, 1);
    assert.ok((JSON.parse(json.out) as Check[]).some((c) => !c.ok && c.fix));
    assert.equal((await run([])).code, 2);
  } finally {
    Deno.env.delete("PROXSCALE_DIAG_TOKEN");
    await Deno.remove(dir, { recursive: true });
    await pve.close();
  }
});

Deno.test("token rights: ACLs propagate to sub-paths unless propagate is off", () => {
  const perms = { "/vms": { "VM.Allocate": 1 }, "/vms/9000": { "VM.Clone": 0 }, "/": {} };
  assert.ok(holds(perms, "/vms", "VM.Allocate"));
  assert.ok(holds(perms, "/vms/123", "VM.Allocate"));
  assert.ok(holds(perms, "/vms/9000", "VM.Clone"));
  assert.ok(!holds(perms, "/vms/9000/x", "VM.Clone"));
  assert.ok(!holds(perms, "/vmsx", "VM.Allocate"));
  assert.ok(!holds(perms, "/storage/local", "VM.Allocate"));
  const hosts = ["a", "b"];
  const pve = { url: "https://x", tokenId: "t@pve!x", fingerprint: "", hosts };
  const c = demoConfig(pve);
  const needs = privilegeNeeds(c.providers[0]!, c.machineTemplates).map((n) =>
    `${n.priv}@${n.path}`
  );
  for (
    const n of [
      "Sys.Audit@/nodes/a",
      "VM.Allocate@/vms",
      "VM.Clone@/vms/9000",
      "VM.Clone@/vms/9001",
      "VM.PowerMgmt@/vms",
      "VM.Config.Options@/vms",
    ]
  ) assert.ok(needs.includes(n), n);
});

Deno.test("token rights: a machine type needs VM.Config.HWType, a custom CPU model Sys.Audit on /nodes", () => {
  const pve = { url: "https://x", tokenId: "t@pve!x", fingerprint: "", hosts: ["a"] };
  const c = demoConfig(pve);
  const keys = (cfg: typeof c) =>
    privilegeNeeds(cfg.providers[0]!, cfg.machineTemplates).map((n) => `${n.priv}@${n.path}`);
  assert.ok(!keys(c).includes("VM.Config.HWType@/vms"), "not needed without such options");
  assert.ok(!keys(c).includes("Sys.Audit@/nodes"));
  c.machineTemplates[0]!.vm = { machine: "q35", cpu: { type: "custom-lite" } };
  assert.ok(keys(c).includes("VM.Config.HWType@/vms"));
  assert.ok(keys(c).includes("Sys.Audit@/nodes"));
  const scratch = demoConfig(pve);
  scratch.machineTemplates[0]!.source = {
    kind: "scratch",
    options: { scsihw: "virtio-scsi-single" },
  };
  const need = privilegeNeeds(scratch.providers[0]!, scratch.machineTemplates)
    .find((n) => n.priv === "VM.Config.HWType");
  assert.match(String(need?.why), /set scsihw \(worker\)/);
});
