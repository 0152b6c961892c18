/**
 * REST handling of resource paths for the fake API server: URL → (resource, namespace,
 * name, subresource), verbs, body decoding by Content-Type, JSON/Table encoding of objects
 * and lists (list items of built-ins without kind/apiVersion; `items` never null), and
 * the watch stream (NDJSON as application/json, one event per line, flushed at once).
 */
import { parse as parseYaml } from "yaml";
import type { FieldValidation } from "./admission.ts";
import type { KObj } from "./objects.ts";
import { type Json, jsonPatch, mergePatch } from "./patch.ts";
import { acceptedPatchTypes, PATCH_MEDIA_TYPES } from "./patch_request.ts";
import { apiVersionOf, type ResourceDef } from "./resources.ts";
import {
  badRequest,
  conflict,
  methodNotAllowed,
  notFound,
  type Status,
  unsupportedMediaType,
} from "./status.ts";
import type { Entry, KubeStore, WatchEvent } from "./store.ts";
import { printerFor, tableRow, toTable } from "./table.ts";
import { formatLabelSelector } from "./selectors.ts";
import { notAcceptable, PROTOBUF, unsupportedBody } from "./negotiation.ts";
import { objectFromProtobuf } from "./object_protobuf.ts";
import { pageList } from "./paging.ts";
import { listOptionsInvalid } from "./watch_list.ts";

/** A resource request target parsed from the URL. */
export type Target = { def: ResourceDef; namespace?: string; name?: string; sub?: string };

/** Parses `/api/v1/...` and `/apis/<g>/<v>/...` resource paths; undefined → 404. */
export function parseTarget(store: KubeStore, segs: string[]): Target | undefined {
  let group = "";
  let rest: string[];
  let version: string;
  if (segs[0] === "api") {
    version = segs[1] ?? "";
    rest = segs.slice(2);
  } else {
    group = segs[1] ?? "";
    version = segs[2] ?? "";
    rest = segs.slice(3);
  }
  let namespace: string | undefined;
  if (
    rest[0] === "namespaces" && rest.length >= 3 && rest[2] !== "status" && rest[2] !== "finalize"
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) return undefined;
  const def = store.resolve(group ? `${group}/${version}/${rest[0]}` : `${version}/${rest[0]}`);
  if (!def) return undefined;
  if (namespace !== undefined && !def.namespaced) return undefined;
  const t: Target = { def };
  if (namespace !== undefined) t.namespace = namespace;
  if (rest[1] !== undefined) t.name = rest[1];
  if (rest[2] !== undefined) {
    const sub = rest[2];
    const allowed = (sub === "status" && def.status) ||
      ((sub === "eviction" || sub === "binding") && def.eviction) ||
      (sub === "scale" && def.scale);
    if (!allowed) return undefined;
    t.sub = sub;
  }
  if (t.name !== undefined && def.namespaced && namespace === undefined) return undefined;
  return t;
}

/** The RBAC verb of a request (`get`, `list`, `watch`, `create`, …). */
export function verbOf(method: string, t: Target, watch: boolean): string {
  switch (method) {
    case "GET":
      return t.name ? "get" : watch ? "watch" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return t.name ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-cache, private" };

/** A JSON response; every response carries a Content-Type (client-node throws without one). */
export function jsonResponse(
  status: number,
  body: Json | string,
  headers: Record<string, string> = {},
): Response {
  const h = new Headers({ ...JSON_HEADERS, ...headers });
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: h,
  });
}

/** A Status error response, with Retry-After when the Status asks for it. */
export function statusResponse(s: Status): Response {
  const headers: Record<string, string> = {};
  const retry = s.details?.retryAfterSeconds;
  if (retry && retry > 0) headers["retry-after"] = String(retry);
  return jsonResponse(s.code, s, headers);
}

function warningHeaders(warnings: string[]): Headers {
  const h = new Headers(JSON_HEADERS);
  for (const w of warnings) h.append("warning", `299 - ${JSON.stringify(w)}`);
  return h;
}

/** Is this a Go-style true (`true`, `1`, `t`, …)? */
export function goBool(v: string | null): boolean {
  return v !== null && ["1", "t", "T", "true", "TRUE", "True"].includes(v);
}

function wantsTable(accept: string | null): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

/** Per-request context server.ts passes in. */
export type RouteContext = {
  store: KubeStore;
  now: () => number;
  /** The fault hook that rewrites list items and watch objects, if any. */
  mangle: () => ((obj: Record<string, unknown>) => unknown) | undefined;
  /** Starts a watch stream response (server.ts owns stream bookkeeping). */
  watch: (t: Target, url: URL, encode: (e: WatchEvent) => string) => Response;
  /** Who sends the request (admission policies read it as `request.userInfo`). */
  user?: { username: string; groups: string[] };
};

function fieldValidation(url: URL): FieldValidation | Status | undefined {
  const v = url.searchParams.get("fieldValidation");
  if (v === null || v === "") return undefined;
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  return badRequest(`fieldValidation parameter unsupported: ${v}`);
}

function mediaType(req: Request): string {
  return (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

async function readBody(req: Request, yamlOk: boolean): Promise<Json | Status> {
  const text = await req.text();
  if (text.trim() === "") return undefined;
  try {
    return yamlOk ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    return badRequest(
      `error decoding body: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`,
    );
  }
}

const isStatus = (v: Json): v is Status =>
  v && typeof v === "object" && v.kind === "Status" && typeof v.code === "number" &&
  v.status === "Failure";

/** JSON of a list item: built-ins carry no kind/apiVersion on the wire. */
function itemJson(def: ResourceDef, e: Entry): string {
  if (def.fromStorage) {
    const { apiVersion: _a, kind: _k, ...rest } = def.fromStorage(e.obj);
    return JSON.stringify(rest);
  }
  if (e.obj.apiVersion !== apiVersionOf(def)) {
    return JSON.stringify({ ...e.obj, apiVersion: apiVersionOf(def) });
  }
  if (e.itemJson === undefined) {
    if (def.builtin) {
      const { apiVersion: _a, kind: _k, ...rest } = e.obj;
      e.itemJson = JSON.stringify(rest);
    } else e.itemJson = JSON.stringify(e.obj);
  }
  return e.itemJson;
}

const objectJson = new WeakMap<object, string>();

/** JSON of a whole object, cached per stored version (watch fan-out encodes each once). */
export function encodeObject(o: object): string {
  let s = objectJson.get(o);
  if (s === undefined) {
    s = JSON.stringify(o);
    objectJson.set(o, s);
  }
  return s;
}

/** Handles one resource request. */
export async function handleResource(
  ctx: RouteContext,
  req: Request,
  url: URL,
  t: Target,
): Promise<Response> {
  const { store } = ctx;
  const def = t.def;
  const accept = req.headers.get("accept");
  const unacceptable = notAcceptable(accept, def.builtin);
  if (unacceptable) return statusResponse(unacceptable);
  const table = wantsTable(accept);
  const q = url.searchParams;
  const dryRun = q.getAll("dryRun").includes("All");
  const fv = fieldValidation(url);
  if (fv && typeof fv === "object") return statusResponse(fv);
  const ns = def.namespaced ? t.namespace : undefined;
  // Without ?fieldManager the apiserver names the manager after the User-Agent's product.
  const manager = q.get("fieldManager") ||
    (req.headers.get("user-agent") ?? "").split("/")[0]!.trim() || "unknown";
  const writeOpts = {
    fieldManager: manager,
    ...(ctx.user ? { user: ctx.user } : {}),
    ...(dryRun ? { dryRun } : {}),
    ...(fv ? { fieldValidation: fv } : {}),
    ...(t.sub === "status" ? { subresource: "status" as const } : {}),
  };
  const one = (o: KObj, code = 200, warnings: string[] = []) => {
    if (table) {
      return jsonResponse(
        code,
        toTable(def, [o], {
          now: ctx.now(),
          resourceVersion: o.metadata.resourceVersion ?? "",
          includeObject: q.get("includeObject") ?? "Metadata",
        }),
      );
    }
    return new Response(encodeObject(o), { status: code, headers: warningHeaders(warnings) });
  };

  switch (req.method) {
    case "GET": {
      if (t.name) {
        if (t.sub === "eviction" || t.sub === "binding") {
          return statusResponse(methodNotAllowed("GET", def));
        }
        const r = store.get(def, ns, t.name);
        if (!r.ok) return statusResponse(r.error);
        if (t.sub === "scale") return jsonResponse(200, toScale(def, r.value));
        return one(r.value);
      }
      const listOpts = {
        ...(ns !== undefined ? { namespace: ns } : {}),
        ...(q.get("labelSelector") ? { labelSelector: q.get("labelSelector")! } : {}),
        ...(q.get("fieldSelector") ? { fieldSelector: q.get("fieldSelector")! } : {}),
      };
      const badOptions = listOptionsInvalid(q, goBool(q.get("watch")));
      if (badOptions) return statusResponse(badOptions);
      if (goBool(q.get("watch"))) {
        const includeObject = q.get("includeObject") ?? "Metadata";
        let first = true;
        const printer = table ? printerFor(def) : undefined;
        const encode = (e: WatchEvent): string => {
          if (printer && (e.type === "ADDED" || e.type === "MODIFIED" || e.type === "DELETED")) {
            const o = e.object as KObj;
            const tbl: Json = {
              kind: "Table",
              apiVersion: "meta.k8s.io/v1",
              metadata: { resourceVersion: o.metadata.resourceVersion },
            };
            if (first) tbl.columnDefinitions = printer.columns;
            first = false;
            tbl.rows = [tableRow(printer, o, ctx.now(), includeObject)];
            return `{"type":"${e.type}","object":${JSON.stringify(tbl)}}\n`;
          }
          const m = ctx.mangle();
          if (m && e.type !== "ERROR" && e.type !== "BOOKMARK") {
            return `{"type":"${e.type}","object":${JSON.stringify(m(e.object as KObj))}}\n`;
          }
          return `{"type":"${e.type}","object":${encodeObject(e.object)}}\n`;
        };
        return ctx.watch(t, url, encode);
      }
      const r = store.listEntries(def, listOpts);
      if (!r.ok) return statusResponse(r.error);
      const page = pageList(
        def,
        r.value.entries,
        q,
        r.value.resourceVersion,
        store.compactedUpTo(def),
        !!(listOpts.labelSelector || listOpts.fieldSelector),
      );
      if ("code" in page) return statusResponse(page);
      const listMeta: Json = { resourceVersion: page.resourceVersion };
      if (page.continue) listMeta.continue = page.continue;
      if (page.remainingItemCount !== undefined) {
        listMeta.remainingItemCount = page.remainingItemCount;
      }
      if (table) {
        const tbl = toTable(
          def,
          page.entries.map((e) => def.fromStorage ? def.fromStorage(e.obj) : e.obj),
          {
            now: ctx.now(),
            resourceVersion: page.resourceVersion,
            includeObject: q.get("includeObject") ?? "Metadata",
          },
        );
        tbl.metadata = listMeta;
        return jsonResponse(200, tbl);
      }
      const m = ctx.mangle();
      const items = page.entries.map((e) =>
        m ? JSON.stringify(m(JSON.parse(itemJson(def, e)))) : itemJson(def, e)
      )
        .join(",");
      const head = `{"kind":"${def.listKind}","apiVersion":"${apiVersionOf(def)}","metadata":${
        JSON.stringify(listMeta)
      },"items":[`;
      return jsonResponse(200, `${head}${items}]}`);
    }
    case "POST": {
      const mt = mediaType(req);
      // kubectl's typed creates (deployment, job, secret, service, ...) send protobuf.
      let fromProtobuf: Record<string, unknown> | undefined;
      if (mt === PROTOBUF) {
        const decoded = objectFromProtobuf(new Uint8Array(await req.arrayBuffer()));
        if (decoded.ok) fromProtobuf = decoded.value;
        else if (decoded.error.reason === "BadRequest") {
          return statusResponse(badRequest(decoded.error.message));
        }
      }
      if (
        !fromProtobuf && mt && mt !== "application/json" && mt !== "application/yaml" &&
        mt !== "*/*"
      ) {
        return statusResponse(unsupportedMediaType(["application/json", "application/yaml"]));
      }
      const body = fromProtobuf ?? await readBody(req, mt === "application/yaml");
      if (isStatus(body)) return statusResponse(body);
      if (t.sub === "eviction" && t.name) {
        const r = store.evict(t.namespace ?? "default", t.name, body ?? {}, { dryRun });
        return r.ok ? jsonResponse(201, r.value) : statusResponse(r.error);
      }
      if (t.sub === "binding" && t.name) {
        const r = store.bind(t.namespace ?? "default", t.name, body ?? {}, { dryRun });
        return r.ok ? jsonResponse(201, r.value) : statusResponse(r.error);
      }
      if (t.name || t.sub) return statusResponse(methodNotAllowed("create", def));
      const r = store.create(def, body ?? {}, {
        ...writeOpts,
        ...(ns !== undefined ? { namespace: ns } : {}),
      });
      if (!r.ok) return statusResponse(r.error);
      return one(r.value.object, 201, r.value.warnings);
    }
    case "PUT": {
      if (!t.name || t.sub === "eviction" || t.sub === "binding") {
        return statusResponse(methodNotAllowed("update", def));
      }
      const mt = mediaType(req);
      if (mt && mt !== "application/json" && mt !== "application/yaml") {
        return statusResponse(unsupportedMediaType(["application/json", "application/yaml"]));
      }
      const body = await readBody(req, mt === "application/yaml");
      if (isStatus(body)) return statusResponse(body);
      if (t.sub === "scale") return scaleUpdate(store, def, ns, t.name, body, writeOpts);
      const r = store.update(def, body ?? {}, {
        ...writeOpts,
        name: t.name,
        ...(ns !== undefined ? { namespace: ns } : {}),
      });
      if (!r.ok) return statusResponse(r.error);
      return one(r.value.object, r.value.created ? 201 : 200, r.value.warnings);
    }
    case "PATCH": {
      if (!t.name || t.sub === "eviction" || t.sub === "binding") {
        return statusResponse(methodNotAllowed("patch", def));
      }
      const type = PATCH_MEDIA_TYPES[mediaType(req)];
      if (!type) return statusResponse(unsupportedMediaType(acceptedPatchTypes(def)));
      const body = await readBody(req, type === "apply");
      if (isStatus(body)) return statusResponse(body);
      if (t.sub === "scale") return scalePatch(store, def, ns, t.name, type, body, writeOpts);
      const force = goBool(q.get("force"));
      const fm = q.get("fieldManager");
      const { fieldManager: _default, ...rest } = writeOpts;
      const r = store.patch(def, ns, t.name, type, body ?? null, {
        ...rest,
        ...(force ? { force } : {}),
        // Apply requires an explicit manager (422 otherwise); other patches default it.
        ...(fm ? { fieldManager: fm } : type === "apply" ? {} : { fieldManager: manager }),
      });
      if (!r.ok) return statusResponse(r.error);
      return one(r.value.object, r.value.created ? 201 : 200, r.value.warnings);
    }
    case "DELETE": {
      if (t.sub) return statusResponse(methodNotAllowed("delete", def));
      const badBody = unsupportedBody(req.headers.get("content-type"));
      if (badBody) return statusResponse(badBody);
      const body = await readBody(req, false);
      if (isStatus(body)) return statusResponse(body);
      const opts = body && typeof body === "object" ? body : {};
      const grace = q.get("gracePeriodSeconds") ?? opts.gracePeriodSeconds;
      const policy = q.get("propagationPolicy") ?? opts.propagationPolicy ??
        (goBool(q.get("orphanDependents")) || opts.orphanDependents === true
          ? "Orphan"
          : undefined);
      const del = {
        ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
        ...(policy ? { propagationPolicy: policy } : {}),
        ...(grace !== undefined && grace !== null ? { gracePeriodSeconds: Number(grace) } : {}),
        ...(dryRun || (opts.dryRun ?? []).includes?.("All") ? { dryRun: true } : {}),
      };
      if (!t.name) {
        const list = store.listEntries(def, {
          ...(ns !== undefined ? { namespace: ns } : {}),
          ...(q.get("labelSelector") ? { labelSelector: q.get("labelSelector")! } : {}),
          ...(q.get("fieldSelector") ? { fieldSelector: q.get("fieldSelector")! } : {}),
        });
        if (!list.ok) return statusResponse(list.error);
        const gone: KObj[] = [];
        for (const e of list.value.entries) {
          const r = store.delete(def, e.obj.metadata.namespace, e.obj.metadata.name!, del);
          if (r.ok) gone.push(r.value.object ?? e.obj);
        }
        return jsonResponse(200, {
          kind: def.listKind,
          apiVersion: apiVersionOf(def),
          metadata: { resourceVersion: store.resourceVersion() },
          items: gone,
        });
      }
      const r = store.delete(def, ns, t.name, del);
      if (!r.ok) return statusResponse(r.error);
      if (r.value.object) return one(r.value.object);
      return jsonResponse(200, r.value.status!);
    }
    default:
      return statusResponse(methodNotAllowed(req.method, def));
  }
}

function dig(o: Json, path: string): Json {
  let cur = o;
  for (const seg of path.replace(/^\./, "").split(".")) cur = cur?.[seg];
  return cur;
}

function toScale(def: ResourceDef, o: KObj): Json {
  const s = def.scale!;
  const status: Json = { replicas: dig(o, s.statusReplicasPath) ?? 0 };
  if (s.labelSelectorPath) {
    const sel = dig(o, s.labelSelectorPath);
    if (sel !== undefined) status.selector = sel;
  } else if (def.builtin && o.spec?.selector) {
    status.selector = formatLabelSelector(o.spec.selector);
  }
  const { name, namespace, uid, resourceVersion, creationTimestamp } = o.metadata;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      uid,
      resourceVersion,
      creationTimestamp,
    },
    spec: { replicas: dig(o, s.specReplicasPath) ?? 0 },
    status,
  };
}

function scaleUpdate(
  store: KubeStore,
  def: ResourceDef,
  ns: string | undefined,
  name: string,
  body: Json,
  opts: { dryRun?: boolean },
): Response {
  const cur = store.peek(def, ns, name);
  if (!cur) return statusResponse(notFound(def, name));
  const replicas = body?.spec?.replicas;
  if (typeof replicas !== "number") {
    return statusResponse(badRequest("spec.replicas must be an integer"));
  }
  const next = structuredClone(cur);
  const segs = def.scale!.specReplicasPath.replace(/^\./, "").split(".");
  let o: Json = next;
  for (const s of segs.slice(0, -1)) o = o[s] ??= {};
  o[segs[segs.length - 1]!] = replicas;
  const rv = body?.metadata?.resourceVersion;
  if (rv && rv !== cur.metadata.resourceVersion) return statusResponse(conflict(def, name));
  const r = store.updateFrom(def, cur, next, opts);
  if (!r.ok) return statusResponse(r.error);
  return jsonResponse(200, toScale(def, r.value.object));
}

/** PATCH of `/scale`: the patch applies to the Scale object; its spec.replicas is written back. */
function scalePatch(
  store: KubeStore,
  def: ResourceDef,
  ns: string | undefined,
  name: string,
  type: string,
  body: Json,
  opts: { dryRun?: boolean },
): Response {
  const cur = store.peek(def, ns, name);
  if (!cur) return statusResponse(notFound(def, name));
  const scale = toScale(def, cur);
  let next: Json;
  if (type === "json") {
    const r = jsonPatch(scale, body);
    if (!r.ok) return statusResponse(badRequest(r.error.message));
    next = r.value;
  } else next = mergePatch(scale, body);
  return scaleUpdate(store, def, ns, name, next, opts);
}
