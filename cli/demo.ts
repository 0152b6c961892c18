/**
 * `proxscale demo`: watch proxscale scale a simulated Proxmox cluster (harness/demo.ts). Needs no
 * cluster, no Proxmox and no Redis; finishes in under a minute.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import type { Command } from "./command.ts";
import { runDemo } from "../harness/demo.ts";

/** The demo command. */
export const demoCommand: Command = {
  name: "demo",
  summary: COMMAND_SUMMARIES.demo,
  usage: "proxscale demo [--seed N]",
  async run(args, io) {
    if (args.includes("--help") || args.includes("-h")) {
      io.out(
        `usage: ${this.usage}\n\nStarts a fake Proxmox VE and a fake Kubernetes API server in-process and the real\n` +
          "daemon against them, plays a burst of deployments and a scale-in, and prints each\n" +
          "decision with its reason and a summary (exit 1 if a VM leaked or was duplicated).",
      );
      return 0;
    }
    const i = args.indexOf("--seed");
    const seed = i >= 0 ? Number(args[i + 1]) : 42;
    if (!Number.isInteger(seed)) {
      io.err("--seed needs an integer");
      return 2;
    }
    const s = await runDemo({ seed, print: (l) => io.out(l) });
    return s.leakedVms === 0 && s.duplicateVms === 0 ? 0 : 1;
  },
};
