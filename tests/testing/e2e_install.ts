/**
 * Shared by the install tests (e2e_install_*_test.ts), which start proxscale from the shipped
 * artifacts and assert only from the outside: the real `proxscale fake-cluster` process, kubectl
 * against it, the daemon started as a process from the command line an artifact gives, the PVE
 * inventory read over the PVE API, and the scale-up/scale-down scenario with its figures.
 *
 * May import: adapters/, tests/.
 */
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { PveClient } from "../../adapters/proxmox/client.ts";
import { kubectl, kubectlEnv, type KubectlRun, runCommand } from "./kubectl.ts";

/** The repository root (a path ending in "/"). */
export const ROOT = new URL("../..", import.meta.url).pathname;

/** A process with its stdout and stderr collected. */
export type Proc = {
  child: Deno.ChildProcess;
  output: () => string;
  name: string;
  /** Whether the process has exited. */
  exited: () => boolean;
};

/** The environment the Deno runtime itself needs to find its module cache (not the daemon's). */
function runtimeEnv(): Record<string, string> {
  const out: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ["HOME", "DENO_DIR", "PATH", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Starts `proxscale ARGS` (the entrypoint of the image and of the systemd unit is the binary;
 * here it is `deno run main.ts`). `env` replaces the environment, as a container's or a unit's
 * does; only what the runtime needs to find its cache is added.
 */
export function spawnProxscale(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
): Proc {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--frozen", `${ROOT}main.ts`, ...args],
    cwd,
    clearEnv: true,
    env: { ...runtimeEnv(), ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  void pump(child.stdout);
  void pump(child.stderr);
  let done = false;
  void child.status.then(() => done = true);
  return { child, output: () => text, name, exited: () => done };
}

/** Runs `proxscale ARGS` to the end; its exit code, stdout and stderr apart. */
export async function proxscaleOutput(
  args: string[],
): Promise<KubectlRun> {
  return await runCommand(
    Deno.execPath(),
    ["run", "-A", "--frozen", `${ROOT}main.ts`, ...args],
    runtimeEnv(),
    undefined,
    ROOT,
  );
}

/** Sends `signal` (if still running) and waits for the exit. */
export async function stopProc(
  p: Proc,
  signal: Deno.Signal = "SIGTERM",
): Promise<Deno.CommandStatus> {
  try {
    p.child.kill(signal);
  } catch { /* already gone */ }
  return await p.child.status;
}

export { kubectl, kubectlEnv } from "./kubectl.ts";

/** Runs `sh -ec SCRIPT` in `cwd` with `env` (a pasted doc sequence). */
export async function sh(
  env: Record<string, string>,
  script: string,
  cwd: string,
): Promise<KubectlRun> {
  return await runCommand("sh", ["-ec", script], env, undefined, cwd);
}

/** Thrown from a probe of `eventually` to stop waiting at once (a process died). */
export class Fatal extends Error {}

/** Polls `probe` every 250 ms until it answers something; throws naming `what` after `ms`. */
export async function eventually<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof Fatal) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** A port nothing listens on right now. */
export function freePort(): number {
  const l = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The running `proxscale fake-cluster` process and what it printed and wrote. */
export type FakeClusterProc = {
  proc: Proc;
  dir: string;
  /** kubectl's environment (admin kubeconfig, private cache). */
  env: Record<string, string>;
  kubeconfig: string;
  /** The config --write-config wrote (token in `${configFile}.pve-token`). */
  configFile: string;
  apiHost: string;
  apiPort: number;
  caPem: string;
  pve: PveClient;
  close(): Promise<void>;
};

/** Starts `proxscale fake-cluster --hosts 3` with a 1 s boot delay, in a fresh temp dir. */
export async function startFakeClusterProcess(seed: number): Promise<FakeClusterProc> {
  const dir = await Deno.makeTempDir({ prefix: "proxscale-install-" });
  const kubeconfig = `${dir}/kubeconfig`;
  const configFile = `${dir}/fake-config.yaml`;
  const env = kubectlEnv(kubeconfig, dir);
  const proc = spawnProxscale("fake-cluster", [
    "fake-cluster",
    "--hosts=3",
    "--port=0",
    "--pve-port=0",
    `--kubeconfig=${kubeconfig}`,
    `--write-config=${configFile}`,
    "--boot-delay=1",
    `--seed=${seed}`,
  ]);
  const out = await eventually("fake-cluster to print its URLs", 60_000, () => {
    if (proc.output().includes("try:")) return proc.output();
    if (proc.exited()) throw new Fatal(proc.output());
  });
  const api = /kubernetes: +https:\/\/([\d.]+):(\d+)/.exec(out)!;
  const pveUrl = /proxmox: +(https:\/\/\S+)/.exec(out)![1]!;
  const fingerprint = /fingerprint: +(\S+)/.exec(out)![1]!;
  const token = /pve token: +([^=\s]+)=(\S+)/.exec(out)!;
  const pve = new PveClient({
    endpoint: pveUrl,
    tokenId: token[1]!,
    tokenSecret: token[2]!,
    tls: { fingerprint },
    retry: { attempts: 2, baseMs: 100, maxMs: 500 },
  });
  await eventually("kubectl to reach the API server", 20_000, async () => {
    const r = await kubectl(env, ["get", "ns", "default"]);
    return r.code === 0 ? true : undefined;
  });
  return {
    proc,
    dir,
    env,
    kubeconfig,
    configFile,
    apiHost: api[1]!,
    apiPort: Number(api[2]),
    caPem: await Deno.readTextFile(`${configFile}.ca.crt`),
    pve,
    async close() {
      pve.close();
      const s = await stopProc(proc);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      assert.ok(s.code === 0 || s.signal === "SIGTERM", proc.output());
    },
  };
}

type ConfigDoc = {
  providers: { spec: Record<string, unknown> }[];
  machineTemplates: { spec: { bootstrap: Record<string, unknown> } }[];
  nodePools: { spec: Record<string, unknown> }[];
  settings?: Record<string, unknown>;
};

/**
 * The config fake-cluster wrote, tuned for a CI-sized run; the tuning is the test's, not the
 * install's: scale-down waits (stabilization 30 s, consolidateAfter 30 s) and the batch window
 * shrink to seconds so the 0 -> 30 -> 0 scenario ends in well under a minute, and the orphan
 * grace period is short so a VM left by a killed leader is collected during the run. `edit`
 * then changes what the start path needs (where the PVE token and the cluster CA come from).
 */
export function tunedConfig(text: string, edit: (doc: ConfigDoc) => void): string {
  const doc = parse(text) as ConfigDoc;
  for (const p of doc.nodePools) {
    p.spec.scaleUp = { batchSize: 20, stabilizationWindow: "0s", maxConcurrent: 20 };
    p.spec.scaleDown = { maxConcurrent: 10, drainTimeout: "20s", stabilizationWindow: "1s" };
    p.spec.disruption = {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "2s",
      budgets: [{ nodes: "100%" }],
    };
  }
  doc.settings = { batchIdle: "300ms", batchMax: "2s", orphanGracePeriod: "2s" };
  edit(doc);
  return stringify(doc);
}

/** What the PVE API lists: every non-template VM with the claim its description names. */
export type PveInventory = {
  vms: { vmid: number; node: string; claim?: string }[];
  /** Seed ISOs (proxscale-cidata-*.iso) on any host's `local` storage. */
  seedIsos: string[];
};

/** Reads every VM and seed ISO over the PVE API (every VM counts, tagged or not). */
export async function pveInventory(pve: PveClient): Promise<PveInventory> {
  const all = await pve.resourcesVm();
  assert.ok(all.ok, all.ok ? "" : JSON.stringify(all.error));
  const vms: PveInventory["vms"] = [];
  for (const v of all.value) {
    if (v.template) continue;
    const conf = await pve.vmConfig(v.node, v.vmid);
    // A VM deleted between the list and the read is gone: not counted.
    if (!conf.ok) continue;
    const claim = /^\s*proxscale\.io\/nodeclaim=(\S+)\s*$/m.exec(conf.value.description ?? "")?.[1];
    vms.push({ vmid: v.vmid, node: v.node, ...(claim ? { claim } : {}) });
  }
  const seedIsos: string[] = [];
  const nodes = await pve.nodes();
  assert.ok(nodes.ok);
  for (const n of nodes.value) {
    const c = await pve.storageContent(n.node, "local", "iso");
    if (!c.ok) continue;
    for (const e of c.value) if (/proxscale-cidata-/.test(e.volid)) seedIsos.push(e.volid);
  }
  return { vms, seedIsos };
}

/** Claims named by more than one VM. */
export function duplicateClaims(inv: PveInventory): string[] {
  const count = new Map<string, number>();
  for (const v of inv.vms) if (v.claim) count.set(v.claim, (count.get(v.claim) ?? 0) + 1);
  return [...count].filter(([, n]) => n > 1).map(([c]) => c);
}

/** A daemon replica: its process and HTTP port. */
export type Replica = { proc: Proc; port: number; identity: string };

/** Waits until the replica answers 200 on /readyz. */
export async function readyz(r: Replica, ms = 60_000): Promise<void> {
  await eventually(`${r.identity} /readyz`, ms, async () => {
    if (r.proc.exited()) throw new Fatal(`${r.identity} exited:\n${r.proc.output()}`);
    const res = await fetch(`http://127.0.0.1:${r.port}/readyz`).catch(() => undefined);
    await res?.body?.cancel();
    return res?.status === 200 ? true : undefined;
  });
}

/** The holder of the Lease, read with kubectl. */
export async function leaseHolder(fc: FakeClusterProc): Promise<string> {
  const r = await kubectl(fc.env, [
    "-n",
    "proxscale-system",
    "get",
    "lease",
    "proxscale-leader",
    "-o",
    "jsonpath={.spec.holderIdentity}",
  ]);
  return r.code === 0 ? r.stdout.trim() : "";
}

/** Replaces the value of `--name=...` (which must be there) in `argv`. */
export function withOption(argv: string[], name: string, value: string): string[] {
  const i = argv.findIndex((a) => a.startsWith(`--${name}=`));
  assert.ok(i >= 0, `--${name}= in ${argv.join(" ")}`);
  return argv.map((a, j) => (j === i ? `--${name}=${value}` : a));
}

/** The replica's `proxscale_leader` gauge from its /metrics (1 while it holds the Lease). */
export async function leaderGauge(r: Replica): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${r.port}/metrics`);
  const text = await res.text();
  const m = /^proxscale_leader(?:\{[^}]*\})? ([0-9.]+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}
