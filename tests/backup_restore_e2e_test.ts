/**
 * Backup, disaster and restore as an operator meets them, following the disaster-recovery
 * procedure of docs/operations.md step by step: the real `proxscale run --crds` process scales
 * the fake cluster; `proxscale backup` (a process) writes the file; kubectl deletes every
 * proxscale CRD (and with them every proxscale object, NodeClaims included) while the daemon
 * keeps running; kubectl re-applies the CRDs; `proxscale restore` shows its diff and re-applies
 * the configuration; the daemon adopts every running VM and Node (0 VMs deleted, 0 pods
 * evicted, counted on the PVE side and on the pods) and then scales up as usual. And the
 * configuration history: gen 1 then gen 2 applied with kubectl, `proxscale config rollback`
 * returns gen 1, which the same daemon process applies without restart.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import type { DemoCluster } from "../harness/cluster.ts";
import { migrateText } from "../cli/migrate.ts";
import { renderManifests } from "../adapters/config/crd_manifests.ts";
import { startPlainCluster, until, yamlConfig } from "./testing/run_process.ts";
import { kubectl, kubectlEnv } from "./testing/kubectl.ts";

const NS = "proxscale-system";
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const CRDS_DIR = new URL("../deploy/crds/", import.meta.url).pathname;
const MiB = 2 ** 20;

type Proc = {
  stdout(): string;
  stderr(): string;
  port: number;
  pid: number;
  stop(): Promise<void>;
};

/** `proxscale run --crds` as a process; resolves once it listens. */
async function startDaemon(kubeconfig: string): Promise<Proc> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "run",
      "--crds",
      `--kubeconfig=${kubeconfig}`,
      "--http-port=0",
      "--no-leader-elect",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let errText = "";
  const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const t of s.pipeThrough(new TextDecoderStream())) add(t);
  };
  const drained = Promise.all([
    pump(child.stdout, (t) => (out += t)),
    pump(child.stderr, (t) => (errText += t)),
  ]);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 20_000);
    await child.status;
    clearTimeout(t);
    await drained;
  };
  try {
    await until(() => /"http_port":\d+/.test(out), 60_000, "the daemon to listen");
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}; stderr: ${errText.slice(-2000)}`);
  }
  return {
    stdout: () => out,
    stderr: () => errText,
    port: Number(/"http_port":(\d+)/.exec(out)![1]),
    pid: child.pid,
    stop,
  };
}

/** A proxscale CLI command as a process: exit code and both streams. */
async function proxscale(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The cluster's configuration as CRD manifests (token from a Secret, consolidation quiet). */
function manifests(c: DemoCluster, edit: (text: string) => string = (t) => t): string {
  const text = edit(
    yamlConfig(c)
      .replace(
        "tokenSecret: { env: PROXSCALE_PVE_TOKEN }",
        `tokenSecret: { secret: { namespace: ${NS}, name: pve-token, key: token } }`,
      )
      .replace("consolidationPolicy: WhenEmptyOrUnderutilized", "consolidationPolicy: WhenEmpty")
      .replace("consolidateAfter: 2s", "consolidateAfter: 10m"),
  );
  const m = migrateText(text, "config.yaml");
  if (!m.ok) throw new Error(m.error.join("\n"));
  return renderManifests(m.value.manifests);
}

/** Namespace and the PVE token Secret, as an operator creates them before installing. */
function prepare(c: DemoCluster): void {
  c.kube.store.create("namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: NS },
  });
  const r = c.kube.store.create("secrets", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "pve-token", namespace: NS },
    data: { token: btoa(c.pve.tokenSecret) },
  }, { namespace: NS });
  if (!r.ok) throw new Error(r.error.message);
}

type PodObj = { metadata: { name: string; uid: string }; spec?: { nodeName?: string } };
type ClaimObj = {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: { vmid?: number; conditions?: { type: string; status: string }[] };
};

function pods(c: DemoCluster): Map<string, string> {
  const r = c.kube.store.list("pods", { namespace: "default" });
  if (!r.ok) return new Map();
  return new Map(
    (r.value.items as unknown as PodObj[]).map((p) => [p.metadata.uid, p.spec?.nodeName ?? ""]),
  );
}

function claims(c: DemoCluster): ClaimObj[] {
  const r = c.kube.store.list("nodeclaims.proxscale.io", {});
  return r.ok ? r.value.items as unknown as ClaimObj[] : [];
}

const ready = (x: ClaimObj) =>
  (x.status?.conditions ?? []).some((k) => k.type === "Ready" && k.status === "True");

/** VMIDs of the managed VMs PVE holds now (its own model, not proxscale's view). */
function pveVmids(c: DemoCluster): number[] {
  return c.world.liveVms().map((v) => v.vmid).sort((a, b) => a - b);
}

Deno.test({
  name: "disaster recovery: backup, every proxscale CRD and object deleted, CRDs re-applied, " +
    "restore; the running daemon adopts every VM and Node (0 VMs deleted, 0 pods evicted), " +
    "then scales up",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const c = await startPlainCluster(61);
    const dir = await Deno.makeTempDir({ prefix: "proxscale-dr-" });
    const kc = `${dir}/kubeconfig`;
    const env = kubectlEnv(kc, dir);
    let daemon: Proc | undefined;
    try {
      await Deno.writeTextFile(kc, c.kube.kubeconfig());
      prepare(c);
      // Install: the configuration as CRD objects, then the daemon.
      const apply = await kubectl(env, ["apply", "-f", "-"], manifests(c));
      assert.equal(apply.code, 0, apply.stderr);
      daemon = await startDaemon(kc);
      c.world.deploy({ name: "web", replicas: 6, cpu: 1500, memory: 512 * MiB });
      await until(
        () =>
          c.world.pendingPods() === 0 && pods(c).size === 6 &&
          [...pods(c).values()].every((n) => n !== "") && claims(c).length > 0 &&
          claims(c).every(ready) && claims(c).length === pveVmids(c).length,
        120_000,
        "six pods running on Ready NodeClaims",
      );

      // Step 1: back up.
      const file = `${dir}/backup.yaml`;
      const b = await proxscale(["backup", `--kubeconfig=${kc}`, `--out=${file}`]);
      assert.equal(b.code, 0, b.stderr);
      const doc = parseYaml(await Deno.readTextFile(file));
      assert.equal(doc.formatVersion, 1);
      const vmsBefore = pveVmids(c);
      const podsBefore = pods(c);
      const backedClaims = doc.objects.filter((o: { kind: string }) => o.kind === "NodeClaim");
      assert.equal(backedClaims.length, vmsBefore.length);
      assert.deepEqual(
        doc.inventory.vms.map((v: { vmid: number }) => v.vmid).sort((a: number, b: number) =>
          a - b
        ),
        vmsBefore,
      );
      assert.ok(doc.inventory.vms.every((v: { templateHash?: string }) => v.templateHash));
      assert.deepEqual(doc.secretRefs.map((s: { name: string }) => s.name), ["pve-token"]);
      assert.ok(doc.configHistory.length >= 1, "the configuration history is in the backup");
      assert.ok(!JSON.stringify(doc).includes(c.pve.tokenSecret), "no Secret value in the file");

      // Step 2 (the disaster): every proxscale CRD deleted, and with them every object.
      const listed = await kubectl(env, ["get", "crd", "-o", "name"]);
      const ours = listed.stdout.split("\n").filter((l) => l.endsWith(".proxscale.io"));
      assert.ok(ours.length >= 4, listed.stdout);
      const del = await kubectl(env, ["delete", ...ours]);
      assert.equal(del.code, 0, del.stderr);
      assert.equal(claims(c).length, 0);
      // Step 3: the CRDs again (as shipped), then restore: a diff first, then the apply.
      const crdsBack = Date.now();
      const crds = await kubectl(env, ["apply", "-f", CRDS_DIR]);
      assert.equal(crds.code, 0, crds.stderr);
      const dry = await proxscale(["restore", file, `--kubeconfig=${kc}`, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /^\+ NodePool\/general \(create\)$/m);
      assert.match(dry.stdout, /dry run: \d+ objects would be applied, nothing was changed/);
      const r = await proxscale(["restore", file, `--kubeconfig=${kc}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /none recreated from the file/);
      // Step 4: the daemon adopts every VM: one Ready claim per VM, the same VMs, the same pods.
      await until(
        () => claims(c).length === vmsBefore.length && claims(c).every(ready),
        60_000,
        "every VM adopted by a Ready NodeClaim",
      );
      console.log(
        `adopted ${vmsBefore.length} VMs ${
          Date.now() - crdsBack
        } ms after the CRDs were re-applied`,
      );
      // A few orphan grace periods (1 s) later nothing was collected or evicted.
      await new Promise((res) => setTimeout(res, 4_000));
      assert.deepEqual(pveVmids(c), vmsBefore, "0 VMs deleted");
      assert.deepEqual(
        [...c.world.vms.values()].filter((v) => v.goneAt !== undefined).map((v) => v.vmid),
        [],
      );
      assert.deepEqual(pods(c), podsBefore, "0 pods evicted: the same pods on the same nodes");
      assert.deepEqual(
        claims(c).map((x) => x.status?.vmid).sort((a, b) => a! - b!),
        vmsBefore,
      );
      // Each rebuilt claim has the template hash its VM's launch recorded: drift still works.
      const hashOf = (o: { metadata: { annotations?: Record<string, string> } }) =>
        o.metadata.annotations?.["proxscale.io/template-hash"];
      const wantHashes = backedClaims.map(hashOf).sort();
      assert.ok(wantHashes.every((h: string | undefined) => h !== undefined));
      assert.deepEqual(claims(c).map((x) => hashOf(x as never)).sort(), wantHashes);
      assert.match(daemon.stdout(), /"msg":"AdoptClaim"/);
      assert.doesNotMatch(daemon.stdout(), /"msg":"GarbageCollectVM"/);
      // Step 5: it scales as usual.
      c.world.scale("web", 10);
      await until(
        () =>
          c.world.pendingPods() === 0 && pods(c).size === 10 &&
          [...pods(c).values()].every((n) => n !== "") && pveVmids(c).length > vmsBefore.length,
        120_000,
        "the scale-up after recovery",
      );
      assert.ok(vmsBefore.every((v) => pveVmids(c).includes(v)));
    } finally {
      await daemon?.stop();
      await c.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "config rollback: gen 1 then gen 2 applied with kubectl; rollback returns gen 1 and the " +
    "running daemon applies it without restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const c = await startPlainCluster(62);
    const dir = await Deno.makeTempDir({ prefix: "proxscale-rollback-" });
    const kc = `${dir}/kubeconfig`;
    const env = kubectlEnv(kc, dir);
    let daemon: Proc | undefined;
    const status = async () => {
      const r = await fetch(`http://127.0.0.1:${daemon!.port}/status`);
      return (await r.json()) as { config?: { live?: { generation: number; digest: string } } };
    };
    try {
      await Deno.writeTextFile(kc, c.kube.kubeconfig());
      prepare(c);
      const gen1 = manifests(c);
      assert.equal((await kubectl(env, ["apply", "-f", "-"], gen1)).code, 0);
      daemon = await startDaemon(kc);
      let live: { generation: number; digest: string } | undefined;
      const liveIs = async (g: number) => {
        live = (await status()).config?.live;
        return live?.generation === g;
      };
      await waitFor(() => liveIs(1), "generation 1 live");
      const digest1 = live!.digest;
      // Gen 2: the pool paused (no new node for it).
      const gen2 = manifests(
        c,
        (t) =>
          t.replace("machineTemplate: worker\n", "machineTemplate: worker\n      paused: true\n"),
      );
      assert.notEqual(gen2, gen1);
      assert.equal((await kubectl(env, ["apply", "-f", "-"], gen2)).code, 0);
      await waitFor(() => liveIs(2), "generation 2 live");
      const h = await proxscale(["config", "history", `--kubeconfig=${kc}`]);
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, /^1 +\S+/m);
      assert.match(h.stdout, /^2 \* +\S+/m);
      // Paused: pending pods get no VM.
      c.world.deploy({ name: "web", replicas: 2, cpu: 1500, memory: 512 * MiB });
      await new Promise((res) => setTimeout(res, 3_000));
      assert.equal(pveVmids(c).length, 0, "a paused pool launches nothing");
      // Rollback to the previous generation: gen 1 comes back as gen 3, same digest.
      const rb = await proxscale(["config", "rollback", `--kubeconfig=${kc}`]);
      assert.equal(rb.code, 0, rb.stderr);
      assert.match(rb.stdout, /rolling back to generation 1/);
      assert.match(rb.stdout, /spec\.paused: true -> \(none\)/);
      await waitFor(() => liveIs(3), "generation 3 live");
      assert.equal(live!.digest, digest1, "the rolled-back configuration is generation 1's");
      const st = await proxscale(["status", `--url=http://127.0.0.1:${daemon.port}`]);
      assert.match(st.stdout, /live configuration generation 3/);
      const fromCluster = await proxscale(["status", `--kubeconfig=${kc}`]);
      assert.match(fromCluster.stdout, /live configuration generation 3 \(digest /);
      // The same process applies it: the pods get VMs.
      await until(
        () => c.world.pendingPods() === 0 && pveVmids(c).length > 0,
        120_000,
        "the rolled-back (unpaused) pool to scale",
      );
      assert.match(daemon.stdout(), /"configuration reloaded"/);
      const bad = await proxscale(["config", "rollback", "99", `--kubeconfig=${kc}`]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /generation 99 is not in the history \(kept: 1\.\.3\)/);
    } finally {
      await daemon?.stop();
      await c.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

async function waitFor(cond: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
