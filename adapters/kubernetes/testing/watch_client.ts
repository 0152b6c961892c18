/**
 * A KubeClient stand-in for informer tests, with no socket: `requestStream` answers a list
 * from an in-memory collection per path and a watch (`watch=true`) with a stream the test feeds
 * event by event, closes cleanly, or that ends when the caller aborts. The next request on a
 * path can be scripted to fail with an HTTP status (a 410 Gone, say).
 *
 * May import: adapters/kubernetes/client.ts, core/result.ts.
 */
import { err, ok, type Result } from "../../../core/result.ts";
import type { KubeClient, KubeError, RequestOptions } from "../client.ts";

/** One request as the informer sent it. */
export type StreamCall = { path: string; query: Record<string, string> };

/** The stand-in server and the handles a test drives it with. */
export type WatchServer = {
  /** Passed where a KubeClient is expected. */
  client: KubeClient;
  /** Every requestStream call, in order. */
  calls: StreamCall[];
  /** Sets what a list of `path` returns: these items at this collection resourceVersion. */
  setList(path: string, items: unknown[], resourceVersion: string): void;
  /** Sends one watch event to every open watch of `path`. */
  emit(path: string, type: string, object: unknown): void;
  /** Ends every open watch of `path` cleanly (as a server-side timeout does). */
  closeWatches(path: string): void;
  /** The next request on `path` answers with this HTTP status instead. */
  failNext(path: string, code: number, reason: string): void;
  /** How many watches of `path` are open now. */
  openWatches(path: string): number;
};

const enc = new TextEncoder();

/** A fresh stand-in server with empty collections. */
export function watchServer(): WatchServer {
  const lists = new Map<string, { items: unknown[]; rv: string }>();
  const watches = new Map<string, Set<ReadableStreamDefaultController<Uint8Array>>>();
  const failures = new Map<string, { code: number; reason: string }[]>();
  const calls: StreamCall[] = [];
  const open = (path: string) => {
    let s = watches.get(path);
    if (!s) watches.set(path, s = new Set());
    return s;
  };

  const requestStream = (
    path: string,
    opts: RequestOptions = {},
  ): Promise<Result<Response, KubeError>> => {
    const query = { ...(opts.query ?? {}) };
    calls.push({ path, query });
    const f = failures.get(path)?.shift();
    if (f) {
      return Promise.resolve(err({
        kind: "Status",
        code: f.code,
        reason: f.reason,
        message: `${f.reason} (scripted)`,
        causes: [],
      }));
    }
    if (query.watch === "true") {
      const set = open(path);
      let ctl!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start: (c) => {
          ctl = c;
          set.add(c);
        },
        cancel: () => void set.delete(ctl),
      });
      opts.signal?.addEventListener("abort", () => {
        if (set.delete(ctl)) ctl.close();
      }, { once: true });
      return Promise.resolve(ok(new Response(body, { status: 200 })));
    }
    const l = lists.get(path) ?? { items: [], rv: "1" };
    const text = JSON.stringify({
      kind: "List",
      apiVersion: "v1",
      metadata: { resourceVersion: l.rv },
      items: l.items,
    });
    return Promise.resolve(ok(new Response(text, { status: 200 })));
  };

  return {
    client: { requestStream } as unknown as KubeClient,
    calls,
    setList: (path, items, rv) => void lists.set(path, { items: structuredClone(items), rv }),
    emit: (path, type, object) => {
      const line = enc.encode(JSON.stringify({ type, object }) + "\n");
      for (const c of open(path)) c.enqueue(line);
    },
    closeWatches: (path) => {
      const set = open(path);
      for (const c of set) c.close();
      set.clear();
    },
    failNext: (path, code, reason) => {
      const q = failures.get(path) ?? [];
      q.push({ code, reason });
      failures.set(path, q);
    },
    openWatches: (path) => open(path).size,
  };
}
