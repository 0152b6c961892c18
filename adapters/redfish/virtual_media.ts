/**
 * A Manager's VirtualMedia: the CD/DVD slot of the BMC that manages a System, and the
 * `VirtualMedia.InsertMedia` (an image URL the BMC fetches) and `VirtualMedia.EjectMedia`
 * actions on it.
 *
 * May import: core/, adapters/.
 */
import { err, ok, type Result } from "../../core/result.ts";
import { isObject, odataId, type RedfishClient } from "./client.ts";
import { localError, type RedfishError } from "./errors.ts";
import type { SystemInfo } from "./systems.ts";

/** One virtual media slot as proxscale reads it. */
export type MediaInfo = {
  path: string;
  inserted: boolean;
  /** The image URL the BMC holds ("" when none). */
  image: string;
  mediaTypes: string[];
  insertTarget: string;
  ejectTarget: string;
};

/** Parses a VirtualMedia body (exported for unit tests). */
export function parseMedia(path: string, b: Record<string, unknown>): MediaInfo {
  const actions = isObject(b.Actions) ? b.Actions : {};
  const base = path.replace(/\/$/, "");
  const target = (name: string, fallback: string) => {
    const a = actions[name];
    return isObject(a) && typeof a.target === "string" ? a.target : fallback;
  };
  return {
    path,
    inserted: b.Inserted === true,
    image: typeof b.Image === "string" ? b.Image : "",
    mediaTypes: Array.isArray(b.MediaTypes)
      ? b.MediaTypes.filter((x) => typeof x === "string")
      : [],
    insertTarget: target("#VirtualMedia.InsertMedia", `${base}/Actions/VirtualMedia.InsertMedia`),
    ejectTarget: target("#VirtualMedia.EjectMedia", `${base}/Actions/VirtualMedia.EjectMedia`),
  };
}

/** The first CD or DVD slot of the Managers that manage `system`. */
export async function findCdMedia(
  c: RedfishClient,
  system: SystemInfo,
): Promise<Result<MediaInfo, RedfishError>> {
  for (const m of system.managers) {
    const mgr = await c.get(m);
    if (!mgr.ok) return mgr;
    const col = odataId(mgr.value.body.VirtualMedia);
    if (!col) continue;
    const slots = await c.members(col);
    if (!slots.ok) return slots;
    for (const s of slots.value) {
      const r = await readMedia(c, s);
      if (!r.ok) return r;
      if (r.value.mediaTypes.some((t) => t === "CD" || t === "DVD")) return r;
    }
  }
  return err(
    localError(
      "notFound",
      `GET ${system.path}`,
      `no CD/DVD virtual media on the Managers of System ${system.id}`,
      404,
    ),
  );
}

/** Reads one slot. */
export async function readMedia(
  c: RedfishClient,
  path: string,
): Promise<Result<MediaInfo, RedfishError>> {
  const r = await c.get(path);
  return r.ok ? ok(parseMedia(path, r.value.body)) : r;
}

/** Inserts the image at `url` (read-only, not kept across a reset of the BMC). */
export async function insertMedia(
  c: RedfishClient,
  media: MediaInfo,
  url: string,
): Promise<Result<void, RedfishError>> {
  const r = await c.action(media.insertTarget, {
    Image: url,
    Inserted: true,
    WriteProtected: true,
  });
  return r.ok ? ok(undefined) : r;
}

/** Ejects whatever the slot holds; an empty slot is success. */
export async function ejectMedia(
  c: RedfishClient,
  media: MediaInfo,
): Promise<Result<void, RedfishError>> {
  if (!media.inserted) return ok(undefined);
  const r = await c.action(media.ejectTarget, {});
  return r.ok ? ok(undefined) : r;
}
