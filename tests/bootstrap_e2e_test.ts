/**
 * Secure node bootstrap end to end (issue 5: one short-lived join token per NodeClaim, delivered
 * on a seed ISO and revoked once the node joined): the real daemon
 * over the fake PVE and fake API server, MachineTemplate mode `nocloudIso`. The world glue
 * boots only a VM whose attached cidata ISO carries a join token a live bootstrap-token Secret
 * accepts, so a node without a valid token never joins.
 *
 * - registration: the token Secret (fields, expiry) exists while the VM boots, the seed ISO is
 *   attached before start; after registration the ISO is detached and deleted and the Secret
 *   deleted. With a known token (injected random source) nothing but the ISO content and the
 *   Secret holds it: VM configs, descriptions, tags, task logs, volume names, logs, audit,
 *   /metrics, Events, NodeClaims and every request are searched.
 * - failed claim: a start task that always fails, and a token the cluster refuses (the claim
 *   times out unregistered): every Secret and ISO made for the claims is gone afterwards.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  formatBootstrapToken,
  generateBootstrapToken,
  KUBEADM_NODE_GROUP,
  type RandomBytes,
} from "../core/bootstrap_token.ts";
import { MiB } from "../core/quantity.ts";
import { readIso } from "../adapters/bootstrap/iso9660_reader.ts";
import { MemoryJobQueue } from "../adapters/queue/memory.ts";
import { createTelemetry } from "../adapters/telemetry/telemetry.ts";
import { memorySink } from "../adapters/telemetry/logger.ts";
import { createRedactor } from "../adapters/telemetry/redact.ts";
import { createHealthState } from "../adapters/telemetry/health.ts";
import type { DecisionReport, JobData } from "../daemon/context.ts";
import { startHttpServer } from "../daemon/http.ts";
import { observers } from "../daemon/observe.ts";
import { TOKEN_ID_ANNOTATION } from "../daemon/bootstrap.ts";
import { auditVms } from "../harness/demo.ts";
import { type DemoCluster, startDemoCluster } from "../harness/cluster.ts";
import type { KObj } from "../fakes/fake_kube/server.ts";

/** A deterministic byte source: the tokens the daemon mints are known in advance. */
function knownRandom(seed: number): RandomBytes {
  let x = seed >>> 0;
  return (n) =>
    Uint8Array.from({ length: n }, () => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return x >>> 24;
    });
}

async function until(cond: () => boolean, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

type SeenSecret = { at: number; obj: KObj & { data?: Record<string, string>; type?: string } };

/** Records every bootstrap-token Secret the daemon creates (as stored, data base64). */
function watchSecrets(cluster: DemoCluster): SeenSecret[] {
  const seen: SeenSecret[] = [];
  cluster.kube.store.onWrite((def, type, obj) => {
    if (def.kind !== "Secret" || type !== "ADDED") return;
    if (!obj.metadata.name?.startsWith("bootstrap-token-")) return;
    seen.push({ at: Date.now(), obj: structuredClone(obj) as SeenSecret["obj"] });
  });
  return seen;
}

const field = (s: SeenSecret, k: string) => atob(s.obj.data?.[k] ?? "");

function liveTokenSecrets(cluster: DemoCluster): string[] {
  const l = cluster.kube.store.list("secrets");
  if (!l.ok) return [];
  return l.value.items.map((s) => s.metadata.name ?? "").filter((n) =>
    n.startsWith("bootstrap-token-")
  );
}

/** Every seed ISO volume on any host's storage. */
function seedVolumes(cluster: DemoCluster): string[] {
  const out: string[] = [];
  for (const [key, vols] of cluster.pve.model.st.volumes) {
    for (const v of vols.values()) if (v.content === "iso") out.push(`${key}:${v.name}`);
  }
  return out;
}

type VmView = { node: string; vmid: number; config: Record<string, unknown> };

function managedVms(cluster: DemoCluster): VmView[] {
  const res = cluster.pve.model.resources("vm");
  if (!res.ok) return [];
  const out: VmView[] = [];
  for (const v of res.value) {
    if (v.template || !String(v.tags ?? "").includes("proxscale")) continue;
    const cfg = cluster.pve.model.getConfig(String(v.node), Number(v.vmid));
    if (cfg.ok) out.push({ node: String(v.node), vmid: Number(v.vmid), config: cfg.value });
  }
  return out;
}

function dump(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (x instanceof Map) return Object.fromEntries(x);
    if (x instanceof Set) return [...x];
    if (x instanceof Uint8Array) return `<${x.length} bytes>`;
    return x;
  });
}

Deno.test("nocloudIso: token Secret and seed ISO before boot, both gone after registration, the token nowhere else", async () => {
  const random = knownRandom(20261126);
  const expected = generateBootstrapToken(knownRandom(20261126));
  const cluster = await startDemoCluster({ seed: 31, bootDelayMs: 500 });
  const secrets = watchSecrets(cluster);
  const queue = new MemoryJobQueue<JobData>();
  const reports: DecisionReport[] = [];
  const logs = memorySink();
  const audit = memorySink();
  const telemetry = createTelemetry({
    redactor: createRedactor(), // empty on purpose: nothing is scrubbed for the daemon
    logSink: logs,
    auditSink: audit,
    level: "debug",
  });
  const health = createHealthState({ now: Date.now, maxTickAgeMs: 60_000 });
  const obs = observers({
    logger: telemetry.logger,
    metrics: telemetry.metrics,
    health,
    queue,
    isLeader: () => true,
  });
  const configsSeen = new Set<string>();
  const attached: { vmid: number; slot: string; volid: string; files: Map<string, string> }[] = [];
  const liveWhileBooting = new Set<string>();
  let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  let metricsText = "";
  try {
    await cluster.spawn({
      queue,
      random,
      log: telemetry.logger.asLog,
      onError: (m) => obs.onError(m),
      report: (d) => {
        reports.push(d);
        obs.report(d);
      },
      tickMs: 300,
    });
    http = await startHttpServer({
      hostname: "127.0.0.1",
      port: 0,
      metrics: telemetry.metrics,
      health,
      redactor: createRedactor(),
    });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    const released = () =>
      reports.find((d) => d.what === "BootstrapReleased" && /registered/.test(d.reason.message));
    // Watch the VM while it boots: every config it has, and the seed while attached.
    const ok = await until(() => {
      for (const n of liveTokenSecrets(cluster)) liveWhileBooting.add(n);
      for (const vm of managedVms(cluster)) {
        configsSeen.add(dump(vm.config));
        for (const [slot, v] of Object.entries(vm.config)) {
          if (typeof v !== "string" || !/:iso\//.test(v)) continue;
          if (attached.some((a) => a.vmid === vm.vmid)) continue;
          const volid = v.split(",")[0]!;
          const data = cluster.pve.model.volumeData(vm.node, volid);
          const iso = data ? readIso(data) : undefined;
          if (!iso?.ok) continue;
          assert.equal(iso.value.volumeId, "cidata");
          const files = new Map(
            iso.value.rockRidge.map((f) => [f.name, new TextDecoder().decode(f.data)]),
          );
          attached.push({ vmid: vm.vmid, slot, volid, files });
        }
      }
      return released() !== undefined;
    }, 30_000);
    assert.ok(ok, reports.map((r) => `${r.what} ${r.reason.message}`).join("\n"));
    const claim = released()!.nodeclaim!;

    // The token Secret: kubeadm's format, one per claim, expiring after the registration
    // timeout (30 s in the demo config) plus the 15 min margin.
    assert.equal(secrets.length, 1, secrets.map((s) => s.obj.metadata.name).join());
    const s = secrets[0]!;
    assert.equal(field(s, "token-id"), expected.id, "the injected random source made the token");
    assert.equal(field(s, "token-secret"), expected.secret);
    assert.equal(s.obj.metadata.name, `bootstrap-token-${expected.id}`);
    assert.equal(s.obj.metadata.namespace, "kube-system");
    assert.equal(s.obj.type, "bootstrap.kubernetes.io/token");
    assert.equal(s.obj.metadata.labels?.["app.kubernetes.io/managed-by"], "proxscale");
    assert.equal(field(s, "usage-bootstrap-authentication"), "true");
    assert.equal(field(s, "usage-bootstrap-signing"), "true");
    assert.equal(field(s, "auth-extra-groups"), KUBEADM_NODE_GROUP);
    assert.match(field(s, "description"), new RegExp(`NodeClaim ${claim}$`));
    assert.match(field(s, "expiration"), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(liveWhileBooting.has(s.obj.metadata.name!), "the Secret was live while it booted");
    const ttl = Date.parse(field(s, "expiration")) - s.at;
    assert.ok(
      ttl > 30_000 + 15 * 60_000 - 3_000 && ttl <= 30_000 + 15 * 60_000,
      `expires ${ttl} ms after creation`,
    );

    // The seed was attached (slot ide3, named after the claim) with the token and identity.
    const token = formatBootstrapToken(expected);
    const seed = attached.find((a) => a.files.get("user-data")?.includes(token));
    assert.ok(seed, `a seed with the token was attached: ${dump(attached.map((a) => a.volid))}`);
    assert.equal(seed.slot, "ide3");
    assert.equal(seed.volid, `local:iso/proxscale-cidata-${claim}.iso`);
    const meta = parse(seed.files.get("meta-data")!);
    assert.equal(meta["instance-id"], String(seed.vmid));
    assert.equal(meta["local-hostname"], claim);
    assert.equal(meta["provider-id"], `proxmox://demo/${seed.vmid}`);
    const join = parse(parse(seed.files.get("user-data")!).write_files[0].content);
    assert.equal(join.discovery.bootstrapToken.token, token);
    assert.match(join.discovery.bootstrapToken.caCertHashes[0], /^sha256:[0-9a-f]{64}$/);

    // After registration: the Node joined, the ISO is detached and deleted, the Secret gone.
    const node = cluster.kube.store.get("nodes", undefined, claim);
    assert.ok(node.ok, "the node registered");
    const vm = managedVms(cluster).find((v) => v.vmid === seed.vmid);
    assert.equal(vm?.config.ide3, "none,media=cdrom", "cdrom slot emptied");
    assert.deepEqual(seedVolumes(cluster), [], "ISO volume deleted");
    assert.deepEqual(liveTokenSecrets(cluster), [], "token Secret deleted");
    const c = cluster.kube.store.get("nodeclaims.proxscale.io", undefined, claim);
    assert.ok(c.ok);
    assert.equal(c.value.metadata.annotations?.[TOKEN_ID_ANNOTATION], expected.id);
    metricsText = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
    assert.match(metricsText, /proxscale_/);
  } finally {
    await http?.shutdown();
    await cluster.close();
    await queue.close();
    await telemetry.shutdown();
  }

  // Secret hygiene: the token (and its secret half, plain or base64) is in the ISO content and
  // the Secret only. The ISO bytes are left out of the dump; requests that carried the ISO or
  // the Secret are named and left out, all others are searched.
  const token = formatBootstrapToken(expected);
  const forms = [token, expected.secret, btoa(token), btoa(expected.secret)];
  const volumeNames = [...cluster.pve.model.st.volumes.values()].flatMap((m) => [...m.keys()]);
  const kubeObjects: Record<string, string> = {};
  for (const def of cluster.kube.store.resources()) {
    const ref = def.group ? `${def.plural}.${def.group}` : def.plural;
    if (ref === "secrets") continue; // the token Secret itself holds it by design
    const l = cluster.kube.store.list(ref);
    if (l.ok) kubeObjects[ref] = dump(l.value.items);
  }
  const outputs: Record<string, string> = {
    "vm configs while booting": [...configsSeen].join("\n"),
    "vm configs now": dump(cluster.pve.model.st.vms),
    "pve task logs": dump([...cluster.pve.model.st.tasks.values()]),
    "iso volume names": volumeNames.join("\n"),
    "pve requests": dump(cluster.pve.requests.filter((r) => !/\/upload$/.test(r.path))),
    "logs": logs.lines.join("\n"),
    "audit": audit.lines.join("\n"),
    "reports": dump(reports),
    "/metrics": metricsText,
    "events": kubeObjects["events"] ?? "",
    ...Object.fromEntries(Object.entries(kubeObjects).map(([k, v]) => [`kube ${k}`, v])),
    "kube requests": dump(cluster.kube.requests),
  };
  assert.ok(outputs["logs"]!.length > 500, "logs were written");
  assert.ok(outputs["pve task logs"]!.includes("imgcopy"), "the upload task is in the task list");
  assert.ok(outputs["iso volume names"] !== undefined);
  assert.ok(outputs["events"]!.length > 2, "Events were written");
  const leaks: string[] = [];
  for (const [where, text] of Object.entries(outputs)) {
    for (const f of forms) {
      const i = text.indexOf(f);
      if (i >= 0) leaks.push(`${where}: ...${text.slice(Math.max(0, i - 60), i + 30)}`);
    }
  }
  assert.deepEqual(leaks, []);
  // The search finds the token where it is meant to be.
  assert.ok(forms.some((f) => dump(secrets).includes(f)));
});

Deno.test("a failed launch (start task fails) leaves no token Secret and no seed ISO behind", async () => {
  const cluster = await startDemoCluster({ seed: 32 });
  cluster.pve.faults.update({
    taskFailures: [{ type: "qmstart", message: "start failed: injected by the test" }],
  });
  const secrets = watchSecrets(cluster);
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 100 },
  });
  const reports: DecisionReport[] = [];
  try {
    await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    const failed = () =>
      reports.find((d) => d.what === "DeleteClaim" && d.reason.code === "LaunchFailed");
    assert.ok(
      await until(() => failed() !== undefined, 20_000),
      reports.map((r) => `${r.what} ${r.reason.message}`).join("\n"),
    );
    cluster.world.scale("app", 0);
    const quiet = () => {
      const claims = cluster.kube.store.list("nodeclaims.proxscale.io");
      return claims.ok && claims.value.items.length === 0 && managedVms(cluster).length === 0;
    };
    assert.ok(await until(quiet, 15_000), "claims and VMs gone");
    assert.ok(secrets.length >= 1, "a token Secret was made for the launch");
    const uploads = [...cluster.pve.model.st.tasks.values()].filter((t) => t.type === "imgcopy");
    assert.ok(uploads.length >= 1, "a seed ISO was uploaded before the start");
    assert.deepEqual(liveTokenSecrets(cluster), [], "every token Secret deleted");
    assert.deepEqual(seedVolumes(cluster), [], "every seed ISO deleted");
    assert.ok(
      reports.some((d) => d.what === "BootstrapReleased" && /launch failed/.test(d.reason.message)),
    );
    assert.equal(auditVms(cluster).leaked, 0);
    assert.equal(liveNodes(cluster), 0, "nothing joined");
  } finally {
    await cluster.close();
    await queue.close();
  }
});

function liveNodes(cluster: DemoCluster): number {
  const l = cluster.kube.store.list("nodes");
  return l.ok ? l.value.items.length : 0;
}

Deno.test("a VM whose token the cluster refuses never joins; at the registration timeout its ISO and Secret go", async () => {
  const cluster = await startDemoCluster({
    seed: 33,
    bootDelayMs: 200,
    tune: (c) => ({ ...c, settings: { ...c.settings, registrationTimeout: 2_500 } }),
  });
  const secrets = watchSecrets(cluster);
  // The cluster refuses the token: its Secret vanishes right after creation (as if revoked).
  cluster.kube.store.onWrite((def, type, obj) => {
    if (def.kind !== "Secret" || type !== "ADDED") return;
    const name = obj.metadata.name ?? "";
    if (!name.startsWith("bootstrap-token-")) return;
    setTimeout(() => cluster.kube.store.delete("secrets", "kube-system", name, {}), 0);
  });
  const queue = new MemoryJobQueue<JobData>();
  const reports: DecisionReport[] = [];
  try {
    await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    const timedOut = () =>
      reports.find((d) => d.what === "DeleteClaim" && d.reason.code === "RegistrationTimeout");
    assert.ok(
      await until(() => timedOut() !== undefined, 20_000),
      reports.map((r) => `${r.what} ${r.reason.message}`).join("\n"),
    );
    const claim = timedOut()!.nodeclaim!;
    cluster.world.scale("app", 0);
    const gone = () => !cluster.kube.store.get("nodeclaims.proxscale.io", undefined, claim).ok;
    assert.ok(await until(gone, 15_000), "the claim was finalized");
    assert.ok(await until(() => managedVms(cluster).length === 0, 10_000));
    const rec = [...cluster.world.vms.values()].find((v) => v.claim === claim);
    assert.ok((rec?.refused ?? 0) > 0, "the VM booted and its join was refused");
    assert.ok(secrets.some((s) => field(s, "description").endsWith(claim)));
    assert.equal(liveNodes(cluster), 0, "no node joined without an accepted token");
    // A claim launched for the pod meanwhile (before the scale-down) is finalized the same way:
    // its ISO goes right after its VM.
    await until(() => seedVolumes(cluster).length === 0, 10_000);
    assert.deepEqual(seedVolumes(cluster), [], "its seed ISO deleted");
    assert.ok(
      reports.some((d) =>
        d.what === "BootstrapReleased" && d.nodeclaim === claim &&
        /NodeClaim ended/.test(d.reason.message)
      ),
      reports.filter((d) => d.what.startsWith("Bootstrap")).map((d) => d.reason.message).join(
        "\n",
      ),
    );
  } finally {
    await cluster.close();
    await queue.close();
  }
});

for (const point of ["after-clone", "after-start"] as const) {
  Deno.test(`killed ${point}: the restarted daemon joins the node and leaves no token or ISO`, async () => {
    const cluster = await startDemoCluster({ seed: 35, bootDelayMs: 300 });
    const secrets = watchSecrets(cluster);
    const queues = [new MemoryJobQueue<JobData>(), new MemoryJobQueue<JobData>()];
    const reports: DecisionReport[] = [];
    try {
      const first = await cluster.spawn({ queue: queues[0]!, crashAt: point, tickMs: 300 });
      cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
      const crashed = await Promise.race([
        first.crashed,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
      ]);
      assert.equal(crashed, point);
      await cluster.spawn({ queue: queues[1]!, report: (d) => reports.push(d), tickMs: 300 });
      const joined = () =>
        liveNodes(cluster) === 1 && liveTokenSecrets(cluster).length === 0 &&
        seedVolumes(cluster).length === 0;
      assert.ok(
        await until(joined, 20_000),
        `${liveNodes(cluster)} nodes, Secrets ${liveTokenSecrets(cluster)}, ISOs ${
          seedVolumes(cluster)
        }\n${reports.map((r) => `${r.what} ${r.reason.message}`).join("\n")}`,
      );
      assert.ok(secrets.length >= 1);
      assert.equal(auditVms(cluster).leaked, 0);
      assert.equal(managedVms(cluster).length, 1);
    } finally {
      await cluster.close();
      for (const q of queues) await q.close();
    }
  });
}

Deno.test("without Datastore.Allocate the ISO stays (reported), but the token Secret goes and the claim still ends", async () => {
  const cluster = await startDemoCluster({ seed: 36, bootDelayMs: 200 });
  // The operations guide's role before it named Datastore.Allocate: upload yes, delete no.
  cluster.pve.auth.addToken({
    id: cluster.pve.tokenId,
    secret: cluster.pve.tokenSecret,
    acls: [{
      path: "/",
      privs: [
        "VM.Audit",
        "VM.Clone",
        "VM.Allocate",
        "VM.Config.CPU",
        "VM.Config.Memory",
        "VM.Config.Disk",
        "VM.Config.Network",
        "VM.Config.Options",
        "VM.Config.Cloudinit",
        "VM.Config.CDROM",
        "VM.PowerMgmt",
        "Datastore.Audit",
        "Datastore.AllocateSpace",
        "Datastore.AllocateTemplate",
        "Sys.Audit",
        "SDN.Use",
        "Pool.Audit",
        "Pool.Allocate",
      ],
    }],
  });
  const queue = new MemoryJobQueue<JobData>({
    retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 100 },
  });
  const reports: DecisionReport[] = [];
  try {
    await cluster.spawn({ queue, report: (d) => reports.push(d), tickMs: 300 });
    cluster.world.deploy({ name: "app", replicas: 1, cpu: 500, memory: 256 * MiB });
    const joinedAndTokenGone = () =>
      liveNodes(cluster) === 1 && reports.some((d) => d.what === "BootstrapPrepared") &&
      liveTokenSecrets(cluster).length === 0;
    assert.ok(
      await until(joinedAndTokenGone, 20_000),
      reports.map((r) => `${r.what} ${r.reason.message}`).join("\n"),
    );
    assert.equal(seedVolumes(cluster).length, 1, "the ISO could not be deleted");
    cluster.world.scale("app", 0);
    const ended = () => {
      const claims = cluster.kube.store.list("nodeclaims.proxscale.io");
      return claims.ok && claims.value.items.length === 0 && managedVms(cluster).length === 0;
    };
    assert.ok(await until(ended, 20_000), "the claim ended although its ISO could not go");
    const failed = reports.find((d) => d.what === "BootstrapReleaseFailed");
    assert.ok(failed, reports.map((r) => `${r.what} ${r.reason.message}`).join("\n"));
    assert.match(failed.reason.message, /Datastore\.Allocate/);
    assert.deepEqual(liveTokenSecrets(cluster), []);
  } finally {
    await cluster.close();
    await queue.close();
  }
});
