/**
 * The memory probe of the real daemon process (`memory_probe.ts --process`): `main.ts run` as
 * the shipped binary runs it (the compile task's V8 flags and permissions, leader election, its
 * HTTP port) against the same fakes and managed inventory as the in-process probe, with the
 * configuration read from a YAML file by the daemon itself and `--pause` so nothing is written.
 * Its resident set is read from the outside (/proc/PID/status) after its own passes, counted on
 * its /metrics. This is the figure a user's `kubectl top pod` would show, so it checks that the
 * in-process probe (which builds the daemon from the modules `run` loads) does not flatter it.
 *
 * PROBE_PASSES sets the passes (default 5). PROBE_DEBUG=1 keeps the daemon's stdout and last
 * /metrics in /tmp/probe_process_*.txt, =smaps copies its /proc smaps there, =heap writes a heap
 * snapshot of its main isolate (through an inspector, which itself adds memory), =gc reads the
 * RSS again after a full GC. PROBE_V8=,--flag appends V8 flags to the shipped ones. PROBE_GLIBC
 * passes GLIBC_TUNABLES to the daemon (to measure an allocator setting).
 *
 * May import: core/, adapters/, harness/.
 */
import { parseConfigText } from "../adapters/config/load.ts";
import { hostNames, VMID_BASE } from "./memory_probe_inventory.ts";
import { shippedFlags } from "./shipped_flags.ts";
import {
  parsePrometheus,
  type Sample,
  sampleValue,
} from "../adapters/telemetry/testing/prometheus_text.ts";

/** What the probe read from the process and its /metrics. */
export type ProcessProbeResult = {
  /** VmRSS of the daemon process after `passes` passes. */
  rssBytes: number;
  /** Of which anonymous (heaps, stacks) and file-backed (the executable's pages). */
  rssAnonBytes: number;
  rssFileBytes: number;
  /** Passes the daemon counted (proxscale_reconcile_duration_seconds_count). */
  passes: number;
  /** proxscale_leader: the daemon held its Lease (its front door's worker renews it). */
  leader: boolean;
  /** Nodes the daemon counted in its pool (proxscale_nodes). */
  nodes: number;
  /** The daemon's command line after `deno`. */
  argv: string[];
};

/** The probe's configuration file: the demo's pool and template, sized for `nodes` VMs. */
export function probeConfigYaml(
  pve: { url: string; tokenId: string; fingerprint: string },
  nodes: number,
): string {
  const hosts = hostNames(nodes);
  return `
providers:
  - name: demo
    spec:
      endpoint: ${pve.url}
      tokenId: "${pve.tokenId}"
      tokenSecret: { env: PROXSCALE_DEMO_TOKEN }
      tls: { fingerprint: "${pve.fingerprint}" }
      hosts:
${
    hosts.map((h) => `        - { name: ${h}, zone: ${h}, reserved: { cpu: "1", memory: 2Gi } }`)
      .join("\n")
  }
      vmidRange: { lower: ${VMID_BASE}, upper: ${VMID_BASE + 2 * nodes + 999} }
      managedTag: proxscale
machineTemplates:
  - name: worker
    spec:
      provider: demo
      shapes: [{ cpu: 2, memory: 4Gi }, { cpu: 4, memory: 8Gi }]
      vmMemOverheadMiB: 256
      reserved: { cpu: 100m, memory: 256Mi }
      tags: [k8s]
      source:
        clone:
          full: false
          perHost: { ${hosts.map((h, i) => `${h}: ${9000 + i}`).join(", ")} }
      bootstrap: { mode: none }
nodePools:
  - name: general
    spec:
      machineTemplate: worker
      labels: { team: demo }
      limits: { nodes: ${2 * nodes} }
      scaleUp: { batchSize: 20, stabilizationWindow: 0s, maxConcurrent: 20 }
      scaleDown: { maxConcurrent: 5, drainTimeout: 20s, stabilizationWindow: 1s }
      disruption:
        consolidationPolicy: WhenEmptyOrUnderutilized
        consolidateAfter: 2s
        budgets: [{ nodes: "100%" }]
settings:
  cost: { perVcpuHour: 0.02, perGiBHour: 0.0025 }
  batchIdle: 300ms
  batchMax: 2s
`;
}

/** Whole passes the daemon has counted on its /metrics. */
function passesIn(samples: readonly Sample[]): number {
  return sampleValue(samples, "proxscale_reconcile_duration_seconds_count", { phase: "total" }) ??
    0;
}

/** Runs the daemon process over `nodes` claims and `pods` pods until it has made `passes` passes. */
export async function runProcessProbe(
  nodes: number,
  pods: number,
  passes = 5,
): Promise<ProcessProbeResult> {
  const { startProbeFakes } = await import("./memory_probe_fakes.ts");
  const fakes = await startProbeFakes(nodes, pods);
  const { kube, pve } = fakes;
  const dir = await Deno.makeTempDir({ prefix: "proxscale-memory-probe-" });
  let child: Deno.ChildProcess | undefined;
  try {
    const yaml = probeConfigYaml(pve, nodes);
    // The inventory is filled from the configuration as the daemon will read it, so that the
    // claims' template hashes are the daemon's own (no claim looks drifted).
    const parsed = parseConfigText(yaml, `${dir}/config.yaml`);
    if (!parsed.ok) throw new Error(`probe config: ${JSON.stringify(parsed.error)}`);
    fakes.fill(parsed.value);
    await Deno.writeTextFile(`${dir}/config.yaml`, yaml);
    await Deno.writeTextFile(`${dir}/kubeconfig`, kube.kubeconfig());
    const debug = Deno.env.get("PROBE_DEBUG");
    const heapDump = debug === "heap" || debug === "gc";
    const argv = [
      "run",
      // PROBE_V8=,--flag appends a candidate V8 flag to the shipped ones (as the other probe).
      ...(await shippedFlags()).map((f) =>
        f.startsWith("--v8-flags=") ? f + (Deno.env.get("PROBE_V8") ?? "") : f
      ),
      // PROBE_DEBUG=heap: an inspector, to write a heap snapshot of the main isolate.
      ...(heapDump ? ["--inspect=127.0.0.1:0"] : []),
      new URL("../main.ts", import.meta.url).pathname,
      "run",
      `--config=${dir}/config.yaml`,
      `--kubeconfig=${dir}/kubeconfig`,
      "--namespace=default",
      "--leader-elect",
      "--http-port=0",
      "--pause",
    ];
    child = new Deno.Command(Deno.execPath(), {
      args: argv,
      // The compile task's --allow-env names PROXSCALE_*; the token is read from this one.
      env: {
        PROXSCALE_DEMO_TOKEN: pve.tokenSecret,
        ...(Deno.env.get("PROBE_GLIBC") ? { GLIBC_TUNABLES: Deno.env.get("PROBE_GLIBC")! } : {}),
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let out = "";
    let outBytes = 0;
    let errText = "";
    void child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({
        write: (t) => {
          outBytes += t.length;
          out = (out + t).slice(-200_000);
        },
      }),
    );
    void child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (t) => void (errText = (errText + t).slice(-20_000)) }),
    );
    const deadline = Date.now() + 60_000 + passes * 10_000;
    const wait = async (what: string, cond: () => Promise<boolean> | boolean, everyMs: number) => {
      while (!(await cond())) {
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what}; stderr: ${errText.slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, everyMs));
      }
    };
    await wait("the daemon to listen", () => /"http_port":\d+/.test(out), 100);
    const port = Number(/"http_port":(\d+)/.exec(out)![1]);
    let body = "";
    let samples: Sample[] = [];
    await wait(`${passes} passes`, async () => {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
      body = r ? await r.text() : "";
      samples = parsePrometheus(body);
      return passesIn(samples) >= passes;
    }, 1000); // a scrape a second: more often than Prometheus, not a load of its own
    if (debug) {
      await Deno.writeTextFile("/tmp/probe_process_stdout.txt", out);
      await Deno.writeTextFile("/tmp/probe_process_metrics.txt", body);
      console.error(`daemon stdout ${outBytes} characters; /metrics ${body.length} bytes`);
    }
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
    if (debug === "smaps") {
      await Deno.copyFile(`/proc/${child.pid}/smaps`, "/tmp/probe_process_smaps.txt");
    }
    if (debug === "heap") await writeHeapSnapshot(errText, "/tmp/probe_process.heapsnapshot");
    if (debug === "gc") {
      await inspectorCall(errText, "HeapProfiler.collectGarbage");
      await new Promise((r) => setTimeout(r, 1000));
      const after = await Deno.readTextFile(`/proc/${child.pid}/status`);
      console.error("after a full GC:", /VmRSS:.*/.exec(after)?.[0], /RssAnon:.*/.exec(after)?.[0]);
    }
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return {
      rssBytes: kb("VmRSS"),
      rssAnonBytes: kb("RssAnon"),
      rssFileBytes: kb("RssFile"),
      passes: passesIn(samples),
      leader: sampleValue(samples, "proxscale_leader") === 1,
      nodes: samples.filter((x) => x.name === "proxscale_nodes").reduce((n, x) => n + x.value, 0),
      argv,
    };
  } finally {
    if (child) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child!.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 20_000);
      await child.status;
      clearTimeout(timer);
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await fakes.close();
  }
}

/**
 * Calls one method of the inspector the process announced on stderr; `onEvent` sees the
 * notifications that come before the answer (heap snapshot chunks).
 */
async function inspectorCall(
  stderr: string,
  method: string,
  onEvent: (m: { method?: string; params?: { chunk?: string } }) => void = () => {},
): Promise<void> {
  const url = /ws:\/\/[^\s]+/.exec(stderr)?.[0];
  if (!url) throw new Error("no inspector address on the daemon's stderr");
  const ws = new WebSocket(url);
  await new Promise((r) => ws.onopen = r);
  const done = Promise.withResolvers<void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data));
    if (m.id === 1) done.resolve();
    else onEvent(m);
  };
  ws.send(JSON.stringify({ id: 1, method, params: {} }));
  await done.promise;
  ws.close();
}

/** Takes a heap snapshot of the process's main isolate into `file`. */
async function writeHeapSnapshot(stderr: string, file: string): Promise<void> {
  const chunks: string[] = [];
  await inspectorCall(stderr, "HeapProfiler.takeHeapSnapshot", (m) => {
    if (m.method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(m.params?.chunk ?? "");
  });
  await Deno.writeTextFile(file, chunks.join(""));
  console.error(`heap snapshot ${file}`);
}
