/**
 * fakes/fake_kube: a stateful fake Kubernetes API server (a v1.32 subset) over HTTP or HTTPS,
 * faithful enough for kubectl 1.32 and @kubernetes/client-node 2.0.1
 * (../shared/docs/kubernetes-api.md). Tests and the simulator import it; production code
 * (adapters/, daemon/) never does.
 *
 * Exported API (what adapters/kubernetes tests call):
 *
 *   startFakeKube(opts?: FakeKubeOptions): Promise<FakeKube>
 *
 *   type FakeKubeOptions = {
 *     port?: number;               // default 0 (ephemeral); always binds 127.0.0.1
 *     tls?: boolean;               // default true (HTTPS, §11.3); false = plain HTTP
 *     token?: string;              // admin bearer token; default random (seeded)
 *     users?: Record<string, string>;  // extra bearer tokens → user names
 *     seed?: number;               // uids, generated names and faults are repeatable
 *     faults?: Partial<KubeFaults>;
 *     historyLimit?: number;       // watch events kept per resource (default 10000)
 *     authorize?: (req: AuthzRequest) => boolean;  // RBAC hook; false → 403 (also answers
 *                                  // POST …/selfsubjectaccessreviews, as `kubectl auth can-i`)
 *     aggregatedDiscovery?: boolean;   // default true
 *     bookmarkIntervalMs?: number;     // default 60000 (when allowWatchBookmarks=true)
 *     watchTimeoutMs?: number;         // default 600000 when timeoutSeconds is absent
 *     now?: () => number;              // clock for timestamps (epoch ms), default Date.now
 *     gracefulDeletion?: { scale: number } | "hold";  // fake kubelet; default { scale: 1 }
 *     crdEstablishDelayMs?: number;    // default 0
 *     podGcOnNodeDelete?: boolean;     // delete pods bound to a deleted Node; default false
 *     applyOwnership?: boolean;        // managedFields and SSA ownership: 409 conflicts, removals; default true
 *     cel?: CelEvaluator;              // CEL hook for x-kubernetes-validations
 *     initialResourceVersion?: number; // default Date.now() * 1000
 *   }
 *
 *   type FakeKube = {
 *     url: string;                 // "https://127.0.0.1:<port>" or "http://…"
 *     port: number;
 *     token: string;               // admin bearer token
 *     caPem?: string;              // CA to trust (HTTPS only)
 *     store: KubeStore;            // in-process create/get/list/update/patch/delete/watch/evict
 *     faults: FaultControl;        // mutable KubeFaults + dropWatches()
 *     requests: RequestRecord[];   // last 10000 requests (method, path, query, content-type, user)
 *     kubeconfig(): string;        // kubeconfig YAML for this server
 *     close(): Promise<void>;      // ends watches, timers and the listener
 *   }
 *
 * In-process store (store.ts; `ref` is "pods", "leases.coordination.k8s.io",
 * "nodepools.proxscale.io" or "group/version/plural"; results are Result<T, Status>):
 *
 *   store.create(ref, obj, { namespace?, dryRun?, fieldValidation?, fieldManager? })
 *   store.get(ref, namespace | undefined, name)
 *   store.list(ref, { namespace?, labelSelector?, fieldSelector? })  → { items, resourceVersion }
 *   store.update(ref, obj, { namespace?, name?, subresource?: "status", ... })  // PUT semantics
 *   store.patch(ref, namespace, name, "json" | "merge" | "strategic" | "apply", body,
 *               { fieldManager?, force?, subresource?, dryRun?, fieldValidation? })
 *   store.delete(ref, namespace, name, { preconditions?, gracePeriodSeconds?, dryRun? })
 *   store.watch(ref, { namespace?, labelSelector?, fieldSelector?, resourceVersion? }, onEvent)
 *     → { stop() }  (events delivered synchronously; objects are shared, do not mutate)
 *   store.evict(namespace, name, evictionBody?), store.bind(namespace, name, bindingBody)
 *   store.resourceVersion(), store.compactHistory(ref?), store.sync(),
 *   store.pausePdbController(bool), store.peek(ref, ns, name), store.finishDeletion(...)
 *
 * Known deviations from a v1.32 apiserver: continued list pages show current objects, not a
 * snapshot at the first page's version (paging.ts); fieldValidation=Strict checks unknown fields of custom resources
 * only; PDB `expectedPods` is the number of matching pods (no controller scale lookup);
 * propagationPolicy Orphan/Foreground only add their finalizer (the garbage collector of
 * fakes/cluster/controllers/ finishes them); custom-resource defaults apply on write, not on
 * read; CEL rules run from their source text without cost limits; no node heartbeat Leases;
 * no protobuf (protobuf bodies are 415, protobuf-only Accept is 406 for built-ins and JSON for
 * custom resources, negotiation.ts); HTTP/1.1 only (no h2, which crashes undici under Deno on
 * shutdown).
 */
import {
  aggregated,
  AGGREGATED_CONTENT_TYPE,
  apiGroup,
  apiGroupList,
  apiVersions,
  resourceList,
  VERSION_INFO,
  wantsAggregated,
} from "./discovery.ts";
import { type FaultControl, type KubeFaults, noFaults } from "./faults.ts";
import { kubeconfigYaml } from "./kubeconfig.ts";
import { CLIENT_CERT_HEADER, listen } from "./listener.ts";
import { seededRandom } from "./objects.ts";
import { openApiIndex } from "./openapi.ts";
import {
  goBool,
  handleResource,
  jsonResponse,
  parseTarget,
  statusResponse,
  type Target,
  verbOf,
} from "./routes.ts";
import { forbidden, internalError, notFoundPath, type Status, unauthorized } from "./status.ts";
import { KubeStore, type WatchEvent } from "./store.ts";
import { tlsMaterial } from "./tls.ts";
import { initialEventsEnd } from "./watch_list.ts";

export { KubeStore } from "./store.ts";
export type {
  DeleteOptions,
  ListOptions,
  StoreResult,
  WatchEvent,
  WatchOptions,
  WriteOptions,
  WriteResult,
} from "./store.ts";
export type { KObj } from "./objects.ts";
export type { FaultControl, KubeFaults } from "./faults.ts";
export type { PatchType } from "./patch_request.ts";
export type { Status } from "./status.ts";

/** What the RBAC hook is asked, per resource request. */
export type AuthzRequest = {
  user: string;
  groups: string[];
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
};

/** Options of `startFakeKube` (documented field by field at the top of this file). */
export type FakeKubeOptions = {
  port?: number;
  tls?: boolean;
  token?: string;
  users?: Record<string, string>;
  seed?: number;
  faults?: Partial<KubeFaults>;
  historyLimit?: number;
  authorize?: (req: AuthzRequest) => boolean;
  aggregatedDiscovery?: boolean;
  bookmarkIntervalMs?: number;
  watchTimeoutMs?: number;
  now?: () => number;
  gracefulDeletion?: { scale: number } | "hold";
  crdEstablishDelayMs?: number;
  podGcOnNodeDelete?: boolean;
  applyOwnership?: boolean;
  initialResourceVersion?: number;
};

/** One served request, for tests that assert what a client sent. */
export type RequestRecord = {
  method: string;
  path: string;
  query: string;
  contentType: string;
  accept: string;
  user: string;
};

/** A running fake API server. */
export type FakeKube = {
  url: string;
  port: number;
  token: string;
  caPem?: string;
  store: KubeStore;
  faults: FaultControl;
  requests: RequestRecord[];
  kubeconfig(): string;
  close(): Promise<void>;
};

type OpenWatch = { end: (mode: "close" | "reset") => void };

const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

/** Starts a fake API server on 127.0.0.1. */
export async function startFakeKube(opts: FakeKubeOptions = {}): Promise<FakeKube> {
  const random = seededRandom(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
  const faultRandom = seededRandom((opts.seed ?? Math.floor(Math.random() * 2 ** 32)) ^ 0x5eed);
  const now = opts.now ?? (() => Date.now());
  const store = new KubeStore({
    now,
    random,
    ...(opts.historyLimit !== undefined ? { historyLimit: opts.historyLimit } : {}),
    ...(opts.initialResourceVersion !== undefined
      ? { initialResourceVersion: opts.initialResourceVersion }
      : {}),
    ...(opts.gracefulDeletion ? { gracefulDeletion: opts.gracefulDeletion } : {}),
    ...(opts.crdEstablishDelayMs !== undefined
      ? { crdEstablishDelayMs: opts.crdEstablishDelayMs }
      : {}),
    ...(opts.podGcOnNodeDelete ? { podGcOnNodeDelete: true } : {}),
    ...(opts.applyOwnership !== undefined ? { applyOwnership: opts.applyOwnership } : {}),
  });
  const token = opts.token ??
    Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
  const tokens = new Map<string, string>([
    [token, "proxscale-admin"],
    ...Object.entries(opts.users ?? {}),
  ]);
  const tls = opts.tls ?? true;
  const material = tls ? await tlsMaterial() : undefined;
  const watches = new Set<OpenWatch>();
  const pending = new Set<ReturnType<typeof setTimeout>>();
  const requests: RequestRecord[] = [];
  const aggregatedOn = opts.aggregatedDiscovery ?? true;
  const bookmarkMs = opts.bookmarkIntervalMs ?? 60_000;
  const watchTimeoutMs = opts.watchTimeoutMs ?? 600_000;
  let host = "127.0.0.1:0";

  const faults: FaultControl = {
    ...noFaults(),
    ...opts.faults,
    dropWatches(mode?: "close" | "reset") {
      const n = watches.size;
      for (const w of [...watches]) w.end(mode ?? faults.watchDropMode);
      return n;
    },
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        pending.delete(t);
        resolve();
      }, ms);
      pending.add(t);
    });

  function authenticate(req: Request): { user: string; groups: string[] } | undefined {
    const cert = req.headers.get(CLIENT_CERT_HEADER);
    if (cert) {
      const [user, groups] = cert.split("|") as [string, string];
      return { user, groups: [...groups.split(",").filter((g) => g), "system:authenticated"] };
    }
    const h = req.headers.get("authorization");
    const bearer = h?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!bearer) return tls ? undefined : { user: "system:anonymous", groups: ["system:masters"] };
    const user = tokens.get(bearer);
    if (user) return { user, groups: ["system:masters", "system:authenticated"] };
    const m = bearer.match(BOOTSTRAP_TOKEN);
    if (m) {
      const s = store.peek("secrets", "kube-system", `bootstrap-token-${m[1]}`);
      const data = s?.data ?? {};
      const dec = (k: string) => (data[k] ? atob(data[k]) : undefined);
      const exp = dec("expiration");
      if (
        s && s.type === "bootstrap.kubernetes.io/token" && dec("token-secret") === m[2] &&
        dec("usage-bootstrap-authentication") === "true" && !(exp && Date.parse(exp) < now())
      ) {
        const extra = (dec("auth-extra-groups") ?? "").split(",").filter((g) => g);
        return {
          user: `system:bootstrap:${m[1]}`,
          groups: ["system:bootstrappers", ...extra, "system:authenticated"],
        };
      }
    }
    return undefined;
  }

  function watchResponse(t: Target, url: URL, encode: (e: WatchEvent) => string): Response {
    const q = url.searchParams;
    const enc = new TextEncoder();
    const timers: ReturnType<typeof setTimeout>[] = [];
    let stop = () => {};
    let done = false;
    let ctrl!: ReadableStreamDefaultController<Uint8Array>;
    let batch: string[] = [];
    let rejected: Status | undefined;
    const flush = () => {
      if (done || batch.length === 0) return;
      const text = batch.join("");
      batch = [];
      try {
        ctrl.enqueue(enc.encode(text));
      } catch { /* the client went away */ }
    };
    const handle: OpenWatch = {
      end(mode) {
        if (done) return;
        if (mode === "close") flush();
        done = true;
        stop();
        for (const x of timers) clearTimeout(x);
        watches.delete(handle);
        try {
          if (mode === "reset") ctrl.error(new Error("watch dropped by fault injection"));
          else ctrl.close();
        } catch { /* already closed by the client */ }
      },
    };
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        ctrl = c;
        watches.add(handle);
        const send = (e: WatchEvent) => {
          if (done || (faults.muteWatches && e.type !== "ERROR")) return;
          // Events of one tick go out as one chunk (30,000 synthetic ADDEDs are one write).
          batch.push(encode(e));
          if (batch.length === 1) queueMicrotask(flush);
          if (e.type === "ERROR") queueMicrotask(() => handle.end("close"));
        };
        // Watch-list: current state as ADDED events, then the initial-events-end bookmark.
        const initial = goBool(q.get("sendInitialEvents"));
        const r = store.watch(t.def, {
          ...(t.def.namespaced && t.namespace !== undefined ? { namespace: t.namespace } : {}),
          ...(q.get("labelSelector") ? { labelSelector: q.get("labelSelector")! } : {}),
          ...(q.get("fieldSelector") ? { fieldSelector: q.get("fieldSelector")! } : {}),
          ...(q.get("resourceVersion") !== null && !initial
            ? { resourceVersion: q.get("resourceVersion")! }
            : {}),
        }, send);
        if (!r.ok) {
          // Bad selectors or versions are plain HTTP errors, not stream events.
          rejected = r.error;
          handle.end("close");
          return;
        }
        stop = r.value.stop;
        if (initial && goBool(q.get("allowWatchBookmarks"))) {
          send({
            type: "BOOKMARK",
            object: initialEventsEnd(t.def, store.resourceVersion()) as never,
          });
        }
        const timeoutS = q.get("timeoutSeconds");
        const deadline = timeoutS !== null ? Number(timeoutS) * 1000 : watchTimeoutMs;
        timers.push(setTimeout(() => handle.end("close"), deadline));
        if (faults.watchDropAfterMs !== undefined) {
          timers.push(setTimeout(() => handle.end(faults.watchDropMode), faults.watchDropAfterMs));
        }
        if (goBool(q.get("allowWatchBookmarks"))) {
          const bookmark = () => {
            const o: Record<string, unknown> = {
              kind: t.def.kind,
              apiVersion: t.def.group ? `${t.def.group}/${t.def.version}` : t.def.version,
              metadata: t.def.builtin
                ? { resourceVersion: store.resourceVersion(), creationTimestamp: null }
                : { resourceVersion: store.resourceVersion() },
            };
            send({ type: "BOOKMARK", object: o as never });
          };
          const iv = setInterval(bookmark, bookmarkMs);
          timers.push(iv);
          if (deadline > 2000) timers.push(setTimeout(bookmark, deadline - 2000));
        }
      },
      cancel() {
        handle.end("close");
      },
    });
    if (rejected) return statusResponse(rejected);
    return new Response(body, {
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "no-cache, private" },
    });
  }

  let openapiCache: { revision: number; value: ReturnType<typeof openApiIndex> } | undefined;
  const openapi = () => {
    const revision = store.resourcesRevision();
    if (openapiCache?.revision !== revision) {
      openapiCache = { revision, value: openApiIndex(store.resources()) };
    }
    return openapiCache.value;
  };

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const isWatch = goBool(url.searchParams.get("watch"));
    const filtered = !faults.pathFilter || faults.pathFilter.test(path);
    const { min, max } = faults.latencyMs;
    if (filtered && max > 0) await sleep(min + faultRandom() * Math.max(0, max - min));
    const who = authenticate(req);
    requests.push({
      method: req.method,
      path,
      query: url.search,
      contentType: req.headers.get("content-type") ?? "",
      accept: req.headers.get("accept") ?? "",
      user: who?.user ?? "",
    });
    if (requests.length > 11_000) requests.splice(0, requests.length - 10_000);
    if (!who) return statusResponse(unauthorized());
    if (filtered && (isWatch ? faults.watchErrorRate : faults.errorRate) > 0) {
      if (faultRandom() < (isWatch ? faults.watchErrorRate : faults.errorRate)) {
        return statusResponse(internalError("injected fault"));
      }
    }
    const segs = path.split("/").filter((s) => s).map(decodeURIComponent);
    const defs = store.resources();
    const aggregatedAsk = aggregatedOn && wantsAggregated(req.headers.get("accept"));
    if (req.method === "GET") {
      if (path === "/version") return jsonResponse(200, VERSION_INFO);
      if (path === "/healthz" || path === "/livez" || path === "/readyz") {
        return new Response("ok", { headers: { "content-type": "text/plain; charset=utf-8" } });
      }
      if (path === "/api") {
        return aggregatedAsk
          ? jsonResponse(200, aggregated(defs, true), {
            "content-type": AGGREGATED_CONTENT_TYPE,
            vary: "Accept",
          })
          : jsonResponse(200, apiVersions(host));
      }
      if (path === "/apis") {
        return aggregatedAsk
          ? jsonResponse(200, aggregated(defs, false), {
            "content-type": AGGREGATED_CONTENT_TYPE,
            vary: "Accept",
          })
          : jsonResponse(200, apiGroupList(defs));
      }
      if (path === "/openapi/v3") return jsonResponse(200, openapi().index);
      if (path.startsWith("/openapi/v3/")) {
        const doc = openapi().docs.get(path.slice("/openapi/v3/".length));
        return doc ? jsonResponse(200, doc) : statusResponse(notFoundPath());
      }
      if ((segs[0] === "api" && segs.length === 2) || (segs[0] === "apis" && segs.length === 3)) {
        const list = segs[0] === "api"
          ? resourceList(defs, "", segs[1]!)
          : resourceList(defs, segs[1]!, segs[2]!);
        return list ? jsonResponse(200, list) : statusResponse(notFoundPath());
      }
      if (segs[0] === "apis" && segs.length === 2) {
        const g = apiGroup(defs, segs[1]!);
        return g ? jsonResponse(200, g) : statusResponse(notFoundPath());
      }
    }
    if (
      req.method === "POST" && path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    ) {
      return selfSubjectAccessReview(await req.json().catch(() => ({})), who);
    }
    if (segs[0] !== "api" && segs[0] !== "apis") return statusResponse(notFoundPath());
    const t = parseTarget(store, segs);
    if (!t) return statusResponse(notFoundPath());
    if (opts.authorize) {
      const verb = verbOf(req.method, t, isWatch);
      const ask: AuthzRequest = {
        user: who.user,
        groups: who.groups,
        verb,
        group: t.def.group,
        resource: t.def.plural,
      };
      if (t.sub) ask.subresource = t.sub;
      if (t.namespace !== undefined) ask.namespace = t.namespace;
      if (t.name !== undefined) ask.name = t.name;
      if (!opts.authorize(ask)) {
        const res = { ...t.def, plural: t.sub ? `${t.def.plural}/${t.sub}` : t.def.plural };
        return statusResponse(forbidden(res, t.name, who.user, verb, t.namespace));
      }
    }
    return await handleResource(
      { store, now, watch: watchResponse, mangle: () => faults.mangle },
      req,
      url,
      t,
    );
  }

  /**
   * `kubectl auth can-i` / `proxscale diagnose`: answers from the same `authorize` hook that
   * guards requests (every authenticated user may ask about itself, as system:basic-user).
   */
  function selfSubjectAccessReview(body: unknown, who: { user: string; groups: string[] }) {
    const spec = (body as { spec?: { resourceAttributes?: Record<string, string> } })?.spec ?? {};
    const a = spec.resourceAttributes ?? {};
    const ask: AuthzRequest = {
      user: who.user,
      groups: who.groups,
      verb: a.verb ?? "",
      group: a.group ?? "",
      resource: a.resource ?? "",
    };
    if (a.subresource) ask.subresource = a.subresource;
    if (a.namespace) ask.namespace = a.namespace;
    if (a.name) ask.name = a.name;
    const allowed = opts.authorize ? opts.authorize(ask) : true;
    return jsonResponse(201, {
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: { creationTimestamp: null },
      spec,
      status: allowed ? { allowed: true, reason: "allowed by the fake's authorizer" } : {
        allowed: false,
      },
    });
  }

  const server = await listen({
    port: opts.port ?? 0,
    ...(material
      ? { tls: { cert: material.certPem, key: material.keyPem, ca: material.caPem } }
      : {}),
  }, async (req) => {
    try {
      return await handle(req);
    } catch (e) {
      return statusResponse(internalError(e instanceof Error ? e.message : String(e)));
    }
  });
  const port = server.port;
  host = `127.0.0.1:${port}`;
  const url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;

  const result: FakeKube = {
    url,
    port,
    token,
    store,
    faults,
    requests,
    kubeconfig: () =>
      kubeconfigYaml({
        url,
        token,
        ...(material
          ? {
            caPem: material.caPem,
            clientCertPem: material.clientCertPem,
            clientKeyPem: material.clientKeyPem,
          }
          : {}),
      }),
    async close() {
      faults.dropWatches("close");
      for (const t of pending) clearTimeout(t);
      pending.clear();
      store.close();
      await server.close();
    },
  };
  if (material) result.caPem = material.caPem;
  return result;
}
