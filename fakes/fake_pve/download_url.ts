/**
 * `POST /nodes/{node}/storage/{storage}/download-url` of the fake PVE: synchronous parameter and
 * storage checks as PVE makes them, then a `download` task that really fetches the URL over
 * HTTP(S), verifies the checksum with the named algorithm (PVE's `checksum mismatch` text), and
 * stores the bytes as a volume of the requested content (`iso`, `vztmpl` or `import`). Every
 * fetch is counted per URL so tests can prove a download happened once.
 *
 * May import: node:crypto, ./state.ts, ./scheduler.ts, ./vm_config.ts (types).
 */
import { createHash } from "node:crypto";
import type { ModelState, Outcome, StorageState } from "./state.ts";
import { sleep, TaskFailure } from "./scheduler.ts";
import type { Params } from "./vm_config.ts";

/** Algorithms PVE accepts for `checksum-algorithm`. */
export const CHECKSUM_ALGORITHMS = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];
const CONTENTS = ["iso", "vztmpl", "import"];
const KNOWN = new Set([
  "node",
  "storage",
  "url",
  "content",
  "filename",
  "checksum",
  "checksum-algorithm",
  "verify-certificates",
  "compression",
]);
/** How often a waiting download task looks whether the fetch finished (ms of model time). */
const POLL_MS = 25;

function fail400(st: ModelState, errors: Record<string, string>) {
  return { ok: false as const, error: st.fail(400, "Parameter verification failed.", errors) };
}

/** The file name PVE accepts for a content type, or why not. */
function filenameError(content: string, name: string): string | undefined {
  if (name.includes("/") || name === "." || name === "..") return "invalid filename";
  if (content === "iso" && !/\.(iso|img)$/i.test(name)) return "wrong file extension";
  if (content === "vztmpl" && !/\.(tar|tar\.gz|tgz|tar\.xz|tar\.zst)$/i.test(name)) {
    return "wrong file extension";
  }
  if (content === "import" && !/\.(ova|qcow2|raw|vmdk|img)$/i.test(name)) {
    return "invalid filename or wrong extension";
  }
  return undefined;
}

/** The directory PVE writes a content type into on a file-based storage. */
function contentPath(s: StorageState, content: string, name: string): string {
  const base = s.id === "local" ? "/var/lib/vz" : `/mnt/pve/${s.id}`;
  const dir = content === "iso"
    ? "template/iso"
    : content === "vztmpl"
    ? "template/cache"
    : "import";
  return `${base}/${dir}/${name}`;
}

/** Starts the download task; see the file comment. Returns the UPID. */
export function downloadUrl(
  st: ModelState,
  node: string,
  id: string,
  params: Params,
  user: string,
): Outcome<string> {
  const errors: Record<string, string> = {};
  for (const k of Object.keys(params)) {
    if (!KNOWN.has(k)) {
      errors[k] =
        "property is not defined in schema and the schema does not allow additional properties";
    }
  }
  for (const k of ["url", "content", "filename"]) {
    if (params[k] === undefined) errors[k] = "property is missing and it is not optional";
  }
  if (params.content !== undefined && !CONTENTS.includes(params.content)) {
    errors.content = `value '${params.content}' does not have a value in the enumeration '${
      CONTENTS.join(", ")
    }'`;
  }
  const algo = params["checksum-algorithm"];
  if (algo !== undefined && !CHECKSUM_ALGORITHMS.includes(algo)) {
    errors["checksum-algorithm"] = `value '${algo}' does not have a value in the enumeration '${
      CHECKSUM_ALGORITHMS.join(", ")
    }'`;
  }
  if (params.checksum !== undefined && algo === undefined) {
    errors["checksum-algorithm"] = "missing property - 'checksum' requires this property";
  }
  if (algo !== undefined && params.checksum === undefined) {
    errors.checksum = "missing property - 'checksum-algorithm' requires this property";
  }
  if (params.url !== undefined && !/^(https?|ftp):\/\/\S+$/.test(params.url)) {
    errors.url = "value does not match the regex pattern";
  }
  if (Object.keys(errors).length > 0) return fail400(st, errors);
  const content = params.content!;
  const filename = params.filename!;
  const fnErr = filenameError(content, filename);
  if (fnErr) return fail400(st, { filename: fnErr });
  const s = st.storageOn(node, id);
  if (!s) return { ok: false, error: st.fail(500, `storage '${id}' does not exist`) };
  if (!s.enabled) return { ok: false, error: st.fail(500, `storage '${id}' is disabled`) };
  if (s.type !== "dir" && s.type !== "nfs") {
    return {
      ok: false,
      error: st.fail(500, `cannot download to storage type '${s.type}'`),
    };
  }
  if (!s.content.includes(content)) {
    return {
      ok: false,
      error: st.fail(500, `storage '${id}' is not configured for content-type '${content}'`),
    };
  }
  const volName = `${content}/${filename}`;
  const dest = contentPath(s, content, filename);
  if (st.volumesOf(node, s).has(volName)) {
    return { ok: false, error: st.fail(500, `refusing to override existing file '${dest}'`) };
  }
  const url = params.url!;
  st.downloads.set(url, (st.downloads.get(url) ?? 0) + 1);
  const got: { bytes?: Uint8Array; error?: string } = {};
  fetch(url).then(async (res) => {
    if (!res.ok) {
      await res.body?.cancel();
      got.error = `ERROR ${res.status}: ${res.statusText}.`;
      return;
    }
    got.bytes = new Uint8Array(await res.arrayBuffer());
  }).catch((e) => {
    got.error = `unable to connect: ${e instanceof Error ? e.message : String(e)}`;
  });
  // The worker id is the file name with characters outside [-_.A-Za-z0-9] as \xNN (PVE's
  // encode_text), so a client can find the download of a file among the host's tasks.
  const workerId = filename.replace(
    /[^-_.A-Za-z0-9]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  const task = st.startTask(node, "download", workerId, user, function* (t) {
    const tmp = `${dest}.tmp_dwnl.${t.pid}`;
    t.log.push(`downloading ${url} to ${tmp}`);
    while (got.bytes === undefined && got.error === undefined) yield sleep(POLL_MS);
    if (got.error !== undefined) {
      t.log.push(got.error);
      throw new TaskFailure(`download failed: ${got.error}`);
    }
    const bytes = got.bytes!;
    t.log.push(`${url}: ${bytes.length} bytes`);
    yield sleep(st.duration("download", undefined, node));
    if (params.checksum !== undefined) {
      t.log.push("calculating checksum...");
      const sum = createHash(algo!).update(bytes).digest("hex");
      if (sum.toLowerCase() !== params.checksum.toLowerCase()) {
        throw new TaskFailure(`checksum mismatch: got '${sum}' != expect '${params.checksum}'`);
      }
      t.log.push("checksum verified");
    }
    const vols = st.volumesOf(node, s);
    if (vols.has(volName)) throw new TaskFailure(`refusing to override existing file '${dest}'`);
    if (st.usedBytes(node, s) + bytes.length > s.total) {
      throw new TaskFailure(`error writing '${tmp}': No space left on device`);
    }
    vols.set(volName, { storage: s.id, name: volName, size: bytes.length, content, data: bytes });
    t.log.push(`download of '${url}' to '${dest}' finished`);
  });
  return { ok: true, value: task.upid };
}
