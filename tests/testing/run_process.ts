/**
 * Shared by the suites that run the real `proxscale run` process against the fake cluster
 * (harness/cluster.ts startDemoCluster): the demo cluster without node bootstrap, a YAML
 * configuration for it, the process with its stdout collected and its HTTP port, and a poll.
 */
import { type DemoCluster, startDemoCluster } from "../../harness/cluster.ts";

/** The demo cluster, its templates without node bootstrap (the world boots VMs as they are). */
export function startPlainCluster(seed: number): Promise<DemoCluster> {
  return startDemoCluster({
    seed,
    // Without a seed there is no join token to check: kubelets register as the VM boots.
    requireSeed: false,
    tune: (c) => ({
      ...c,
      machineTemplates: c.machineTemplates.map((t) => ({
        ...t,
        bootstrap: { ...t.bootstrap, mode: "none" as const },
      })),
    }),
  });
}

/** A configuration file for `cluster`: its provider, one template, pool `general`. */
export function yamlConfig(c: DemoCluster): string {
  const hosts = c.pve.model.nodes().map((n) => String(n.node)).sort();
  const p = c.config.providers[0]!;
  return `
providers:
  - name: ${p.name}
    spec:
      endpoint: ${c.pve.url}
      tokenId: "${c.pve.tokenId}"
      tokenSecret: { env: PROXSCALE_PVE_TOKEN }
      tls: { fingerprint: "${c.pve.fingerprint}" }
      hosts:
${
    hosts.map((h) => `        - { name: ${h}, zone: ${h}, reserved: { cpu: "1", memory: 2Gi } }`)
      .join("\n")
  }
      vmidRange: { lower: 1000, upper: 1999 }
      managedTag: ${p.managedTag}
machineTemplates:
  - name: worker
    spec:
      provider: ${p.name}
      shapes: [{ cpu: 2, memory: 4Gi }, { cpu: 4, memory: 8Gi }]
      vmMemOverheadMiB: 256
      reserved: { cpu: 100m, memory: 256Mi }
      source:
        clone:
          full: false
          perHost: { ${hosts.map((h, i) => `${h}: ${9000 + i}`).join(", ")} }
      bootstrap: { mode: none }
nodePools:
  - name: general
    spec:
      machineTemplate: worker
      limits: { nodes: 20 }
      scaleUp: { batchSize: 20, stabilizationWindow: 0s, maxConcurrent: 20 }
      scaleDown: { maxConcurrent: 5, drainTimeout: 20s, stabilizationWindow: 1s }
      disruption:
        consolidationPolicy: WhenEmptyOrUnderutilized
        consolidateAfter: 2s
        budgets: [{ nodes: "100%" }]
settings:
  batchIdle: 300ms
  batchMax: 2s
  orphanGracePeriod: 1s
`;
}

/** Polls `cond` every 100 ms; throws naming `what` after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A running `proxscale run` process. */
export type RunProcess = {
  /** Port of /metrics, /healthz, /readyz. */
  port: number;
  /** Everything it wrote to stdout so far (JSON log and audit lines). */
  stdout(): string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number>;
  /** SIGKILL (no shutdown at all) and wait until it is gone. */
  kill(): Promise<void>;
};

/**
 * Writes the configuration and kubeconfig into `dir` and starts the daemon on a free port;
 * `extraArgs` are appended to `proxscale run`'s arguments.
 */
export async function startRunProcess(
  c: DemoCluster,
  dir: string,
  extraArgs: string[] = [],
  configText: string = yamlConfig(c),
): Promise<RunProcess> {
  await Deno.writeTextFile(`${dir}/config.yaml`, configText);
  await Deno.writeTextFile(`${dir}/kubeconfig`, c.kube.kubeconfig());
  c.kube.store.peek("namespaces", undefined, "proxscale-system") ??
    c.kube.store.create("namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "proxscale-system" },
    });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../main.ts", import.meta.url).pathname,
      "run",
      `--config=${dir}/config.yaml`,
      `--kubeconfig=${dir}/kubeconfig`,
      "--http-port=0",
      ...extraArgs,
    ],
    env: { PROXSCALE_PVE_TOKEN: c.pve.tokenSecret },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let errText = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const errReader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const drained = Promise.all([
    (async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        out += r.value;
      }
    })(),
    (async () => {
      for (;;) {
        const r = await errReader.read();
        if (r.done) break;
        errText += r.value;
      }
    })(),
  ]);
  let stopped: Promise<number> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      // A daemon that does not finish its shutdown in 20 s is killed, so a test never hangs.
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 20_000);
      const s = await child.status;
      clearTimeout(timer);
      await drained;
      return s.code;
    })();
  try {
    await until(() => /"http_port":\d+/.test(out), 30_000, "the daemon to listen");
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}; stderr: ${errText.slice(-2000)}`);
  }
  return {
    port: Number(/"http_port":(\d+)/.exec(out)![1]),
    stdout: () => out,
    stderr: () => errText,
    stop,
    kill: async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await drained;
    },
  };
}
