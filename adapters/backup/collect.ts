/**
 * Reading and writing the cluster side of a backup: the kinds of the proxscale.io API group
 * discovered from the installed CRDs (so a kind added later, such as Tenant, is backed up
 * without a change here), every object of those kinds, the settings ConfigMap and the
 * configuration history; and, for restore, the live objects and a server-side apply of one.
 * The PVE inventory is read by inventory.ts.
 *
 * May import: core/, adapters/.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { SETTINGS_CONFIGMAP } from "../config/crd_source.ts";
import { describeKubeError, isNotFound, type KubeClient, PatchType } from "../kubernetes/client.ts";
import { CONFIG_HISTORY_CONFIGMAP, readHistory } from "../kubernetes/config_history.ts";
import {
  type Backup,
  BACKUP_API_VERSION,
  BACKUP_FORMAT_VERSION,
  BACKUP_KIND,
  type BackupKind,
  type BackupObject,
  cleanObject,
  type InventoryVm,
  objectKey,
  PROXSCALE_GROUP,
  secretRefsOf,
} from "./backup_file.ts";

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

type CrdItem = {
  spec?: {
    group?: string;
    scope?: string;
    names?: { kind?: string; plural?: string };
    versions?: { name: string; served?: boolean; storage?: boolean }[];
  };
};

/** The kinds of the proxscale.io group the cluster serves, from its CRDs. */
export async function discoverKinds(client: KubeClient): Promise<Result<BackupKind[], string>> {
  const r = await client.requestJson("GET", CRDS);
  if (!r.ok) return err(`listing CustomResourceDefinitions: ${describeKubeError(r.error)}`);
  const items = (r.value.body as { items?: CrdItem[] }).items ?? [];
  const kinds: BackupKind[] = [];
  for (const c of items) {
    const s = c.spec;
    if (s?.group !== PROXSCALE_GROUP || !s.names?.kind || !s.names.plural) continue;
    const v = s.versions?.find((x) => x.storage) ?? s.versions?.find((x) => x.served !== false);
    if (!v) continue;
    kinds.push({
      kind: s.names.kind,
      plural: s.names.plural,
      version: v.name,
      namespaced: s.scope === "Namespaced",
    });
  }
  return ok(kinds.sort((a, b) => (a.kind < b.kind ? -1 : 1)));
}

/** The API path of an object of a proxscale kind or a ConfigMap. */
export function objectPath(o: BackupObject, kinds: readonly BackupKind[]): string | undefined {
  const name = encodeURIComponent(o.metadata.name);
  if (o.kind === "ConfigMap") {
    return `/api/v1/namespaces/${
      encodeURIComponent(o.metadata.namespace ?? "")
    }/configmaps/${name}`;
  }
  const k = kinds.find((x) => x.kind === o.kind);
  if (!k) return undefined;
  const ns = k.namespaced
    ? `/namespaces/${encodeURIComponent(o.metadata.namespace ?? "default")}`
    : "";
  return `/apis/${PROXSCALE_GROUP}/${k.version}${ns}/${k.plural}/${name}`;
}

/** Every object of the given kinds (all namespaces), cleaned; NodeClaims keep their status. */
export async function listObjects(
  client: KubeClient,
  kinds: readonly BackupKind[],
  namespace: string,
): Promise<Result<BackupObject[], string>> {
  const out: BackupObject[] = [];
  for (const k of kinds) {
    const r = await client.requestJson("GET", `/apis/${PROXSCALE_GROUP}/${k.version}/${k.plural}`);
    if (!r.ok) return err(`listing ${k.plural}.${PROXSCALE_GROUP}: ${describeKubeError(r.error)}`);
    for (const item of (r.value.body as { items?: unknown[] }).items ?? []) {
      const o = cleanObject(
        { apiVersion: `${PROXSCALE_GROUP}/${k.version}`, kind: k.kind, ...(item as object) },
        k.kind === "NodeClaim",
      );
      if (o) out.push(o);
    }
  }
  const cm = await client.requestJson(
    "GET",
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${SETTINGS_CONFIGMAP}`,
  );
  if (cm.ok) {
    const o = cleanObject(
      { apiVersion: "v1", kind: "ConfigMap", ...(cm.value.body as object) },
      false,
    );
    if (o) out.push(o);
  } else if (!isNotFound(cm.error)) {
    return err(
      `reading ConfigMap ${namespace}/${SETTINGS_CONFIGMAP}: ${describeKubeError(cm.error)}`,
    );
  }
  return ok(out.sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : 1)));
}

/** Reads the whole backup from the cluster; `inventory` reads PVE (inventory.ts). */
export async function collectBackup(
  client: KubeClient,
  namespace: string,
  inventory: (objects: BackupObject[]) => Promise<{ vms: InventoryVm[]; problems: string[] }>,
  now: () => number = Date.now,
): Promise<Result<Backup, string>> {
  const kinds = await discoverKinds(client);
  if (!kinds.ok) return kinds;
  if (kinds.value.length === 0) {
    return err(
      `no CustomResourceDefinition of group ${PROXSCALE_GROUP} is installed: nothing to back up`,
    );
  }
  const objects = await listObjects(client, kinds.value, namespace);
  if (!objects.ok) return objects;
  const history = await readHistory(client, namespace);
  if (!history.ok) {
    return err(
      `reading ConfigMap ${namespace}/${CONFIG_HISTORY_CONFIGMAP}: ${
        describeKubeError(history.error)
      }`,
    );
  }
  return ok({
    apiVersion: BACKUP_API_VERSION,
    kind: BACKUP_KIND,
    formatVersion: BACKUP_FORMAT_VERSION,
    createdAt: new Date(now()).toISOString(),
    namespace,
    kinds: kinds.value,
    objects: objects.value,
    configHistory: history.value,
    secretRefs: secretRefsOf(objects.value.filter((o) => o.kind !== "NodeClaim"), namespace),
    inventory: await inventory(objects.value),
  });
}

/** Server-side apply of one object as `fieldManager` (forced: the backup is the truth). */
export async function applyObject(
  client: KubeClient,
  o: BackupObject,
  kinds: readonly BackupKind[],
  fieldManager: string,
): Promise<Result<void, string>> {
  const path = objectPath(o, kinds);
  if (!path) return err(`${o.kind}/${o.metadata.name}: kind ${o.kind} is not installed`);
  const k = kinds.find((x) => x.kind === o.kind);
  const body = { ...o, ...(k ? { apiVersion: `${PROXSCALE_GROUP}/${k.version}` } : {}) };
  const r = await client.requestJson("PATCH", path, {
    query: { fieldManager, force: "true" },
    body,
    contentType: PatchType.ServerSideApply,
  });
  return r.ok ? ok(undefined) : err(`${o.kind}/${o.metadata.name}: ${describeKubeError(r.error)}`);
}
