/**
 * proxscale CLI entry: picks a subcommand, runs it, and owns the process: its exit code and,
 * for the commands that run until stopped, SIGINT and SIGTERM (the first one asks the command
 * to stop gracefully; a second one, with the listeners gone, ends the process the default way).
 * Commands load lazily so that `proxscale validate` does not pay for the Kubernetes client.
 * This is the only file that may exit the process.
 */
import { type Command, processIo } from "./cli/command.ts";
import { COMMAND_SUMMARIES, type CommandName } from "./cli/summaries.ts";
import { FRONT_DOOR_WORKER_NAME } from "./daemon/front_door_protocol.ts";

type Entry = {
  load: () => Promise<Command>;
  /**
   * Runs until stopped (with these arguments): main.ts turns the first SIGINT or SIGTERM into
   * its stop. Other commands keep the default action of a signal.
   */
  untilStopped?: (args: string[]) => boolean;
};

const always = () => true;

/** Every subcommand, in the order `--help` lists them; summaries are in cli/summaries.ts. */
export const COMMANDS: Record<CommandName, Entry> = {
  validate: {
    load: async () => (await import("./cli/validate.ts")).validateCommand,
  },
  plan: {
    load: async () => (await import("./cli/plan.ts")).planCommand,
  },
  migrate: {
    load: async () => (await import("./cli/migrate.ts")).migrateCommand,
  },
  bootstrap: {
    load: async () => (await import("./cli/bootstrap.ts")).bootstrapCommand,
  },
  "fake-pve": {
    untilStopped: always,
    load: async () => (await import("./cli/fake_pve.ts")).fakePveCommand,
  },
  "fake-redfish": {
    untilStopped: always,
    load: async () => (await import("./cli/fake_redfish.ts")).fakeRedfishCommand,
  },
  "fake-kube": {
    untilStopped: always,
    load: async () => (await import("./cli/fake_kube.ts")).fakeKubeCommand,
  },
  "fake-cluster": {
    untilStopped: always,
    load: async () => (await import("./cli/fake_cluster.ts")).fakeClusterCommand,
  },
  sim: {
    untilStopped: (args) => args[0] === "worker",
    load: async () => (await import("./cli/sim.ts")).simCommand,
  },
  record: {
    untilStopped: always,
    load: async () => (await import("./cli/record.ts")).recordCommand,
  },
  manifests: {
    load: async () => (await import("./cli/manifests.ts")).manifestsCommand,
  },
  run: {
    untilStopped: always,
    load: async () => (await import("./cli/run.ts")).runCommand,
  },
  demo: {
    load: async () => (await import("./cli/demo.ts")).demoCommand,
  },
  status: {
    load: async () => (await import("./cli/status.ts")).statusCommand,
  },
  diagnose: {
    load: async () => (await import("./cli/diagnose.ts")).diagnoseCommand,
  },
  pause: {
    load: async () => (await import("./cli/pause.ts")).pauseCommand,
  },
  resume: {
    load: async () => (await import("./cli/pause.ts")).resumeCommand,
  },
  host: {
    load: async () => (await import("./cli/host.ts")).hostCommand,
  },
  pool: {
    load: async () => (await import("./cli/pool.ts")).poolCommand,
  },
};

/** `proxscale --help`: every command with its summary. */
export function helpText(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const width = Math.max(...names.map((k) => k.length));
  const lines = names.map((name) => `  ${name.padEnd(width)}  ${COMMAND_SUMMARIES[name]}`);
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

/**
 * Listens for SIGINT and SIGTERM until disposed; the first one aborts the signal and removes
 * the listeners, so that a second one ends the process the default way.
 */
export function stopOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const stop = new AbortController();
  const dispose = () => {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  };
  const onSignal = () => {
    dispose();
    stop.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  return { signal: stop.signal, dispose };
}

/** Runs the command `args` name; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    processIo.out(helpText());
    return name ? 0 : 2;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
  if (!entry) {
    processIo.err(`proxscale: unknown command "${name}"\n\n${helpText()}`);
    return 2;
  }
  const command = await entry.load();
  if (!entry.untilStopped?.(rest)) return await command.run(rest, processIo);
  // Listening before the command starts: a signal during a start (the Lease may already be
  // taken) still ends in a graceful stop rather than the default kill.
  const signals = stopOnSignals();
  try {
    return await command.run(rest, processIo, signals.signal);
  } finally {
    signals.dispose();
  }
}

/** Is this the daemon's front-door thread (daemon/front_door.ts starts main.ts as one)? */
function isFrontDoorWorker(): boolean {
  return "WorkerGlobalScope" in globalThis &&
    (globalThis as { name?: string }).name === FRONT_DOOR_WORKER_NAME;
}

if (import.meta.main && isFrontDoorWorker()) {
  // The binary and the bundle are one module graph: the worker is this entry, by its name.
  (await import("./daemon/front_door_worker.ts")).serveFrontDoor();
} else if (import.meta.main) {
  try {
    Deno.exitCode = await main(Deno.args);
  } catch (e) {
    // A bug, not an expected failure: say so in one line, keep the stack for debugging.
    console.error(`proxscale: internal error: ${e instanceof Error ? e.message : String(e)}`);
    if (Deno.env.get("PROXSCALE_DEBUG")) console.error(e);
    Deno.exitCode = 1;
  }
}
