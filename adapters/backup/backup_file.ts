/**
 * The backup file `proxscale backup` writes and `proxscale restore` reads: one YAML document,
 * format version BACKUP_FORMAT_VERSION, holding every object of the proxscale.io API group
 * (whatever kinds its CRDs define: NodePool, MachineTemplate, Provider, NodeClaim with status,
 * and any kind added later), the settings ConfigMap, the configuration history, the Secrets
 * the configuration refers to (as references: namespace, name, key, never their data) and the
 * Proxmox inventory of managed VMs. Pure: reading the cluster is collect.ts.
 *
 * May import: core/, adapters/.
 */
import { parse as parseYaml, stringify } from "yaml";
import { err, ok, type Result } from "../../core/result.ts";

/** The format this proxscale writes and reads. */
export const BACKUP_FORMAT_VERSION = 1;
/** The `apiVersion` and `kind` that mark a file as a proxscale backup. */
export const BACKUP_API_VERSION = "proxscale.io/backup";
export const BACKUP_KIND = "ProxscaleBackup";
/** The API group whose kinds a backup holds. */
export const PROXSCALE_GROUP = "proxscale.io";

/** A Kubernetes object as a backup keeps it (server-set metadata removed). */
export type BackupObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: unknown;
  status?: unknown;
  data?: Record<string, string>;
};

/** A kind of the proxscale.io group, as its CRD defines it. */
export type BackupKind = {
  kind: string;
  plural: string;
  version: string;
  namespaced: boolean;
};

/** A Secret the configuration names; its data is never in the backup. */
export type SecretRef = { namespace: string; name: string; key: string; usedBy: string };

/** One managed VM as PVE shows it. */
export type InventoryVm = {
  provider: string;
  vmid: number;
  host: string;
  name: string;
  status: string;
  claim: string;
  /** The template hash its NodeClaim records, when the claim was in the backup. */
  templateHash?: string;
  tags: string[];
};

/** The whole file. */
export type Backup = {
  apiVersion: typeof BACKUP_API_VERSION;
  kind: typeof BACKUP_KIND;
  formatVersion: number;
  createdAt: string;
  namespace: string;
  kinds: BackupKind[];
  objects: BackupObject[];
  /** The configuration history entries (adapters/kubernetes/config_history.ts), oldest first. */
  configHistory: unknown[];
  secretRefs: SecretRef[];
  inventory: { vms: InventoryVm[]; problems: string[] };
};

const SERVER_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration"];

/** An object as listed, without what the server sets (uid, resourceVersion, managedFields...). */
export function cleanObject(raw: unknown, keepStatus: boolean): BackupObject | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const o = raw as Record<string, unknown> & { metadata?: Record<string, unknown> };
  const m = o.metadata ?? {};
  if (typeof m.name !== "string" || typeof o.kind !== "string") return undefined;
  const annotations = Object.fromEntries(
    Object.entries((m.annotations ?? {}) as Record<string, string>).filter(([k]) =>
      !SERVER_ANNOTATIONS.includes(k)
    ),
  );
  const labels = (m.labels ?? {}) as Record<string, string>;
  return {
    apiVersion: String(o.apiVersion),
    kind: o.kind,
    metadata: {
      name: m.name,
      ...(typeof m.namespace === "string" ? { namespace: m.namespace } : {}),
      ...(Object.keys(labels).length ? { labels } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    ...(o.spec !== undefined ? { spec: o.spec } : {}),
    ...(o.data !== undefined ? { data: o.data as Record<string, string> } : {}),
    ...(keepStatus && o.status !== undefined ? { status: o.status } : {}),
  };
}

/** Every `secret: {namespace, name, key}` reference inside `objects`' specs and settings. */
export function secretRefsOf(objects: readonly BackupObject[], namespace: string): SecretRef[] {
  const out = new Map<string, SecretRef>();
  const walk = (v: unknown, usedBy: string) => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x, usedBy));
    if (typeof v !== "object" || v === null) return;
    const s = (v as { secret?: unknown }).secret;
    if (typeof s === "object" && s !== null) {
      const r = s as { namespace?: unknown; name?: unknown; key?: unknown };
      if (typeof r.name === "string" && typeof r.key === "string") {
        const ns = typeof r.namespace === "string" ? r.namespace : namespace;
        out.set(`${ns}/${r.name}/${r.key}/${usedBy}`, {
          namespace: ns,
          name: r.name,
          key: r.key,
          usedBy,
        });
      }
    }
    for (const x of Object.values(v)) walk(x, usedBy);
  };
  for (const o of objects) {
    const usedBy = `${o.kind}/${o.metadata.name}`;
    walk(o.spec, usedBy);
    for (const text of Object.values(o.data ?? {})) {
      try {
        walk(parseYaml(text), usedBy);
      } catch {
        // A settings text that is not YAML names no Secret.
      }
    }
  }
  return [...out.values()];
}

/** The file's text: YAML, keys in a stable order. */
export function renderBackup(b: Backup): string {
  return `# proxscale backup, format ${b.formatVersion}: restore with \`proxscale restore FILE\`\n` +
    stringify(b, { lineWidth: 0, aliasDuplicateObjects: false });
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads a backup file; every problem names the file and where in it. */
export function parseBackup(text: string, file: string): Result<Backup, string[]> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    return err([`${file}: not YAML: ${(e as Error).message.split("\n")[0]}`]);
  }
  if (!isMap(doc)) return err([`${file}: not a proxscale backup (expected a YAML map)`]);
  const problems: string[] = [];
  if (doc.apiVersion !== BACKUP_API_VERSION || doc.kind !== BACKUP_KIND) {
    return err([
      `${file}: not a proxscale backup (apiVersion ${String(doc.apiVersion)}, kind ${
        String(doc.kind)
      }; expected ${BACKUP_API_VERSION} ${BACKUP_KIND})`,
    ]);
  }
  if (doc.formatVersion !== BACKUP_FORMAT_VERSION) {
    return err([
      `${file}: formatVersion ${String(doc.formatVersion)} is not one this proxscale reads ` +
      `(it reads ${BACKUP_FORMAT_VERSION})`,
    ]);
  }
  for (const k of ["objects", "kinds", "configHistory", "secretRefs"]) {
    if (!Array.isArray(doc[k])) problems.push(`${file}: ${k}: must be a list`);
  }
  if (typeof doc.namespace !== "string") problems.push(`${file}: namespace: must be a string`);
  if (!isMap(doc.inventory) || !Array.isArray(doc.inventory.vms)) {
    problems.push(`${file}: inventory.vms: must be a list`);
  }
  if (problems.length) return err(problems);
  (doc.objects as unknown[]).forEach((o, i) => {
    const at = `${file}: objects[${i}]`;
    if (!isMap(o)) return problems.push(`${at}: must be a map`);
    if (typeof o.kind !== "string") problems.push(`${at}.kind: missing`);
    if (typeof o.apiVersion !== "string") problems.push(`${at}.apiVersion: missing`);
    const m = o.metadata;
    if (!isMap(m) || typeof m.name !== "string" || m.name === "") {
      problems.push(`${at}.metadata.name: missing`);
    }
  });
  return problems.length ? err(problems) : ok(doc as unknown as Backup);
}

/** One line of what a restore would change. */
export type RestoreChange = {
  op: "create" | "update" | "unchanged";
  object: BackupObject;
  /** For an update: `path: old -> new` per changed leaf. */
  diff: string[];
};

/** The configuration objects of a backup: everything but NodeClaims (and their status). */
export function configObjectsOf(b: Backup): BackupObject[] {
  return b.objects.filter((o) => o.kind !== "NodeClaim").map((o) => {
    const { status: _status, ...rest } = o;
    return rest;
  });
}

/** A stable key of an object: kind, namespace and name. */
export const objectKey = (o: BackupObject) =>
  `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** The leaves that differ between two values, as `path: a -> b` lines. */
export function diffValues(a: unknown, b: unknown, path = ""): string[] {
  if (isMap(a) && isMap(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffValues(a[k], b[k], path ? `${path}.${k}` : k));
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const show = (v: unknown) => (v === undefined ? "(none)" : JSON.stringify(v));
  return [`${path || "(whole)"}: ${show(a)} -> ${show(b)}`];
}

/**
 * The leaves a server-side apply of `applied` changes on `live`: only fields the applied object
 * sets count (a field it leaves out, such as one the API server defaulted, stays as it is).
 */
export function diffApplied(live: unknown, applied: unknown, path = ""): string[] {
  if (isMap(live) && isMap(applied)) {
    return Object.keys(applied).sort().flatMap((k) =>
      diffApplied(live[k], applied[k], path ? `${path}.${k}` : k)
    );
  }
  if (applied === undefined) return [];
  // Lists of the same length compare item by item (the server defaults fields inside items).
  if (Array.isArray(live) && Array.isArray(applied) && live.length === applied.length) {
    const d = applied.flatMap((a, i) => diffApplied(live[i], a, `${path}[${i}]`));
    return d.length ? diffValues(live, applied, path) : [];
  }
  return diffValues(live, applied, path);
}

/** What restoring `b` over the `live` objects does, object by object (live keyed by objectKey). */
export function restorePlan(
  b: Backup,
  live: ReadonlyMap<string, BackupObject>,
): RestoreChange[] {
  return configObjectsOf(b).map((object) => {
    const now = live.get(objectKey(object));
    if (!now) return { op: "create" as const, object, diff: [] };
    const body = (o: BackupObject) => ({
      labels: o.metadata.labels ?? {},
      annotations: o.metadata.annotations ?? {},
      spec: o.spec,
      data: o.data,
    });
    const diff = diffApplied(body(now), body(object));
    return { op: diff.length ? "update" as const : "unchanged" as const, object, diff };
  });
}

/** The restore plan as the lines `restore` prints before it applies anything. */
export function describePlan(changes: readonly RestoreChange[]): string[] {
  const lines: string[] = [];
  for (const c of changes) {
    const name = `${c.object.kind}/${c.object.metadata.name}`;
    if (c.op === "create") lines.push(`+ ${name} (create)`);
    else if (c.op === "unchanged") lines.push(`= ${name} (unchanged)`);
    else {
      lines.push(`~ ${name} (update)`);
      for (const d of c.diff) lines.push(`    ${d}`);
    }
  }
  return lines;
}
