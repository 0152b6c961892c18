/**
 * A `proxscale run` process that cannot work stops at once: a missing CRD, an HTTP port already
 * in use, an unreadable cluster CA or token, and an unreachable PVE each give one line on stderr
 * with the cause and the fix, exit code 1, and no Lease left held (the checks run before it is
 * taken). A daemon that did take the Lease clears its holder when it stops.
 */
import assert from "node:assert/strict";
import { crdObject, KINDS } from "../adapters/kubernetes/crds.ts";
import { type FakeKube, startFakeKube } from "../fakes/fake_kube/server.ts";
import { type FakePve, startFakePve } from "../fakes/fake_pve/server.ts";
import { DEMO_PVE_TIMING } from "../harness/demo_config.ts";

const NS = "proxscale-system";
const LEASE = "proxscale-leader";

const configYaml = (pve: { url: string; tokenId: string; fingerprint: string }) => `
providers:
  - name: lab
    spec:
      endpoint: ${pve.url}
      tokenId: "${pve.tokenId}"
      tokenSecret: { env: PROXSCALE_PVE_TOKEN }
      tls: { fingerprint: "${pve.fingerprint}" }
      hosts: [{ name: pve1, zone: a }]
      vmidRange: { lower: 1000, upper: 1999 }
machineTemplates:
  - name: worker
    spec:
      provider: lab
      shapes: [{ cpu: 2, memory: 4Gi }]
      source: { clone: { templateVmid: 9000, full: false } }
      bootstrap: { mode: none }
nodePools:
  - name: general
    spec: { machineTemplate: worker }
`;

type Env = { kube: FakeKube; pve: FakePve; dir: string };

async function withFakes(o: { crds: boolean }, body: (e: Env) => Promise<void>): Promise<void> {
  const pve = await startFakePve({ hosts: 1, seed: 3, model: { timing: DEMO_PVE_TIMING } });
  const kube = await startFakeKube({ seed: 3 });
  const dir = await Deno.makeTempDir({ prefix: "proxscale-startup-" });
  try {
    kube.store.create("namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NS },
    });
    if (o.crds) {
      for (const k of KINDS) {
        kube.store.create("customresourcedefinitions.apiextensions.k8s.io", crdObject(k));
      }
    }
    await Deno.writeTextFile(`${dir}/config.yaml`, configYaml(pve));
    await Deno.writeTextFile(`${dir}/kubeconfig`, kube.kubeconfig());
    await body({ kube, pve, dir });
  } finally {
    await kube.close();
    await pve.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function spawnRun(e: Env, extra: string[], kubeconfig = `${e.dir}/kubeconfig`) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../main.ts", import.meta.url).pathname,
      "run",
      `--config=${e.dir}/config.yaml`,
      `--kubeconfig=${kubeconfig}`,
      "--http-port=0",
      ...extra,
    ],
    env: { PROXSCALE_PVE_TOKEN: e.pve.tokenSecret },
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs to the end (a failed start must end by itself) and returns code and stderr lines. */
async function failedStart(e: Env, extra: string[], kubeconfig?: string) {
  const child = spawnRun(e, extra, kubeconfig).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const out = await child.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(out.stderr).trim();
  return { code: out.code, lines: stderr === "" ? [] : stderr.split("\n") };
}

function leaseHolder(kube: FakeKube): string | undefined {
  const r = kube.store.get("leases.coordination.k8s.io", NS, LEASE);
  if (!r.ok) return undefined;
  const holder = (r.value as { spec?: { holderIdentity?: string } }).spec?.holderIdentity;
  return holder === "" ? undefined : holder;
}

function assertOneClearLine(lines: string[], cause: RegExp, fix: RegExp) {
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0]!, /^proxscale run: cannot start: /);
  assert.match(lines[0]!, cause);
  assert.match(lines[0]!, /; fix: /);
  assert.match(lines[0]!, fix);
  assert.doesNotMatch(lines[0]!, /internal error/);
}

Deno.test("a missing CRD stops proxscale run with one line naming it and how to install it", async () => {
  await withFakes({ crds: false }, async (e) => {
    const { code, lines } = await failedStart(e, []);
    assert.equal(code, 1);
    assertOneClearLine(
      lines,
      /CustomResourceDefinition \w+\.proxscale\.io is not installed/,
      /kubectl apply -f deploy\/crds\//,
    );
    assert.equal(leaseHolder(e.kube), undefined);
  });
});

Deno.test("a missing Lease namespace stops proxscale run instead of running without ever leading", async () => {
  await withFakes({ crds: true }, async (e) => {
    const { code, lines } = await failedStart(e, ["--lease-namespace=nowhere"]);
    assert.equal(code, 1);
    assertOneClearLine(
      lines,
      /namespace nowhere, where the leader Lease proxscale-leader lives, does not exist/,
      /kubectl create namespace nowhere/,
    );
    assert.equal(e.kube.store.list("leases.coordination.k8s.io").ok, true);
    const leases = e.kube.store.list("leases.coordination.k8s.io");
    assert.deepEqual(leases.ok ? leases.value.items : [], [], "the dry run created nothing");
  });
});

Deno.test("an HTTP port already in use stops proxscale run before it takes the Lease", async () => {
  await withFakes({ crds: true }, async (e) => {
    const taken = Deno.listen({ hostname: "0.0.0.0", port: 0 });
    try {
      const port = (taken.addr as Deno.NetAddr).port;
      const { code, lines } = await failedStart(e, [`--http-port=${port}`]);
      assert.equal(code, 1);
      assertOneClearLine(lines, new RegExp(`HTTP port ${port} is already in use`), /--http-port/);
      assert.equal(leaseHolder(e.kube), undefined);
    } finally {
      taken.close();
    }
  });
});

Deno.test("an unreadable cluster CA stops proxscale run with one line naming the file", async () => {
  await withFakes({ crds: true }, async (e) => {
    const text = e.kube.kubeconfig().replace(
      /certificate-authority-data: .*/,
      `certificate-authority: ${e.dir}/missing-ca.crt`,
    );
    assert.ok(text.includes("missing-ca.crt"), "the kubeconfig names a CA file");
    await Deno.writeTextFile(`${e.dir}/kubeconfig-ca`, text);
    const { code, lines } = await failedStart(e, [], `${e.dir}/kubeconfig-ca`);
    assert.equal(code, 1);
    assertOneClearLine(
      lines,
      /cluster CA or credentials cannot be read: .*missing-ca\.crt/,
      /--kubeconfig/,
    );
    assert.equal(leaseHolder(e.kube), undefined);
  });
});

Deno.test("an unreadable cluster token stops proxscale run with one line naming the file", async () => {
  await withFakes({ crds: true }, async (e) => {
    const text = e.kube.kubeconfig().replace(/token: .*/, `tokenFile: ${e.dir}/missing-token`);
    assert.ok(text.includes("missing-token"), "the kubeconfig names a token file");
    await Deno.writeTextFile(`${e.dir}/kubeconfig-token`, text);
    const { code, lines } = await failedStart(e, [], `${e.dir}/kubeconfig-token`);
    assert.equal(code, 1);
    assertOneClearLine(lines, /cluster token .*missing-token cannot be read/, /token/);
    assert.equal(leaseHolder(e.kube), undefined);
  });
});

Deno.test("an unreachable PVE stops proxscale run with one line naming the endpoint", async () => {
  await withFakes({ crds: true }, async (e) => {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const text = configYaml({ ...e.pve, url: `https://127.0.0.1:${port}` });
    await Deno.writeTextFile(`${e.dir}/config.yaml`, text);
    const { code, lines } = await failedStart(e, []);
    assert.equal(code, 1);
    assertOneClearLine(
      lines,
      new RegExp(`Provider lab: the PVE API at https://127\\.0\\.0\\.1:${port} is unreachable`),
      /port 8006/,
    );
    assert.equal(leaseHolder(e.kube), undefined);
  });
});

Deno.test("proxscale run takes the Lease in its namespace and clears the holder when stopped", async () => {
  await withFakes({ crds: true }, async (e) => {
    const child = spawnRun(e, []).spawn();
    let held: string | undefined;
    try {
      const end = Date.now() + 20_000;
      while (Date.now() < end && (held = leaseHolder(e.kube)) === undefined) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(held, `Lease ${NS}/${LEASE} taken`);
    } finally {
      child.kill("SIGTERM");
      const out = await child.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    }
    assert.equal(leaseHolder(e.kube), undefined, "holder cleared on stop");
  });
});

Deno.test("an unreadable bootstrap CA stops proxscale run, and diagnose fails on it too", async () => {
  await withFakes({ crds: true }, async (e) => {
    const text = configYaml(e.pve).replace(
      "bootstrap: { mode: none }",
      'bootstrap: { mode: nocloudIso, template: kubeadm, clusterServer: "10.0.0.10:6443", ' +
        `caCertHashFrom: ${e.dir}/missing-ca.pem }`,
    );
    await Deno.writeTextFile(`${e.dir}/config.yaml`, text);
    const { code, lines } = await failedStart(e, []);
    assert.equal(code, 1);
    assertOneClearLine(
      lines,
      /MachineTemplate worker: the cluster CA .*missing-ca\.pem cannot be read/,
      /caCertHashFrom/,
    );
    assert.equal(leaseHolder(e.kube), undefined);
    const d = await diagnoseRun(e, `${e.dir}/kubeconfig`);
    assert.equal(d.code, 1, d.out);
    assert.match(d.out, /FAIL {2}bootstrap ca: MachineTemplate worker: the cluster CA/);
  });
});

async function diagnoseRun(e: Env, kubeconfig: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../main.ts", import.meta.url).pathname,
      "diagnose",
      `--config=${e.dir}/config.yaml`,
      `--kubeconfig=${kubeconfig}`,
    ],
    env: { PROXSCALE_PVE_TOKEN: e.pve.tokenSecret },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("proxscale diagnose fails on an unreadable cluster CA and a missing CRD, as run does", async () => {
  await withFakes({ crds: false }, async (e) => {
    const text = e.kube.kubeconfig().replace(
      /certificate-authority-data: .*/,
      `certificate-authority: ${e.dir}/missing-ca.crt`,
    );
    await Deno.writeTextFile(`${e.dir}/kubeconfig-ca`, text);
    const ca = await diagnoseRun(e, `${e.dir}/kubeconfig-ca`);
    assert.equal(ca.code, 1, ca.out);
    assert.match(
      ca.out,
      /FAIL {2}kubernetes credentials: the cluster CA or credentials cannot be read/,
    );
    const crd = await diagnoseRun(e, `${e.dir}/kubeconfig`);
    assert.equal(crd.code, 1, crd.out);
    assert.match(crd.out, /FAIL .*nodeclaims\.proxscale\.io/i);
  });
});
