/**
 * The order-free digest of a node's pod set that consolidateAfter compares from pass to pass:
 * the pod count and the sum of the pods' uid hashes, as `count:base36(sum)`. A pass asks it for
 * every candidate, and a node's pods rarely change between passes, so the last answer per key is
 * kept with the uids it was made from and returned again while the same uids come in the same
 * order (compared one by one, so any change is seen). A pure function's cache: same uids, same
 * text.
 *
 * May import: core/ only.
 */
import type { Pod } from "./model.ts";
import { base36, fnv1aMemo } from "./hash.ts";

type Entry = { uids: string[]; digest: string };
const last = new Map<string, Entry>();
/** Bound on remembered keys (claim names); cleared when reached, like the hash memos. */
const MAX_KEYS = 100_000;

/** `count:base36(sum of fnv1a(uid))` of `pods`; `key` names whose set it is (the NodeClaim). */
export function podSetDigest(key: string, pods: readonly Pod[]): string {
  const had = last.get(key);
  if (had !== undefined && had.uids.length === pods.length) {
    let same = true;
    for (let i = 0; i < pods.length; i++) {
      if (had.uids[i] !== pods[i]!.uid) {
        same = false;
        break;
      }
    }
    if (same) return had.digest;
  }
  let sum = 0;
  const uids: string[] = [];
  for (const p of pods) {
    sum = (sum + fnv1aMemo(p.uid)) >>> 0;
    uids.push(p.uid);
  }
  const digest = `${pods.length}:${base36(sum)}`;
  if (had === undefined && last.size >= MAX_KEYS) last.clear();
  last.set(key, { uids, digest });
  return digest;
}
