/**
 * The guest's view of its cdrom drives: the first attached ISO labelled `cidata` (the NoCloud
 * datasource's volume label, matched case-insensitively as cloud-init does) and its
 * user-data and meta-data files. The ISO is read with the project's ISO 9660 reader, a wire
 * parser that trusts nothing the writer recorded.
 *
 * May import: adapters/bootstrap/iso9660_reader.ts, fakes/.
 */
import { readIso } from "../../../adapters/bootstrap/iso9660_reader.ts";
import type { PveModel } from "../../fake_pve/model.ts";

/** The NoCloud files the guest found; meta-data may be missing. */
export type SeedFiles = { userData: string; metaData?: string };

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
    const iso = readIso(data);
    if (!iso.ok || iso.value.volumeId.toLowerCase() !== "cidata") continue;
    const file = (name: string) => {
      const f = iso.value.rockRidge.find((x) => x.name === name) ??
        iso.value.joliet.find((x) => x.name === name);
      return f ? new TextDecoder().decode(f.data) : undefined;
    };
    const userData = file("user-data");
    if (userData === undefined) continue;
    const metaData = file("meta-data");
    return metaData === undefined ? { userData } : { userData, metaData };
  }
  return undefined;
}
