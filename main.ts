/**
 * proxscale CLI entry: picks a subcommand, runs it, and owns the process exit code.
 * Commands load lazily so that `proxscale validate` does not pay for the Kubernetes client.
 * This is the only file that may exit the process.
 */
import { type Command, processIo } from "./cli/command.ts";

type Entry = { summary: string; load: () => Promise<Command> };

/** Every subcommand, in the order `--help` lists them. */
export const COMMANDS: Record<string, Entry> = {
  validate: {
    summary: "check a configuration file; errors name file:line:column",
    load: async () => (await import("./cli/validate.ts")).validateCommand,
  },
  plan: {
    summary: "show which VMs proxscale would launch for a cluster snapshot",
    load: async () => (await import("./cli/plan.ts")).planCommand,
  },
  migrate: {
    summary: "write CRD manifests from a YAML config (proxscale or KubeNodeSmith v0)",
    load: async () => (await import("./cli/migrate.ts")).migrateCommand,
  },
  bootstrap: {
    summary: "preview the bootstrap data (user-data, meta-data, network-config, ISO) of a pool",
    load: async () => (await import("./cli/bootstrap.ts")).bootstrapCommand,
  },
  "fake-pve": {
    summary: "run a fake Proxmox VE 8 API server (HTTPS) for tests and demos",
    load: async () => (await import("./cli/fake_pve.ts")).fakePveCommand,
  },
  "fake-kube": {
    summary: "run a fake Kubernetes API server (v1.32 subset) and write a kubeconfig for it",
    load: async () => (await import("./cli/fake_kube.ts")).fakeKubeCommand,
  },
  "fake-cluster": {
    summary:
      "run a fake Kubernetes-on-Proxmox cluster (API server, PVE, scheduler, controllers, kubelets)",
    load: async () => (await import("./cli/fake_cluster.ts")).fakeClusterCommand,
  },
  sim: {
    summary: "replay a workload trace through proxscale and baseline autoscalers; plan capacity",
    load: async () => (await import("./cli/sim.ts")).simCommand,
  },
  record: {
    summary: "record a live cluster's pods as a proxscale trace for 'proxscale sim'",
    load: async () => (await import("./cli/record.ts")).recordCommand,
  },
  manifests: {
    summary: "print the Kubernetes manifests (RBAC, Deployment, PDB, Service, NetworkPolicy)",
    load: async () => (await import("./cli/manifests.ts")).manifestsCommand,
  },
  run: {
    summary: "run the autoscaler daemon (observe, decide, act); --pause to only decide",
    load: async () => (await import("./cli/run.ts")).runCommand,
  },
  demo: {
    summary: "watch proxscale scale a simulated Proxmox cluster (no cluster or Proxmox needed)",
    load: async () => (await import("./cli/demo.ts")).demoCommand,
  },
  status: {
    summary: "show pools, NodeClaims, jobs and the last decisions of a running proxscale",
    load: async () => (await import("./cli/status.ts")).statusCommand,
  },
  diagnose: {
    summary: "check PVE reachability, token rights, templates, storages, VMIDs and Kubernetes RBAC",
    load: async () => (await import("./cli/diagnose.ts")).diagnoseCommand,
  },
  pause: {
    summary: "maintenance mode: proxscale decides and reports but does not act",
    load: async () => (await import("./cli/pause.ts")).pauseCommand,
  },
  resume: {
    summary: "leave maintenance mode",
    load: async () => (await import("./cli/pause.ts")).resumeCommand,
  },
};

export function helpText(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([name, e]) =>
    `  ${name.padEnd(width)}  ${e.summary}`
  );
  return [
    "proxscale: a Kubernetes node autoscaler for Proxmox VE virtual machines",
    "",
    "usage: proxscale <command> [options]",
    "",
    "commands:",
    ...lines,
    "",
    "Run `proxscale <command> --help` for a command's options.",
  ].join("\n");
}

export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    processIo.out(helpText());
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    processIo.err(`proxscale: unknown command "${name}"\n\n${helpText()}`);
    return 2;
  }
  const command = await entry.load();
  return await command.run(rest, processIo);
}

if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (e) {
    // A bug, not an expected failure: say so in one line, keep the stack for debugging.
    console.error(`proxscale: internal error: ${e instanceof Error ? e.message : String(e)}`);
    if (Deno.env.get("PROXSCALE_DEBUG")) console.error(e);
    Deno.exitCode = 1;
  }
}
