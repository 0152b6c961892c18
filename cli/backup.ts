/**
 * `proxscale backup [--kubeconfig K] [--namespace NS] [--out FILE] [--no-inventory]`: writes
 * one versioned file (adapters/backup/backup_file.ts) with every proxscale.io object (kinds
 * discovered from the CRDs; NodeClaims with their status), the settings ConfigMap, the
 * configuration history, the Secrets the configuration names (references only) and the PVE
 * inventory of managed VMs. Without --out the file goes to stdout; a summary goes to stderr.
 */
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import { configFromObjects, formatCrdProblem } from "../adapters/config/crd_source.ts";
import { collectBackup } from "../adapters/backup/collect.ts";
import { renderBackup } from "../adapters/backup/backup_file.ts";
import { readInventory } from "../adapters/backup/inventory.ts";
import { kubeFrom } from "./status_source.ts";

export const backupCommand: Command = {
  name: "backup",
  summary: COMMAND_SUMMARIES.backup,
  usage: "proxscale backup [--kubeconfig FILE] [--namespace NS] [--out FILE] [--no-inventory]",
  async run(args, io) {
    let values;
    try {
      values = parseArgs({
        args,
        options: {
          kubeconfig: { type: "string" },
          namespace: { type: "string", short: "n" },
          out: { type: "string", short: "o" },
          "no-inventory": { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
      }).values;
    } catch (e) {
      io.err(`${(e as Error).message}\nusage: ${this.usage}`);
      return 2;
    }
    if (values.help) {
      io.out(
        `usage: ${this.usage}\n\n${this.summary}.\n` +
          "Secrets are referenced (namespace, name, key), never copied.\n" +
          "Exit codes: 0 written, 1 the cluster or the file could not be read or written, 2 bad arguments.",
      );
      return 0;
    }
    const namespace = values.namespace ?? DEFAULT_NAMESPACE;
    let kube;
    try {
      kube = await kubeFrom({ ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}) });
    } catch (e) {
      io.err(`kubeconfig ${values.kubeconfig ?? "(default)"}: ${(e as Error).message}`);
      return 1;
    }
    const b = await collectBackup(kube, namespace, async (objects) => {
      if (values["no-inventory"]) return { vms: [], problems: ["skipped (--no-inventory)"] };
      const config = configFromObjects(objects);
      if (!config.ok) {
        return {
          vms: [],
          problems: config.error.map((p) => `configuration not readable: ${formatCrdProblem(p)}`),
        };
      }
      return await readInventory(config.value, kube, namespace, objects);
    });
    if (!b.ok) {
      io.err(`backup failed: ${b.error}`);
      return 1;
    }
    const text = renderBackup(b.value);
    if (values.out) {
      try {
        await Deno.writeTextFile(values.out, text);
      } catch (e) {
        io.err(`${values.out}: cannot write: ${(e as Error).message}`);
        return 1;
      }
    } else io.out(text);
    const o = b.value.objects;
    const claims = o.filter((x) => x.kind === "NodeClaim").length;
    for (const p of b.value.inventory.problems) io.err(`warning: inventory: ${p}`);
    io.err(
      `backed up ${o.length - claims} configuration objects and ${claims} NodeClaims ` +
        `(kinds: ${b.value.kinds.map((k) => k.kind).join(", ")}), ` +
        `${b.value.configHistory.length} configuration generations, ` +
        `${b.value.inventory.vms.length} managed VMs, ${b.value.secretRefs.length} Secret ` +
        `references (not copied)${values.out ? ` to ${values.out}` : ""} ` +
        `(format ${b.value.formatVersion})`,
    );
    return 0;
  },
};
