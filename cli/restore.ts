/**
 * `proxscale restore FILE [--dry-run] [--kubeconfig K] [--namespace NS]`: re-applies the
 * configuration objects of a backup (server-side apply, field manager proxscale-restore) after
 * showing what changes, object by object. NodeClaims are never recreated from the file: the
 * daemon rebuilds each from its VM and Node (core/adoption.ts), so a claim whose VM is gone
 * does not come back. The file is checked first (format, objects, configuration validity) and
 * every CRD it needs must be installed.
 */
import { parseArgs } from "node:util";
import type { Command } from "./command.ts";
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { configFromObjects, formatCrdProblem } from "../adapters/config/crd_source.ts";
import {
  type BackupObject,
  configObjectsOf,
  describePlan,
  objectKey,
  parseBackup,
  PROXSCALE_GROUP,
  restorePlan,
} from "../adapters/backup/backup_file.ts";
import { applyObject, discoverKinds, listObjects } from "../adapters/backup/collect.ts";
import { kubeFrom } from "./status_source.ts";

export const restoreCommand: Command = {
  name: "restore",
  summary: COMMAND_SUMMARIES.restore,
  usage: "proxscale restore FILE [--dry-run] [--kubeconfig FILE] [--namespace NS]",
  async run(args, io) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: {
          kubeconfig: { type: "string" },
          namespace: { type: "string", short: "n" },
          "dry-run": { type: "boolean" },
          help: { type: "boolean", short: "h" },
        },
      });
    } catch (e) {
      io.err(`${(e as Error).message}\nusage: ${this.usage}`);
      return 2;
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.out(
        `usage: ${this.usage}\n\n${this.summary}.\n` +
          "NodeClaims are not recreated: the daemon adopts running VMs with Ready Nodes.\n" +
          "Exit codes: 0 restored (or dry run), 1 the cluster refused, 2 bad file or arguments.",
      );
      return 0;
    }
    const file = positionals[0];
    if (!file || positionals.length > 1) {
      io.err(`usage: ${this.usage}`);
      return 2;
    }
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      io.err(`${file}: cannot read: ${(e as Error).message}`);
      return 2;
    }
    const b = parseBackup(text, file);
    if (!b.ok) {
      for (const p of b.error) io.err(p);
      return 2;
    }
    const config = configObjectsOf(b.value);
    const valid = configFromObjects(config);
    if (!valid.ok) {
      for (const p of valid.error) io.err(`${file}: ${formatCrdProblem(p)}`);
      return 2;
    }
    const namespace = values.namespace ?? b.value.namespace;
    const objects: BackupObject[] = config.map((o) =>
      o.kind === "ConfigMap" ? { ...o, metadata: { ...o.metadata, namespace } } : o
    );
    let kube;
    try {
      kube = await kubeFrom({ ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}) });
    } catch (e) {
      io.err(`kubeconfig ${values.kubeconfig ?? "(default)"}: ${(e as Error).message}`);
      return 1;
    }
    const kinds = await discoverKinds(kube);
    if (!kinds.ok) {
      io.err(kinds.error);
      return 1;
    }
    const missing = [...new Set(objects.map((o) => o.kind))].filter((k) =>
      k !== "ConfigMap" && !kinds.value.some((x) => x.kind === k)
    );
    if (missing.length) {
      for (const k of missing) {
        const plural = b.value.kinds.find((x) => x.kind === k)?.plural ?? `${k.toLowerCase()}s`;
        io.err(
          `${file}: kind ${k} is not installed in the cluster (CRD ${plural}.${PROXSCALE_GROUP}): ` +
            "apply proxscale's CRDs (deploy/crds) first",
        );
      }
      return 1;
    }
    const live = await listObjects(kube, kinds.value, namespace);
    if (!live.ok) {
      io.err(live.error);
      return 1;
    }
    const liveMap = new Map(live.value.map((o) => [objectKey(o), o]));
    const plan = restorePlan({ ...b.value, objects }, liveMap);
    for (const line of describePlan(plan)) io.out(line);
    const inFile = b.value.objects.filter((o) => o.kind === "NodeClaim").length;
    const now = live.value.filter((o) => o.kind === "NodeClaim").length;
    io.out(
      `NodeClaims: ${inFile} in the backup, ${now} in the cluster; none recreated from the ` +
        "file (the daemon adopts each running VM with a Ready Node)",
    );
    const changes = plan.filter((c) => c.op !== "unchanged");
    if (values["dry-run"]) {
      io.out(`dry run: ${changes.length} objects would be applied, nothing was changed`);
      return 0;
    }
    let failed = 0;
    for (const c of changes) {
      const r = await applyObject(kube, c.object, kinds.value, "proxscale-restore");
      if (!r.ok) {
        failed++;
        io.err(`restore: ${r.error}`);
      }
    }
    io.out(`restored ${changes.length - failed} of ${changes.length} objects`);
    return failed ? 1 : 0;
  },
};
