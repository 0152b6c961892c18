/**
 * The configuration history kept in the cluster: every configuration generation the daemon
 * applied from the CRDs (the Provider, MachineTemplate and NodePool objects and the settings
 * ConfigMap), the last HISTORY_LIMIT of them, each with its generation number, digest, when it
 * was applied and who wrote it last (the newest managedFields entry). It lives in the ConfigMap
 * CONFIG_HISTORY_CONFIGMAP, one `generation-<n>` key per entry, written with the
 * resourceVersion it was read at so two replicas never lose an entry. `proxscale config
 * history` and `rollback` read it (cli/config.ts); backups carry it.
 *
 * May import: core/, adapters/.
 */
import { fnv1a, stableJson } from "../../core/hash.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { type BackupObject, cleanObject, objectKey } from "../backup/backup_file.ts";
import { SETTINGS_CONFIGMAP } from "../config/crd_source.ts";
import { isNotFound, type KubeClient, type KubeError, PatchType } from "./client.ts";
import { retryOnConflict } from "./conflict.ts";

/** The ConfigMap holding the history, in proxscale's namespace. */
export const CONFIG_HISTORY_CONFIGMAP = "proxscale-config-history";
/** Generations kept; older ones are dropped as new ones come. */
export const HISTORY_LIMIT = 20;

/** One applied configuration. */
export type HistoryEntry = {
  generation: number;
  digest: string;
  appliedAt: string;
  /** The field manager (or user) of the newest change among the objects. */
  by: string;
  objects: BackupObject[];
};

/** The configuration kinds; any other proxscale.io kind but NodeClaim counts too when watched. */
export const CONFIG_KINDS: ReadonlySet<string> = new Set([
  "Provider",
  "MachineTemplate",
  "NodePool",
]);
const KEY = /^generation-(\d+)$/;

/** The configuration objects among `raw` (as listed), cleaned and in a stable order. */
export function configObjects(raw: readonly unknown[]): BackupObject[] {
  return raw.flatMap((r) => {
    const o = cleanObject(r, false);
    if (!o) return [];
    const isSettings = o.kind === "ConfigMap" && o.metadata.name === SETTINGS_CONFIGMAP;
    const proxscaleKind = o.apiVersion.startsWith("proxscale.io/") && o.kind !== "NodeClaim";
    if (!isSettings && !CONFIG_KINDS.has(o.kind) && !proxscaleKind) return [];
    // The apiVersion of a listed ConfigMap is v1 even when an informer dropped it.
    return [isSettings ? { ...o, apiVersion: "v1" } : o];
  }).sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : 1));
}

/** The digest of a configuration: what its objects say, not when or by whom. */
export function configDigest(objects: readonly BackupObject[]): string {
  const body = objects.map((o) => ({
    kind: o.kind,
    name: o.metadata.name,
    labels: o.metadata.labels ?? {},
    spec: o.spec ?? null,
    data: o.data ?? null,
  }));
  return fnv1a(stableJson(body)).toString(16).padStart(8, "0");
}

/** Who changed the objects last: the manager of the newest managedFields entry. */
export function lastWriter(raw: readonly unknown[]): string {
  let best: { time: string; manager: string } | undefined;
  for (const r of raw) {
    const mf = (r as { metadata?: { managedFields?: { manager?: string; time?: string }[] } })
      ?.metadata?.managedFields ?? [];
    for (const f of mf) {
      if (!f.manager || !f.time) continue;
      if (!best || f.time > best.time) best = { time: f.time, manager: f.manager };
    }
  }
  return best?.manager ?? "unknown";
}

const path = (ns: string, name = CONFIG_HISTORY_CONFIGMAP) =>
  `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/${encodeURIComponent(name)}`;

/** The entries in a history ConfigMap's data, oldest first (unreadable keys are skipped). */
export function entriesOf(data: Record<string, string> | undefined): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const [k, v] of Object.entries(data ?? {})) {
    if (!KEY.test(k)) continue;
    try {
      const e = JSON.parse(v) as HistoryEntry;
      if (typeof e.generation === "number" && Array.isArray(e.objects)) out.push(e);
    } catch {
      // A hand-edited key that is not JSON is not an entry.
    }
  }
  return out.sort((a, b) => a.generation - b.generation);
}

/** Reads the history; none yet is an empty list. */
export async function readHistory(
  client: KubeClient,
  namespace: string,
): Promise<Result<HistoryEntry[], KubeError>> {
  const r = await client.requestJson("GET", path(namespace));
  if (!r.ok) return isNotFound(r.error) ? ok([]) : r;
  return ok(entriesOf((r.value.body as { data?: Record<string, string> }).data));
}

/** The live generation after a record, and whether this call added it. */
export type Recorded = { generation: number; digest: string; recorded: boolean };

/**
 * Records `raw` (the listed configuration objects) as a new generation unless the newest entry
 * has the same digest. Returns the live generation and whether it was recorded now.
 */
export function recordGeneration(
  client: KubeClient,
  namespace: string,
  raw: readonly unknown[],
  now: () => number = Date.now,
): Promise<Result<Recorded, KubeError>> {
  const objects = configObjects(raw);
  const digest = configDigest(objects);
  return retryOnConflict<Recorded>(async () => {
    const read = await client.requestJson("GET", path(namespace));
    if (!read.ok && !isNotFound(read.error)) return read;
    const cm = read.ok
      ? read.value.body as {
        metadata?: { resourceVersion?: string };
        data?: Record<string, string>;
      }
      : undefined;
    const entries = entriesOf(cm?.data);
    const last = entries.at(-1);
    if (last?.digest === digest) {
      return ok({ generation: last.generation, digest, recorded: false });
    }
    const entry: HistoryEntry = {
      generation: (last?.generation ?? 0) + 1,
      digest,
      appliedAt: new Date(now()).toISOString(),
      by: lastWriter(raw),
      objects,
    };
    const data: Record<string, string | null> = {
      [`generation-${entry.generation}`]: JSON.stringify(entry),
    };
    for (const old of entries.slice(0, Math.max(0, entries.length + 1 - HISTORY_LIMIT))) {
      data[`generation-${old.generation}`] = null;
    }
    const w = cm
      ? await client.requestJson("PATCH", path(namespace), {
        body: { metadata: { resourceVersion: cm.metadata?.resourceVersion }, data },
        contentType: PatchType.MergePatch,
      })
      : await client.requestJson("POST", `/api/v1/namespaces/${namespace}/configmaps`, {
        body: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name: CONFIG_HISTORY_CONFIGMAP,
            namespace,
            labels: { "app.kubernetes.io/managed-by": "proxscale" },
          },
          data,
        },
      });
    if (!w.ok) return err(w.error);
    return ok({ generation: entry.generation, digest, recorded: true });
  });
}
