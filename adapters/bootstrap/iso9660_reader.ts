/**
 * A small ISO 9660 reader for seed images: the volume label and the root directory's files,
 * named by Rock Ridge NM entries, by the Joliet tree, and by the plain ISO identifiers. It
 * exists to check what proxscale built (tests, the fake PVE inspecting uploads, secret-hygiene
 * checks) without trusting the writer's own bookkeeping. Root directory only: seed images
 * have no subdirectories.
 */
import { err, ok, type Result } from "../../core/result.ts";
import type { IsoFile } from "./iso9660.ts";

/** What a seed image holds, as each naming scheme sees it. */
export type IsoContents = {
  volumeId: string;
  /** Root files named by Rock Ridge NM (falls back to the ISO identifier when absent). */
  rockRidge: IsoFile[];
  /** Root files named by the Joliet tree; empty when the image has none. */
  joliet: IsoFile[];
  /** The plain ISO 9660 identifiers, version suffix included ("USER_DAT.;1"). */
  isoNames: string[];
  jolietVolumeId?: string;
};

/** Why an image could not be read. */
export type IsoReadError = { kind: "IsoUnreadable"; message: string };

const SECTOR = 2048;

/** Reads the root directory of an ISO 9660 image. */
export function readIso(image: Uint8Array): Result<IsoContents, IsoReadError> {
  const fail = (message: string) => err<IsoReadError>({ kind: "IsoUnreadable", message });
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  let primary: number | undefined;
  let joliet: number | undefined;
  for (let s = 16; (s + 1) * SECTOR <= image.length; s++) {
    const at = s * SECTOR;
    if (text(image, at + 1, 5) !== "CD001") return fail(`sector ${s} is not a volume descriptor`);
    const type = image[at]!;
    if (type === 255) break;
    if (type === 1) primary = at;
    const esc = text(image, at + 88, 3);
    if (type === 2 && (esc === "%/@" || esc === "%/C" || esc === "%/E")) joliet = at;
  }
  if (primary === undefined) return fail("no primary volume descriptor");
  const volumeId = text(image, primary + 40, 32).trimEnd();
  const rootAt = (descriptor: number) => ({
    lba: view.getUint32(descriptor + 156 + 2, true),
    size: view.getUint32(descriptor + 156 + 10, true),
  });
  const primaryRoot = rootAt(primary);
  const records = directory(image, view, primaryRoot.lba, primaryRoot.size);
  if (!records.ok) return records;
  const rockRidge: IsoFile[] = [];
  const isoNames: string[] = [];
  for (const r of records.value) {
    const id = text(image, r.at + 33, r.idLen);
    isoNames.push(id);
    const suStart = r.at + 33 + r.idLen + (r.idLen % 2 === 0 ? 1 : 0);
    const name = nmName(image, suStart, r.at + r.len) ?? id.replace(/;1$/, "").replace(/\.$/, "");
    rockRidge.push({ name, data: image.slice(r.lba * SECTOR, r.lba * SECTOR + r.size) });
  }
  const out: IsoContents = { volumeId, rockRidge, joliet: [], isoNames };
  if (joliet !== undefined) {
    const jr = rootAt(joliet);
    const jrecords = directory(image, view, jr.lba, jr.size);
    if (!jrecords.ok) return jrecords;
    out.jolietVolumeId = ucs2(image, joliet + 40, 32).trimEnd();
    for (const r of jrecords.value) {
      const name = ucs2(image, r.at + 33, r.idLen).replace(/;1$/, "");
      out.joliet.push({ name, data: image.slice(r.lba * SECTOR, r.lba * SECTOR + r.size) });
    }
  }
  return ok(out);
}

type Rec = { at: number; len: number; lba: number; size: number; idLen: number };

/** File records of one directory extent (skipping "." and ".."). */
function directory(
  image: Uint8Array,
  view: DataView,
  lba: number,
  size: number,
): Result<Rec[], IsoReadError> {
  const start = lba * SECTOR;
  if (start + size > image.length) {
    return err({ kind: "IsoUnreadable", message: `directory at sector ${lba} runs past the end` });
  }
  const out: Rec[] = [];
  let pos = start;
  while (pos < start + size) {
    const len = image[pos]!;
    if (len === 0) {
      // Records never cross sectors: a zero byte means "continue at the next sector".
      pos = (Math.floor((pos - start) / SECTOR) + 1) * SECTOR + start;
      continue;
    }
    const idLen = image[pos + 32]!;
    const isDotEntry = idLen === 1 && (image[pos + 33] === 0 || image[pos + 33] === 1);
    const flags = image[pos + 25]!;
    if (!isDotEntry && (flags & 2) === 0) {
      out.push({
        at: pos,
        len,
        lba: view.getUint32(pos + 2, true),
        size: view.getUint32(pos + 10, true),
        idLen,
      });
    }
    pos += len;
  }
  return ok(out);
}

/** The Rock Ridge NM name in a system use area, if there is one. */
function nmName(image: Uint8Array, from: number, to: number): string | undefined {
  let pos = from;
  while (pos + 4 <= to) {
    const sig = text(image, pos, 2);
    const len = image[pos + 2]!;
    if (len < 4) return undefined;
    if (sig === "NM") return text(image, pos + 5, len - 5);
    pos += len;
  }
  return undefined;
}

function text(b: Uint8Array, at: number, len: number): string {
  return String.fromCharCode(...b.subarray(at, at + len));
}

function ucs2(b: Uint8Array, at: number, len: number): string {
  let s = "";
  for (let i = 0; i + 1 < len; i += 2) s += String.fromCharCode((b[at + i]! << 8) | b[at + i + 1]!);
  return s;
}
