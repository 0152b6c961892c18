/**
 * How the fake BMC fetches a virtual media image: one GET of the URL it was given (HTTPS with
 * an optional CA to verify against, else unverified as many BMCs do by default; or plain HTTP),
 * the whole body kept in memory so tests can read what the machine "saw".
 *
 * May import: fakes/.
 */
import http from "node:http";
import https from "node:https";

/** One fetch of an image URL as the fake BMC made it. */
export type ImageFetch = {
  url: string;
  /** HTTP status, 0 when no answer arrived. */
  status: number;
  bytes: Uint8Array;
  /** Why it failed, when it did (no answer, or a status other than 200). */
  error?: string;
  at: number;
};

/** GETs `url` once; never rejects. */
export function fetchImage(
  url: string,
  opts: { caPem?: string; timeoutMs?: number; maxBytes?: number } = {},
): Promise<ImageFetch> {
  const at = Date.now();
  const max = opts.maxBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve) => {
    let done = false;
    const finish = (f: ImageFetch) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(f);
    };
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return finish({ url, status: 0, bytes: new Uint8Array(), error: "not a URL", at });
    }
    const onRes = (res: http.IncomingMessage) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      res.on("data", (c: Uint8Array) => {
        size += c.length;
        if (size <= max) chunks.push(c);
      });
      res.on("end", () => {
        const bytes = new Uint8Array(Math.min(size, max));
        let off = 0;
        for (const c of chunks) {
          bytes.set(c.subarray(0, bytes.length - off), off);
          off += c.length;
        }
        const status = res.statusCode ?? 0;
        finish({
          url,
          status,
          bytes,
          at,
          ...(status === 200 ? {} : { error: `image server answered HTTP ${status}` }),
        });
      });
      res.on(
        "error",
        (e) => finish({ url, status: 0, bytes: new Uint8Array(), error: e.message, at }),
      );
    };
    const req = parsed.protocol === "https:"
      ? https.get(url, {
        ...(opts.caPem ? { ca: opts.caPem } : {}),
        rejectUnauthorized: !!opts.caPem,
      }, onRes)
      : http.get(url, onRes);
    req.on(
      "error",
      (e) => finish({ url, status: 0, bytes: new Uint8Array(), error: e.message, at }),
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish({ url, status: 0, bytes: new Uint8Array(), error: "timed out", at });
    }, opts.timeoutMs ?? 30_000);
  });
}
