/** `proxscale validate FILE`: check a configuration file and say exactly where it is wrong. */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import { formatProblem, loadConfigFile } from "../adapters/config/load.ts";
import type { Config } from "../core/model.ts";
import { needsSharedTemplateStorage } from "../core/template_locality.ts";

/**
 * A template cloned from one `templateVmid` for several hosts works only if its disks are on
 * shared storage, which the file cannot tell: a warning naming the diagnose check that can.
 */
export function localityWarnings(c: Config): string[] {
  const out: string[] = [];
  for (const t of c.machineTemplates) {
    const p = c.providers.find((x) => x.name === t.provider);
    const hosts = p?.hosts.map((h) => h.name) ?? [];
    if (t.source.kind !== "clone" || !needsSharedTemplateStorage(t, hosts)) continue;
    const uncovered = hosts.filter((h) =>
      t.source.kind === "clone" && t.source.perHost?.[h] === undefined
    );
    out.push(
      `MachineTemplate ${t.name}: template VM ${t.source.templateVmid} is cloned for ` +
        `${uncovered.length} hosts (${uncovered.join(", ")}); PVE clones it to a host other ` +
        `than its own only when its disks are on shared storage. Check it with ` +
        `'proxscale diagnose' ("template locality"), or give each host its own template ` +
        `with source.clone.perHost`,
    );
  }
  return out;
}

export const validateCommand: Command = {
  name: "validate",
  summary: COMMAND_SUMMARIES.validate,
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
    for (const w of localityWarnings(c)) io.out(`${file}: warning: ${w}`);
    return 0;
  },
};
