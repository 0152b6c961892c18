/** `proxscale validate FILE`: check a configuration file and say exactly where it is wrong. */
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import { formatProblem, loadConfigFile } from "../adapters/config/load.ts";

export const validateCommand: Command = {
  name: "validate",
  summary: "check a configuration file; errors name file:line:column",
  usage: "proxscale validate FILE",
  async run(args, io) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: { help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      io.out(`usage: ${this.usage}\n\n${this.summary}.\nExit codes: 0 valid, 2 invalid.`);
      return 0;
    }
    const file = positionals[0];
    if (!file || positionals.length > 1) {
      io.err(`usage: ${this.usage}`);
      return 2;
    }
    const result = await loadConfigFile(file);
    if (!result.ok) {
      for (const p of result.error) io.err(formatProblem(p));
      io.err(
        `${file}: ${result.error.length} problem${
          result.error.length === 1 ? "" : "s"
        }; configuration not valid`,
      );
      return 2;
    }
    const c = result.value;
    io.out(
      `${file}: valid (${c.providers.length} provider, ${c.machineTemplates.length} machine templates, ${c.nodePools.length} node pools)`,
    );
    return 0;
  },
};
