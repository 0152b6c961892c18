/**
 * `limit`/`continue` paging of list requests. Items come in key order (`<namespace>/<name>`,
 * or the name for cluster-scoped kinds), as etcd returns them. The continue token is opaque
 * to clients: base64url (no padding) of `{"v":"meta.k8s.io/v1","rv":<list version>,
 * "start":"<last key>\u0000"}`. A continued page keeps the first page's resourceVersion; when
 * that version has been compacted away the answer is 410 Expired with the apiserver's message
 * and, in the Status's metadata, a token (rv -1) that continues at the latest version.
 * `remainingItemCount` is set when more items follow and no selector filtered the list. A
 * first request with `resourceVersion=0` ignores `limit` (the watch cache serves it whole).
 *
 * Deviation: the fake keeps no snapshots, so later pages show current objects (a real server
 * reads them at the first page's version).
 *
 * May import: status.ts, store_types.ts (types), resources.ts (types).
 */
import type { ResourceDef } from "./resources.ts";
import { badRequest, failure, type Status } from "./status.ts";
import type { Entry } from "./store_types.ts";

/** One page of a list. */
export type Page = {
  entries: Entry[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
};

type Token = { v: string; rv: number; start: string };

const EXPIRED =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

function b64url(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unb64url(s: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(bin, (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}

/** Encodes a continue token. */
export function encodeContinue(rv: number, lastKey: string): string {
  return b64url(JSON.stringify({ v: "meta.k8s.io/v1", rv, start: `${lastKey}\u0000` }));
}

/** Decodes a continue token, or says why it is not valid. */
export function decodeContinue(token: string): Token | string {
  const text = unb64url(token);
  if (text === undefined) return "illegal base64 data";
  let t: Partial<Token>;
  try {
    t = JSON.parse(text);
  } catch {
    return "invalid character in the token";
  }
  if (t.v !== "meta.k8s.io/v1") {
    return "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)";
  }
  if (typeof t.rv !== "number" || !Number.isInteger(t.rv) || t.rv === 0 || t.rv < -1) {
    return "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)";
  }
  if (typeof t.start !== "string" || t.start === "") {
    return "continue key is not valid: encoded start key empty";
  }
  if (t.start.split("/").some((s) => s === "..")) {
    return "continue key is not valid: path traversal attempt detected";
  }
  return t as Token;
}

/** The storage key of an entry, relative to its resource. */
export function entryKey(def: ResourceDef, e: Entry): string {
  const m = e.obj.metadata;
  return def.namespaced ? `${m.namespace ?? ""}/${m.name}` : m.name ?? "";
}

/**
 * Cuts one page out of a list. `current` is the store's resourceVersion, `compacted` the
 * oldest version still readable, `filtered` whether a selector was given.
 */
export function pageList(
  def: ResourceDef,
  entries: Entry[],
  q: URLSearchParams,
  current: string,
  compacted: number,
  filtered: boolean,
): Page | Status {
  const limitText = q.get("limit");
  const cont = q.get("continue") ?? "";
  const limit = limitText !== null && /^\d+$/.test(limitText) ? Number(limitText) : 0;
  const rvParam = q.get("resourceVersion") ?? "";
  // resourceVersion=0 is served from the watch cache, which ignores limit in v1.32.
  if ((!limit || rvParam === "0") && !cont) return { entries, resourceVersion: current };
  let rv = Number(current);
  let start = "";
  if (cont) {
    if (rvParam && rvParam !== "0") {
      return badRequest("specifying resource version is not allowed when using continue");
    }
    const t = decodeContinue(cont);
    if (typeof t === "string") return badRequest(`invalid continue token: ${t}`);
    if (t.rv !== -1 && t.rv < compacted) {
      const s = failure(410, "Expired", EXPIRED);
      (s as { metadata: Record<string, string> }).metadata = {
        continue: b64url(JSON.stringify({ v: "meta.k8s.io/v1", rv: -1, start: t.start })),
      };
      return s;
    }
    if (t.rv !== -1) rv = t.rv;
    start = t.start;
  }
  const keyed = entries.map((e) => ({ e, key: entryKey(def, e) }))
    .filter((x) => !start || x.key >= start)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const page = limit ? keyed.slice(0, limit) : keyed;
  const out: Page = { entries: page.map((x) => x.e), resourceVersion: String(rv) };
  if (limit && keyed.length > limit) {
    out.continue = encodeContinue(rv, page[page.length - 1]!.key);
    if (!filtered) out.remainingItemCount = keyed.length - limit;
  }
  return out;
}
