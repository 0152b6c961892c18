/**
 * The guest's view of its cdrom drives: the first attached ISO labelled `cidata` (the NoCloud
 * datasource's volume label, matched case-insensitively as cloud-init does) and its
 * user-data, meta-data and network-config files. The ISO is read with the project's ISO 9660 reader, a wire
 * parser that trusts nothing the writer recorded. Without such an ISO, PVE's own cloud-init
 * drive counts when `cicustom` names user-data (and meta-data) snippets whose bytes the fake
 * holds: PVE copies those files onto the drive it generates.
 *
 * May import: adapters/bootstrap/iso9660_reader.ts, fakes/.
 */
import { readIso } from "../../../adapters/bootstrap/iso9660_reader.ts";
import type { PveModel } from "../../fake_pve/model.ts";

/** The NoCloud files the guest found; meta-data and network-config may be missing. */
export type SeedFiles = { userData: string; metaData?: string; networkConfig?: string };

const CDROM_SLOT = /^(ide|sata|scsi)\d+$/;

/** Reads the seed from a VM's cdrom drives, or undefined when none carries a cidata ISO. */
export function readSeedMedia(
  model: PveModel,
  host: string,
  values: ReadonlyMap<string, string>,
): SeedFiles | undefined {
  const slots = [...values.keys()].filter((k) => CDROM_SLOT.test(k)).sort();
  for (const k of slots) {
    const v = values.get(k)!;
    if (!/(^|,)media=cdrom(,|$)/.test(v)) continue;
    const volid = v.split(",")[0]!;
    if (volid === "none" || volid === "cdrom" || !volid.includes(":")) continue;
    const data = model.volumeData(host, volid);
    if (!data) continue;
    const files = seedFilesFromIso(data);
    if (files) return files;
  }
  return fromCicustom(model, host, values);
}

/** The NoCloud files of an ISO image labelled `cidata` (a VM's cdrom, a BMC's virtual CD). */
export function seedFilesFromIso(data: Uint8Array): SeedFiles | undefined {
  const iso = readIso(data);
  if (!iso.ok || iso.value.volumeId.toLowerCase() !== "cidata") return undefined;
  const file = (name: string) => {
    const f = iso.value.rockRidge.find((x) => x.name === name) ??
      iso.value.joliet.find((x) => x.name === name);
    return f ? new TextDecoder().decode(f.data) : undefined;
  };
  const userData = file("user-data");
  if (userData === undefined) return undefined;
  const metaData = file("meta-data");
  const networkConfig = file("network-config");
  return {
    userData,
    ...(metaData !== undefined ? { metaData } : {}),
    ...(networkConfig !== undefined ? { networkConfig } : {}),
  };
}

/** `cicustom: user=<volid>[,meta=<volid>]` with a PVE cloud-init drive attached. */
function fromCicustom(
  model: PveModel,
  host: string,
  values: ReadonlyMap<string, string>,
): SeedFiles | undefined {
  const cicustom = values.get("cicustom");
  if (!cicustom) return undefined;
  const hasDrive = [...values].some(([k, v]) =>
    CDROM_SLOT.test(k) && /cloudinit/.test(v.split(",")[0]!)
  );
  if (!hasDrive) return undefined;
  const part = (name: string) => {
    const m = new RegExp(`(?:^|,)${name}=([^,]+)`).exec(cicustom);
    const data = m ? model.volumeData(host, m[1]!) : undefined;
    return data ? new TextDecoder().decode(data) : undefined;
  };
  const userData = part("user");
  if (userData === undefined) return undefined;
  const metaData = part("meta");
  const networkConfig = part("network");
  return {
    userData,
    ...(metaData !== undefined ? { metaData } : {}),
    ...(networkConfig !== undefined ? { networkConfig } : {}),
  };
}
