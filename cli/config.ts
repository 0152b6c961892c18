/**
 * `proxscale config history | rollback [GENERATION] [--dry-run]`: a thin client over the
 * configuration history the daemon keeps in the cluster (adapters/kubernetes/config_history.ts).
 * `history` lists the kept generations (the live one marked *); `rollback` writes the objects of
 * a generation back (default: the newest one that differs from the live configuration): each
 * Provider, MachineTemplate and NodePool replaced as it was, the settings ConfigMap too, and
 * configuration objects that generation did not have deleted. The running daemon picks the
 * change up through its watch and records it as a new generation.
 */
import { parseArgs } from "node:util";
import type { Command, Io } from "./command.ts";
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { renderTable } from "./table.ts";
import { kubeFrom } from "./status_source.ts";
import { DEFAULT_NAMESPACE } from "../adapters/config/crd_manifests.ts";
import { configFromObjects, formatCrdProblem } from "../adapters/config/crd_source.ts";
import { describeKubeError, isNotFound, type KubeClient } from "../adapters/kubernetes/client.ts";
import {
  CONFIG_KINDS,
  configObjects,
  type HistoryEntry,
  readHistory,
} from "../adapters/kubernetes/config_history.ts";
import { type BackupObject, diffValues, objectKey } from "../adapters/backup/backup_file.ts";
import { discoverKinds, listObjects, objectPath } from "../adapters/backup/collect.ts";

const USAGE = "proxscale config history | rollback [GENERATION] [--dry-run] " +
  "[--kubeconfig FILE] [--namespace NS]";

/** The generation `rollback` goes back to: the asked one, else the newest that differs. */
export function rollbackTarget(
  entries: readonly HistoryEntry[],
  asked: number | undefined,
): { ok: true; entry: HistoryEntry } | { ok: false; error: string } {
  if (entries.length === 0) {
    return {
      ok: false,
      error: "no configuration history yet: the daemon records one when it applies the CRDs",
    };
  }
  const kept = `${entries[0]!.generation}..${entries.at(-1)!.generation}`;
  if (asked !== undefined) {
    const e = entries.find((x) => x.generation === asked);
    return e ? { ok: true, entry: e } : {
      ok: false,
      error: `generation ${asked} is not in the history (kept: ${kept})`,
    };
  }
  const live = entries.at(-1)!;
  const prev = [...entries].reverse().find((x) => x.digest !== live.digest);
  return prev ? { ok: true, entry: prev } : {
    ok: false,
    error: `every kept generation (${kept}) equals the live one: nothing to roll back to`,
  };
}

async function history(kube: KubeClient, ns: string, io: Io): Promise<number> {
  const h = await readHistory(kube, ns);
  if (!h.ok) {
    io.err(`reading the configuration history: ${describeKubeError(h.error)}`);
    return 1;
  }
  if (h.value.length === 0) {
    io.out("no configuration history yet: the daemon records one when it applies the CRDs");
    return 0;
  }
  const live = h.value.at(-1)!.generation;
  io.out(renderTable(
    ["GENERATION", "DIGEST", "APPLIED", "BY", "OBJECTS"],
    h.value.map((e) => [
      `${e.generation}${e.generation === live ? " *" : ""}`,
      e.digest,
      e.appliedAt,
      e.by,
      e.objects.map((o) => `${o.kind}/${o.metadata.name}`).join(","),
    ]),
  ));
  return 0;
}

/** Replaces `target` over `live` (PUT with the live resourceVersion), or creates it. */
async function put(
  kube: KubeClient,
  path: string,
  target: BackupObject,
): Promise<string | undefined> {
  const read = await kube.requestJson("GET", path);
  if (!read.ok && !isNotFound(read.error)) return describeKubeError(read.error);
  if (!read.ok) {
    const collection = path.slice(0, path.lastIndexOf("/"));
    const c = await kube.requestJson("POST", collection, {
      body: target,
      query: { fieldManager: "proxscale-rollback" },
    });
    return c.ok ? undefined : describeKubeError(c.error);
  }
  const cur = read.value.body as { metadata: Record<string, unknown>; status?: unknown };
  const body = {
    ...target,
    metadata: {
      ...cur.metadata,
      labels: target.metadata.labels,
      annotations: target.metadata.annotations,
    },
    ...(cur.status !== undefined ? { status: cur.status } : {}),
  };
  const w = await kube.requestJson("PUT", path, {
    body,
    query: { fieldManager: "proxscale-rollback" },
  });
  return w.ok ? undefined : describeKubeError(w.error);
}

async function rollback(
  kube: KubeClient,
  ns: string,
  asked: number | undefined,
  dryRun: boolean,
  io: Io,
): Promise<number> {
  const h = await readHistory(kube, ns);
  if (!h.ok) {
    io.err(`reading the configuration history: ${describeKubeError(h.error)}`);
    return 1;
  }
  const t = rollbackTarget(h.value, asked);
  if (!t.ok) {
    io.err(t.error);
    return 2;
  }
  const target = t.entry.objects.map((o) =>
    o.kind === "ConfigMap" ? { ...o, metadata: { ...o.metadata, namespace: ns } } : o
  );
  const valid = configFromObjects(target);
  if (!valid.ok) {
    for (const p of valid.error) io.err(`generation ${t.entry.generation}: ${formatCrdProblem(p)}`);
    return 2;
  }
  const kinds = await discoverKinds(kube);
  if (!kinds.ok) {
    io.err(kinds.error);
    return 1;
  }
  const listed = await listObjects(kube, kinds.value, ns);
  if (!listed.ok) {
    io.err(listed.error);
    return 1;
  }
  const live = new Map(configObjects(listed.value).map((o) => [objectKey(o), o]));
  const want = new Map(target.map((o) => [objectKey(o), o]));
  io.out(
    `rolling back to generation ${t.entry.generation} (digest ${t.entry.digest}, applied ` +
      `${t.entry.appliedAt} by ${t.entry.by})`,
  );
  const body = (o: BackupObject) => ({
    labels: o.metadata.labels ?? {},
    spec: o.spec,
    data: o.data,
  });
  const writes: BackupObject[] = [];
  for (const o of target) {
    const cur = live.get(objectKey(o));
    const d = cur ? diffValues(body(cur), body(o)) : [];
    if (!cur) io.out(`+ ${o.kind}/${o.metadata.name} (create)`);
    else if (d.length) {
      io.out(`~ ${o.kind}/${o.metadata.name} (update)\n${d.map((x) => `    ${x}`).join("\n")}`);
    } else continue;
    writes.push(o);
  }
  // Only kinds the generation speaks for are deleted: the three configuration kinds, and any
  // other kind the generation holds objects of (one the daemon did not watch is left alone).
  const managed = new Set([...CONFIG_KINDS, ...target.map((o) => o.kind)]);
  const deletes = [...live.values()].filter((o) => managed.has(o.kind) && !want.has(objectKey(o)));
  for (const o of deletes) io.out(`- ${o.kind}/${o.metadata.name} (delete)`);
  if (dryRun) {
    io.out(`dry run: ${writes.length + deletes.length} changes, nothing was changed`);
    return 0;
  }
  let failed = 0;
  for (const o of writes) {
    const path = objectPath(o, kinds.value);
    const e = path ? await put(kube, path, o) : `kind ${o.kind} is not installed`;
    if (e) {
      failed++;
      io.err(`rollback: ${o.kind}/${o.metadata.name}: ${e}`);
    }
  }
  for (const o of deletes) {
    const path = objectPath(o, kinds.value);
    const r = path ? await kube.requestJson("DELETE", path) : undefined;
    if (r && !r.ok && !isNotFound(r.error)) {
      failed++;
      io.err(`rollback: ${o.kind}/${o.metadata.name}: ${describeKubeError(r.error)}`);
    }
  }
  io.out(
    failed
      ? `rollback incomplete: ${failed} objects failed`
      : `rolled back to generation ${t.entry.generation}; the daemon applies it without restart`,
  );
  return failed ? 1 : 0;
}

export const configCommand: Command = {
  name: "config",
  summary: COMMAND_SUMMARIES.config,
  usage: USAGE,
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
      io.err(`${(e as Error).message}\nusage: ${USAGE}`);
      return 2;
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.out(
        `usage: ${USAGE}\n\n${this.summary}.\n` +
          "Exit codes: 0 done, 1 the cluster refused, 2 bad arguments or generation.",
      );
      return 0;
    }
    const [verb, gen, ...rest] = positionals;
    const asked = gen === undefined ? undefined : Number(gen);
    if (
      (verb !== "history" && verb !== "rollback") || rest.length > 0 ||
      (verb === "history" && gen !== undefined) ||
      (asked !== undefined && (!Number.isInteger(asked) || asked < 1))
    ) {
      io.err(`usage: ${USAGE}`);
      return 2;
    }
    let kube;
    try {
      kube = await kubeFrom({ ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}) });
    } catch (e) {
      io.err(`kubeconfig ${values.kubeconfig ?? "(default)"}: ${(e as Error).message}`);
      return 1;
    }
    const ns = values.namespace ?? DEFAULT_NAMESPACE;
    return verb === "history"
      ? await history(kube, ns, io)
      : await rollback(kube, ns, asked, values["dry-run"] ?? false, io);
  },
};
