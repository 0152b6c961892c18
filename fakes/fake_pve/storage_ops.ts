/**
 * Volumes on the fake's storages: PVE's naming per storage type, space
 * accounting with out-of-space failures, linked clones of base volumes, and the storage
 * endpoints (list, status, content, ISO upload and delete).
 */
import { type ModelState, type Outcome, type StorageState, type Volume } from "./state.ts";
import { TaskFailure } from "./scheduler.ts";

const FILE_BASED = new Set(["dir", "nfs"]);

/** Storage types that can make a linked clone of a base volume. */
export function supportsLinkedClone(s: StorageState): boolean {
  return s.type !== "lvm";
}

function lastPart(name: string): string {
  const parts = name.split("/");
  return parts[parts.length - 1]!.replace(/\.qcow2$/, "");
}

/** Splits `storage:volname`. */
export function splitVolid(volid: string): { storage: string; name: string } | undefined {
  const i = volid.indexOf(":");
  if (i <= 0) return undefined;
  return { storage: volid.slice(0, i), name: volid.slice(i + 1) };
}

function nextDiskIndex(vols: Map<string, Volume>, vmid: number): number {
  const used = new Set<number>();
  for (const v of vols.values()) {
    const m = /^(?:vm|base)-(\d+)-disk-(\d+)$/.exec(lastPart(v.name));
    if (m && Number(m[1]) === vmid) used.add(Number(m[2]));
  }
  let n = 0;
  while (used.has(n)) n++;
  return n;
}

/** The storage-specific out-of-space text (kind `storageFull` for clients). */
export function outOfSpaceMessage(s: StorageState, name: string, size: number): string {
  switch (s.type) {
    case "zfspool":
      return `zfs error: cannot create 'rpool/data/${lastPart(name)}': out of space`;
    case "lvmthin":
    case "lvm":
      return `lvcreate 'pve/${lastPart(name)}' error:   Insufficient free space: ${
        Math.ceil(size / (4 * 1024 ** 2))
      } extents needed, but only 0 available`;
    case "rbd":
      return `rbd create '${name}' error: rbd: create error: (28) No space left on device`;
    default:
      return `unable to create image: qemu-img: /var/lib/vz/images/${name}: Could not resize file: No space left on device`;
  }
}

function place(
  st: ModelState,
  node: string,
  s: StorageState,
  vol: Volume,
): Outcome<string> {
  const used = st.usedBytes(node, s);
  if (used + vol.size > s.total) {
    return { ok: false, error: st.fail(500, outOfSpaceMessage(s, vol.name, vol.size)) };
  }
  st.volumesOf(node, s).set(vol.name, vol);
  return { ok: true, value: `${s.id}:${vol.name}` };
}

/** Allocates `vm-<vmid>-disk-<n>` of `size` bytes; fails when the storage is full. */
export function allocDisk(
  st: ModelState,
  node: string,
  s: StorageState,
  vmid: number,
  size: number,
): Outcome<string> {
  const n = nextDiskIndex(st.volumesOf(node, s), vmid);
  const name = FILE_BASED.has(s.type)
    ? `${vmid}/vm-${vmid}-disk-${n}.qcow2`
    : `vm-${vmid}-disk-${n}`;
  return place(st, node, s, { storage: s.id, name, size, content: "images", vmid });
}

/** Allocates the cloud-init drive `vm-<vmid>-cloudinit` (4 MiB). */
export function allocCloudinit(
  st: ModelState,
  node: string,
  s: StorageState,
  vmid: number,
): Outcome<string> {
  const name = FILE_BASED.has(s.type)
    ? `${vmid}/vm-${vmid}-cloudinit.qcow2`
    : `vm-${vmid}-cloudinit`;
  return place(st, node, s, { storage: s.id, name, size: 4 * 1024 ** 2, content: "images", vmid });
}

/** A linked clone of base volume `base` (named as PVE names it on that storage type). */
export function allocLinked(
  st: ModelState,
  node: string,
  s: StorageState,
  base: Volume,
  vmid: number,
): Outcome<string> {
  const n = nextDiskIndex(st.volumesOf(node, s), vmid);
  let name: string;
  if (FILE_BASED.has(s.type)) name = `${base.name}/${vmid}/vm-${vmid}-disk-${n}.qcow2`;
  else if (s.type === "lvmthin") name = `vm-${vmid}-disk-${n}`;
  else name = `${base.name}/vm-${vmid}-disk-${n}`;
  return place(st, node, s, {
    storage: s.id,
    name,
    size: base.size,
    content: "images",
    vmid,
    base: base.name,
  });
}

/** Looks a volume up from a node's point of view. */
export function findVolume(st: ModelState, node: string, volid: string): Volume | undefined {
  const p = splitVolid(volid);
  if (!p) return undefined;
  const s = st.storageOn(node, p.storage);
  return s ? st.volumesOf(node, s).get(p.name) : undefined;
}

/** Frees a volume; returns false when it did not exist. */
export function freeVolume(st: ModelState, node: string, volid: string): boolean {
  const p = splitVolid(volid);
  const s = p && st.storageOn(node, p.storage);
  if (!p || !s) return false;
  return st.volumesOf(node, s).delete(p.name);
}

/** Every image volume owned by `vmid` on storages visible from `node`. */
export function ownedVolumes(st: ModelState, node: string, vmid: number): string[] {
  const out: string[] = [];
  for (const s of st.storagesOn(node)) {
    if (!s.enabled) continue;
    for (const v of st.volumesOf(node, s).values()) {
      if (v.vmid === vmid) out.push(`${s.id}:${v.name}`);
    }
  }
  return out;
}

/** Renames a VM's disk to a base volume (template conversion); returns the new volid. */
export function toBaseVolume(st: ModelState, node: string, volid: string): string {
  const p = splitVolid(volid)!;
  const s = st.storageOn(node, p.storage)!;
  const vols = st.volumesOf(node, s);
  const v = vols.get(p.name);
  if (!v || v.base) return volid;
  const name = p.name.replace(/vm-(\d+)-disk-(\d+)/, "base-$1-disk-$2");
  vols.delete(p.name);
  vols.set(name, { ...v, name });
  return `${s.id}:${name}`;
}

/** True if some linked clone depends on the base volume `volid`. */
export function baseInUse(st: ModelState, node: string, volid: string): boolean {
  const p = splitVolid(volid);
  const s = p && st.storageOn(node, p.storage);
  if (!p || !s) return false;
  for (const v of st.volumesOf(node, s).values()) if (v.base === p.name) return true;
  return false;
}

/** `GET /nodes/{node}/storage/{storage}/status` */
export function storageStatus(
  st: ModelState,
  node: string,
  id: string,
): Outcome<Record<string, unknown>> {
  const s = st.storageOn(node, id);
  if (!s) {
    return {
      ok: false,
      error: st.fail(400, "Parameter verification failed.", { storage: "No such storage." }),
    };
  }
  return { ok: true, value: storageEntry(st, node, s, false) };
}

/** One storage's status fields; zeros when disabled. */
export function storageEntry(
  st: ModelState,
  node: string,
  s: StorageState,
  withId: boolean,
): Record<string, unknown> {
  const used = s.enabled ? st.usedBytes(node, s) : 0;
  const total = s.enabled ? s.total : 0;
  const e: Record<string, unknown> = {
    type: s.type,
    content: [...s.content].sort().join(","),
    shared: s.shared ? 1 : 0,
    enabled: s.enabled ? 1 : 0,
    active: s.enabled ? 1 : 0,
    total,
    used,
    avail: Math.max(0, total - used),
  };
  if (withId) {
    e.storage = s.id;
    e.used_fraction = total > 0 ? used / total : 0;
  }
  return e;
}

/** `GET /nodes/{node}/storage[?content=&enabled=]` */
export function listStorage(
  st: ModelState,
  node: string,
  filter: { content?: string; enabled?: boolean },
): Record<string, unknown>[] {
  return st.storagesOn(node)
    .filter((s) => !filter.content || filter.content.split(",").some((c) => s.content.includes(c)))
    .filter((s) => !filter.enabled || s.enabled)
    .map((s) => storageEntry(st, node, s, true));
}

/** `GET /nodes/{node}/storage/{storage}/content[?content=&vmid=]` */
export function storageContent(
  st: ModelState,
  node: string,
  id: string,
  filter: { content?: string; vmid?: number },
): Outcome<Record<string, unknown>[]> {
  const s = st.storageOn(node, id);
  if (!s) return { ok: false, error: st.fail(500, `storage '${id}' does not exist`) };
  const out: Record<string, unknown>[] = [];
  const vols = [...st.volumesOf(node, s).values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const v of vols) {
    if (filter.content && v.content !== filter.content) continue;
    if (filter.vmid !== undefined && v.vmid !== filter.vmid) continue;
    const e: Record<string, unknown> = {
      volid: `${s.id}:${v.name}`,
      content: v.content,
      format: v.content === "iso"
        ? "iso"
        : v.content === "import"
        ? (/\.(qcow2|raw|vmdk|ova)$/.exec(v.name)?.[1] ?? "raw")
        : FILE_BASED.has(s.type)
        ? "qcow2"
        : "raw",
      size: v.size,
      ctime: 0,
    };
    if (v.vmid !== undefined) e.vmid = v.vmid;
    out.push(e);
  }
  return { ok: true, value: out };
}

/** Characters outside `[A-Za-z0-9_.-]` become `_`, as PVE normalises upload names. */
export function normaliseUploadName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.\-]/g, "_");
}

/**
 * `POST /nodes/{node}/storage/{storage}/upload` for `iso` content: checks run synchronously,
 * the copy into place is an `imgcopy` task. Snippets cannot be uploaded (PVE Bugzilla #2208).
 */
export function uploadIso(
  st: ModelState,
  node: string,
  id: string,
  p: { content: string; filename: string; size: number; data?: Uint8Array },
  user: string,
): Outcome<string> {
  const allowed = ["iso", "vztmpl", "import"];
  if (!allowed.includes(p.content)) {
    return {
      ok: false,
      error: st.fail(400, "Parameter verification failed.", {
        content: `value '${p.content}' does not have a value in the enumeration '${
          allowed.join(", ")
        }'`,
      }),
    };
  }
  const s = st.storageOn(node, id);
  if (!s) return { ok: false, error: st.fail(500, `storage '${id}' does not exist`) };
  if (!s.content.includes(p.content)) {
    return {
      ok: false,
      error: st.fail(500, `storage '${id}' does not support '${p.content}' content`),
    };
  }
  const name = normaliseUploadName(p.filename);
  if (p.content === "iso" && !/\.(iso|img)$/i.test(name)) {
    return {
      ok: false,
      error: st.fail(500, `wrong file extension`),
    };
  }
  const volName = `${
    p.content === "iso" ? "iso" : p.content === "vztmpl" ? "vztmpl" : "import"
  }/${name}`;
  const task = st.startTask(node, "imgcopy", "", user, function* (t) {
    t.log.push(`starting file import from: /var/tmp/pveupload-${t.pid.toString(16)}`);
    t.log.push(`target node: ${node}`);
    t.log.push(`target file: /var/lib/vz/template/iso/${name}`);
    yield { kind: "sleep", ms: st.duration("imgcopy", undefined, node) };
    const vols = st.volumesOf(node, s);
    const old = vols.get(volName);
    if (st.usedBytes(node, s) - (old?.size ?? 0) + p.size > s.total) {
      throw new TaskFailure(
        `error writing '/var/lib/vz/template/iso/${name}': No space left on device`,
      );
    }
    vols.set(volName, {
      storage: s.id,
      name: volName,
      size: p.size,
      content: p.content,
      ...(p.data ? { data: p.data } : {}),
    });
    t.log.push(`file size is: ${p.size}`);
  });
  return { ok: true, value: task.upid };
}

/** `DELETE /nodes/{node}/storage/{storage}/content/{volume}` as an `imgdel` task. */
export function deleteContent(
  st: ModelState,
  node: string,
  id: string,
  volume: string,
  user: string,
): Outcome<string> {
  const s = st.storageOn(node, id);
  if (!s) return { ok: false, error: st.fail(500, `storage '${id}' does not exist`) };
  const name = volume.startsWith(`${id}:`) ? volume.slice(id.length + 1) : volume;
  const vols = st.volumesOf(node, s);
  if (!vols.has(name)) {
    return { ok: false, error: st.fail(500, `volume '${id}:${name}' does not exist`) };
  }
  const task = st.startTask(node, "imgdel", "", user, function* () {
    yield { kind: "sleep", ms: st.duration("imgdel", undefined, node) };
    vols.delete(name);
  });
  return { ok: true, value: task.upid };
}
