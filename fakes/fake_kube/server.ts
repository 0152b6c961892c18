/**
 * fakes/fake_kube: a stateful fake Kubernetes API server (a v1.32 subset) over HTTP or HTTPS,
 * faithful enough for kubectl 1.32 and @kubernetes/client-node 2.0.1, written from the Kubernetes
 * API reference and those clients' observed behaviour. Tests and the simulator import it;
 * production code (adapters/, daemon/) never does.
 *
 * Exported API (what adapters/kubernetes tests call):
 *
 *   startFakeKube(opts?: FakeKubeOptions): Promise<FakeKube>
 *
 *   type FakeKubeOptions = {
 *     port?: number;               // default 0 (ephemeral); always binds 127.0.0.1
 *     tls?: boolean;               // default true (HTTPS + auth); false = plain HTTP
 *     token?: string;              // admin bearer token; default random (seeded)
 *     users?: Record<string, string>;  // static bearer tokens → user names (no groups; RBAC applies)
 *     seed?: number;               // uids, generated names and faults are repeatable
 *     faults?: Partial<KubeFaults>;
 *     historyLimit?: number;       // watch events kept per resource (default 10000)
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
 *     tokenFor(ns, name, secs?): Result<{ token, expirationTimestamp }, Status>  // SA token
 *     denials: Denial[];           // requests RBAC refused (user, verb, group, resource, …)
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
 * RBAC is always on (auth_gate.ts): requests are authorized from the Roles, ClusterRoles and
 * bindings stored in the fake; the admin token and certificate are in `system:masters`;
 * ServiceAccount tokens come from `tokenFor` or `POST …/serviceaccounts/<name>/token`;
 * impersonation headers, SubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview,
 * SelfSubjectReview and TokenReview are served; Role and binding writes pass RBAC's
 * escalation check (only what the writer holds, unless it may `escalate` or `bind`).
 *
 * Known deviations from a v1.32 apiserver: continued list pages show current objects, not a
 * snapshot at the first page's version (paging.ts); fieldValidation=Strict checks unknown fields of custom resources
 * only; PDB `expectedPods` is the number of matching pods (no controller scale lookup);
 * propagationPolicy Orphan/Foreground only add their finalizer (the garbage collector of
 * fakes/cluster/controllers/ finishes them); custom-resource defaults apply on write, not on
 * read; CEL rules run from their source text without cost limits; no node heartbeat Leases;
 * no protobuf except the review and TokenRequest bodies kubectl sends and the create bodies of
 * the built-in kinds with a message table (object_protobuf.ts: workloads, PDBs, pods, services,
 * service accounts, secrets, config maps, namespaces; other kinds' protobuf bodies are 415,
 * malformed ones 400), no protobuf answers (protobuf-only Accept is 406 for built-ins and JSON
 * for custom resources, negotiation.ts); HTTP/1.1 only (no h2, which crashes undici under Deno on
 * shutdown); an impersonation request without a user is a JSON 500 Status (the apiserver
 * answers plain text).
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
import { type AuthGate, createAuthGate, type Denial } from "./auth_gate.ts";
import type { IssuedServiceAccountToken } from "./authn.ts";
import { listen } from "./listener.ts";
import type { Result } from "../result.ts";
import { seededRandom } from "./objects.ts";
import { openApiIndex } from "./openapi.ts";
import {
  goBool,
  handleResource,
  jsonResponse,
  parseTarget,
  statusResponse,
  type Target,
} from "./routes.ts";
import { internalError, notFoundPath, type Status, unauthorized } from "./status.ts";
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
export type { Denial } from "./auth_gate.ts";
export type { IssuedServiceAccountToken } from "./authn.ts";
export type { UserInfo } from "./rbac.ts";

/** Options of `startFakeKube` (documented field by field at the top of this file). */
export type FakeKubeOptions = {
  port?: number;
  tls?: boolean;
  token?: string;
  users?: Record<string, string>;
  seed?: number;
  faults?: Partial<KubeFaults>;
  historyLimit?: number;
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
  /** Mints a token for an existing ServiceAccount (404 Status when it does not exist). */
  tokenFor(
    namespace: string,
    name: string,
    expirationSeconds?: number,
  ): Result<IssuedServiceAccountToken, Status>;
  /** Requests RBAC refused, oldest first (the last 1000). */
  denials: Denial[];
  caPem?: string;
  store: KubeStore;
  faults: FaultControl;
  requests: RequestRecord[];
  kubeconfig(): string;
  close(): Promise<void>;
};

type OpenWatch = { end: (mode: "close" | "reset") => void };

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
  const tls = opts.tls ?? true;
  const gate: AuthGate = createAuthGate({
    store,
    tls,
    adminToken: token,
    users: opts.users ?? {},
    now,
    random,
  });
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
    const who = gate.authenticate(req);
    requests.push({
      method: req.method,
      path,
      query: url.search,
      contentType: req.headers.get("content-type") ?? "",
      accept: req.headers.get("accept") ?? "",
      user: who?.username ?? "",
    });
    if (requests.length > 11_000) requests.splice(0, requests.length - 10_000);
    if (!who) return statusResponse(unauthorized());
    if (filtered && (isWatch ? faults.watchErrorRate : faults.errorRate) > 0) {
      if (faultRandom() < (isWatch ? faults.watchErrorRate : faults.errorRate)) {
        return statusResponse(internalError("injected fault"));
      }
    }
    const user = gate.admit(req, url, who);
    if (user instanceof Response) return user;
    const reviewed = await gate.serve(req, path, user);
    if (reviewed) return reviewed;
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
    if (segs[0] !== "api" && segs[0] !== "apis") return statusResponse(notFoundPath());
    const t = parseTarget(store, segs);
    if (!t) return statusResponse(notFoundPath());
    return await handleResource(
      {
        store,
        now,
        watch: watchResponse,
        mangle: () => faults.mangle,
        user: { username: user.username, groups: [...(user.groups ?? [])] },
      },
      req,
      url,
      t,
    );
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
    tokenFor: (namespace, name, secs) => gate.tokenFor(namespace, name, secs),
    denials: gate.denials,
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
