/**
 * Writes a NoCloud seed ISO in-process: an ISO 9660 image with Rock Ridge (SUSP
 * SP/CE/ER, RRIP PX/NM) and a Joliet tree, so `user-data`, `meta-data` and `network-config`
 * keep their exact lower-case names whichever extension the guest's reader prefers. The
 * volume label is `cidata`, which cloud-init and Talos look for. No npm library writes ISO
 * 9660, and shelling out to genisoimage would need it on every proxscale host.
 *
 * Layout (2048-byte sectors): 0-15 system area, 16 primary descriptor, 17 Joliet
 * supplementary descriptor, 18 terminator, 19-22 path tables (L and M for each tree), then the
 * ISO root directory, the Rock Ridge continuation area, the Joliet root directory, the files.
 */

/** One file in the root directory of the image. */
export type IsoFile = { name: string; data: Uint8Array };

/** ISO 9660 logical sector size in bytes. */
export const SECTOR = 2048;

const DESCRIPTOR_START = 16;
/** Seconds since the epoch written as every timestamp unless the caller passes one. */
const DEFAULT_MTIME_MS = 0;

const RRIP_ID = "RRIP_1991A";
const RRIP_DESCRIPTOR =
  "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
const RRIP_SOURCE =
  "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";

/**
 * Builds a NoCloud seed image holding `files` in its root directory. Deterministic: the same
 * files and `mtimeMs` give the same bytes (no clock is read). Throws on names that cannot be
 * stored (empty, with '/', longer than 64 characters, or duplicated): the callers pass fixed
 * names, so such a name is a bug, not an operator error.
 */
export function buildNoCloudIso(
  files: readonly IsoFile[],
  volumeId = "cidata",
  opts: { mtimeMs?: number } = {},
): Uint8Array {
  checkNames(files, volumeId);
  const mtime = opts.mtimeMs ?? DEFAULT_MTIME_MS;
  const isoNames = isoIdentifiers(files.map((f) => f.name));
  // Directory records must be sorted by identifier; each tree sorts by its own names.
  const isoOrder = files.map((_, i) => i).sort((a, b) => cmp(isoNames[a]!, isoNames[b]!));
  const jolietNames = files.map((f) => ucs2(f.name));
  const jolietOrder = files.map((_, i) => i).sort((a, b) =>
    cmpBytes(jolietNames[a]!, jolietNames[b]!)
  );

  // Sizes first (they do not depend on extent locations), then positions.
  const isoRootRecords = (rootLba: number, ceLba: number, fileLba: number[], rootLen: number) => [
    dirRecord(rootLba, rootLen, mtime, true, new Uint8Array([0]), rootSelfSu(ceLba)),
    dirRecord(rootLba, rootLen, mtime, true, new Uint8Array([1]), px(0o40555, 2)),
    ...isoOrder.map((i) =>
      dirRecord(
        fileLba[i]!,
        files[i]!.data.length,
        mtime,
        false,
        ascii(isoNames[i]!),
        concat([px(0o100444, 1), nm(files[i]!.name)]),
      )
    ),
  ];
  const jolietRootRecords = (rootLba: number, fileLba: number[], rootLen: number) => [
    dirRecord(rootLba, rootLen, mtime, true, new Uint8Array([0]), new Uint8Array()),
    dirRecord(rootLba, rootLen, mtime, true, new Uint8Array([1]), new Uint8Array()),
    ...jolietOrder.map((i) =>
      dirRecord(fileLba[i]!, files[i]!.data.length, mtime, false, jolietNames[i]!, new Uint8Array())
    ),
  ];
  const zeros = files.map(() => 0);
  const isoRootSectors = packedSectors(isoRootRecords(0, 0, zeros, 0));
  const jolietRootSectors = packedSectors(jolietRootRecords(0, zeros, 0));

  const pathTableLba = DESCRIPTOR_START + 3; // L iso, M iso, L joliet, M joliet
  const isoRootLba = pathTableLba + 4;
  const ceLba = isoRootLba + isoRootSectors;
  const jolietRootLba = ceLba + 1;
  let next = jolietRootLba + jolietRootSectors;
  const fileLba = files.map((f) => {
    const at = next;
    // An empty file still gets a block of its own so no extent points past the image.
    next += Math.max(1, Math.ceil(f.data.length / SECTOR));
    return at;
  });
  const totalSectors = next;

  const image = new Uint8Array(totalSectors * SECTOR);
  const isoRoot = pack(
    isoRootRecords(isoRootLba, ceLba, fileLba, isoRootSectors * SECTOR),
    isoRootSectors,
  );
  const jolietRoot = pack(
    jolietRootRecords(jolietRootLba, fileLba, jolietRootSectors * SECTOR),
    jolietRootSectors,
  );
  image.set(isoRoot, isoRootLba * SECTOR);
  image.set(er(), ceLba * SECTOR);
  image.set(jolietRoot, jolietRootLba * SECTOR);
  files.forEach((f, i) => image.set(f.data, fileLba[i]! * SECTOR));

  image.set(pathTable(isoRootLba, true), pathTableLba * SECTOR);
  image.set(pathTable(isoRootLba, false), (pathTableLba + 1) * SECTOR);
  image.set(pathTable(jolietRootLba, true), (pathTableLba + 2) * SECTOR);
  image.set(pathTable(jolietRootLba, false), (pathTableLba + 3) * SECTOR);

  const isoRootSelf = dirRecord(
    isoRootLba,
    isoRootSectors * SECTOR,
    mtime,
    true,
    new Uint8Array([0]),
    new Uint8Array(),
  );
  const jolietRootSelf = dirRecord(
    jolietRootLba,
    jolietRootSectors * SECTOR,
    mtime,
    true,
    new Uint8Array([0]),
    new Uint8Array(),
  );
  image.set(
    volumeDescriptor(1, volumeId, totalSectors, pathTableLba, isoRootSelf, mtime),
    DESCRIPTOR_START * SECTOR,
  );
  image.set(
    volumeDescriptor(2, volumeId, totalSectors, pathTableLba + 2, jolietRootSelf, mtime),
    (DESCRIPTOR_START + 1) * SECTOR,
  );
  const terminator = new Uint8Array(SECTOR);
  terminator.set([255, ...ascii("CD001"), 1]);
  image.set(terminator, (DESCRIPTOR_START + 2) * SECTOR);
  return image;
}

function checkNames(files: readonly IsoFile[], volumeId: string): void {
  if (volumeId.length === 0 || volumeId.length > 16 || !/^[\x20-\x7e]+$/.test(volumeId)) {
    throw new Error(`Volume id "${volumeId}" must be 1-16 printable ASCII characters`);
  }
  const seen = new Set<string>();
  for (const f of files) {
    if (!/^[\x21-\x7e]{1,64}$/.test(f.name) || f.name.includes("/") || f.name.startsWith(".")) {
      throw new Error(`File name "${f.name}" cannot be stored in the seed image`);
    }
    if (seen.has(f.name)) throw new Error(`File name "${f.name}" is given twice`);
    seen.add(f.name);
  }
}

/**
 * ISO 9660 level 1 identifiers ("USER_DAT.;1"): 8.3 upper-case d-characters, made unique
 * with a numeric tail. Readers that know Rock Ridge or Joliet never show these.
 */
function isoIdentifiers(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((n) => {
    const dot = n.lastIndexOf(".");
    const clean = (s: string) => s.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
    const base = clean(dot > 0 ? n.slice(0, dot) : n).slice(0, 8);
    const ext = dot > 0 ? clean(n.slice(dot + 1)).slice(0, 3) : "";
    let id = `${base}.${ext};1`;
    for (let k = 1; used.has(id); k++) {
      const tail = String(k);
      id = `${base.slice(0, 8 - tail.length)}${tail}.${ext};1`;
    }
    used.add(id);
    return id;
  });
}

/** One directory record (ECMA-119 9.1), padded to an even length. */
function dirRecord(
  lba: number,
  size: number,
  mtimeMs: number,
  directory: boolean,
  identifier: Uint8Array,
  systemUse: Uint8Array,
): Uint8Array {
  const pad = identifier.length % 2 === 0 ? 1 : 0;
  let len = 33 + identifier.length + pad + systemUse.length;
  len += len % 2;
  if (len > 255) throw new Error("Directory record longer than 255 bytes");
  const r = new Uint8Array(len);
  r[0] = len;
  r.set(both32(lba), 2);
  r.set(both32(size), 10);
  r.set(recordDate(mtimeMs), 18);
  r[25] = directory ? 2 : 0;
  r.set(both16(1), 28);
  r[32] = identifier.length;
  r.set(identifier, 33);
  r.set(systemUse, 33 + identifier.length + pad);
  return r;
}

/** Root "." system use: SUSP indicator, attributes, and where the ER entry lives. */
function rootSelfSu(ceLba: number): Uint8Array {
  const sp = new Uint8Array([0x53, 0x50, 7, 1, 0xbe, 0xef, 0]);
  const ce = new Uint8Array(28);
  ce.set([0x43, 0x45, 28, 1]);
  ce.set(both32(ceLba), 4);
  ce.set(both32(0), 12);
  ce.set(both32(er().length), 20);
  return concat([sp, px(0o40555, 2), ce]);
}

/** SUSP "ER": declares the Rock Ridge extension (too long for the record, hence the CE). */
function er(): Uint8Array {
  const id = ascii(RRIP_ID);
  const des = ascii(RRIP_DESCRIPTOR);
  const src = ascii(RRIP_SOURCE);
  const len = 8 + id.length + des.length + src.length;
  return concat([
    new Uint8Array([0x45, 0x52, len, 1, id.length, des.length, src.length, 1]),
    id,
    des,
    src,
  ]);
}

/** RRIP "PX" (1991A form, 36 bytes): POSIX mode and link count, owner root. */
function px(mode: number, links: number): Uint8Array {
  const r = new Uint8Array(36);
  r.set([0x50, 0x58, 36, 1]);
  r.set(both32(mode), 4);
  r.set(both32(links), 12);
  return r;
}

/** RRIP "NM": the real file name. */
function nm(name: string): Uint8Array {
  const n = ascii(name);
  return concat([new Uint8Array([0x4e, 0x4d, 5 + n.length, 1, 0]), n]);
}

/** Records laid into sectors; a record never crosses a sector boundary. */
function layout(records: Uint8Array[]): number[] {
  const at: number[] = [];
  let pos = 0;
  for (const r of records) {
    if (Math.floor(pos / SECTOR) !== Math.floor((pos + r.length - 1) / SECTOR)) {
      pos = Math.ceil(pos / SECTOR) * SECTOR;
    }
    at.push(pos);
    pos += r.length;
  }
  return [...at, pos];
}

function packedSectors(records: Uint8Array[]): number {
  return Math.max(1, Math.ceil(layout(records).at(-1)! / SECTOR));
}

function pack(records: Uint8Array[], sectors: number): Uint8Array {
  const out = new Uint8Array(sectors * SECTOR);
  const at = layout(records);
  records.forEach((r, i) => out.set(r, at[i]!));
  return out;
}

/** A path table with the root directory only (the image has no subdirectories). */
function pathTable(rootLba: number, littleEndian: boolean): Uint8Array {
  const t = new Uint8Array(10);
  const v = new DataView(t.buffer);
  t[0] = 1;
  v.setUint32(2, rootLba, littleEndian);
  v.setUint16(6, 1, littleEndian);
  return t;
}

/** Primary (type 1) or Joliet supplementary (type 2) volume descriptor. */
function volumeDescriptor(
  type: 1 | 2,
  volumeId: string,
  totalSectors: number,
  pathTableLba: number,
  rootRecord: Uint8Array,
  mtimeMs: number,
): Uint8Array {
  const d = new Uint8Array(SECTOR);
  const v = new DataView(d.buffer);
  const text = (s: string, width: number) =>
    type === 1 ? ascii(s.padEnd(width, " ")) : ucs2(s.padEnd(width / 2, " "));
  d.set([type, ...ascii("CD001"), 1]);
  d.set(text("", 32), 8);
  d.set(text(volumeId, 32), 40);
  d.set(both32(totalSectors), 80);
  if (type === 2) d.set(ascii("%/E"), 88); // Joliet level 3 (UCS-2)
  d.set(both16(1), 120);
  d.set(both16(1), 124);
  d.set(both16(SECTOR), 128);
  d.set(both32(10), 132);
  v.setUint32(140, pathTableLba, true);
  v.setUint32(148, pathTableLba + 1, false);
  d.set(rootRecord, 156);
  for (const [offset, width] of [[190, 128], [318, 128], [446, 128]] as const) {
    d.set(text("", width), offset);
  }
  d.set(text("PROXSCALE", 128), 574);
  for (const [offset, width] of [[702, 37], [739, 37], [776, 37]] as const) {
    d.set(type === 1 ? ascii("".padEnd(width)) : ucs2("".padEnd(18)), offset);
  }
  const stamp = decDate(mtimeMs);
  d.set(stamp, 813);
  d.set(stamp, 830);
  d.set(decDate(null), 847);
  d.set(decDate(null), 864);
  d[881] = 1;
  return d;
}

/** 7-byte directory record date, UTC. */
function recordDate(ms: number): Uint8Array {
  const t = new Date(ms);
  return new Uint8Array([
    t.getUTCFullYear() - 1900,
    t.getUTCMonth() + 1,
    t.getUTCDate(),
    t.getUTCHours(),
    t.getUTCMinutes(),
    t.getUTCSeconds(),
    0,
  ]);
}

/** 17-byte descriptor date ("YYYYMMDDHHMMSScc" + zone); null means "not specified". */
function decDate(ms: number | null): Uint8Array {
  if (ms === null) return concat([ascii("0".repeat(16)), new Uint8Array([0])]);
  const t = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return concat([
    ascii(
      `${p(t.getUTCFullYear(), 4)}${p(t.getUTCMonth() + 1)}${p(t.getUTCDate())}` +
        `${p(t.getUTCHours())}${p(t.getUTCMinutes())}${p(t.getUTCSeconds())}00`,
    ),
    new Uint8Array([0]),
  ]);
}

function both32(n: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, n, true);
  v.setUint32(4, n, false);
  return b;
}

function both16(n: number): Uint8Array {
  const b = new Uint8Array(4);
  const v = new DataView(b.buffer);
  v.setUint16(0, n, true);
  v.setUint16(2, n, false);
  return b;
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function ucs2(s: string): Uint8Array {
  const b = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    b[2 * i] = s.charCodeAt(i) >> 8;
    b[2 * i + 1] = s.charCodeAt(i) & 0xff;
  }
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}
