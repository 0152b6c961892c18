/**
 * Spans around the two clients proxscale talks through: every Proxmox VE call (`pve clone`,
 * `pve config`, `pve start` ...) and every Kubernetes request (`kubernetes patch nodes`,
 * `kubernetes create pods/eviction` ...). Both go over `node:https`, which Deno's built-in
 * OpenTelemetry does not see, so the daemon wraps the clients it acts with here. A span is a
 * child of whatever runs (a job, an action) and so inherits its NodeClaim.
 *
 * The wrappers are Proxies that forward every other property, so they stand in wherever the
 * client type is expected (the providers, the writers, the EventRecorder).
 *
 * May import: adapters/.
 */
import type { KubeClient } from "../kubernetes/client.ts";
import type { PveClient } from "../proxmox/client.ts";
import type { SpanAttrs, Tracing } from "./tracing.ts";

type Describe = (args: unknown[]) => { operation: string; attrs: SpanAttrs };

const num = (v: unknown): number | undefined => {
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
};
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const param = (v: unknown, key: string): unknown =>
  typeof v === "object" && v !== null ? (v as Record<string, unknown>)[key] : undefined;
/** `(node, vmid, ...)`: the common shape of per-VM calls. */
const onVm = (operation: string): Describe => (a) => ({
  operation,
  attrs: { host: str(a[0]), vmid: num(a[1]) },
});

/** PveClient methods that reach the API, and what their span is called. */
const PVE_CALLS: Record<string, Describe> = {
  version: () => ({ operation: "version", attrs: {} }),
  clusterStatus: () => ({ operation: "cluster status", attrs: {} }),
  nextid: (a) => ({ operation: "nextid", attrs: { vmid: num(a[0]) } }),
  resourcesVm: () => ({ operation: "resources", attrs: {} }),
  nodes: () => ({ operation: "nodes", attrs: {} }),
  qemuList: (a) => ({ operation: "qemu list", attrs: { host: str(a[0]) } }),
  vmConfig: onVm("config read"),
  vmStatus: onVm("status"),
  createVm: (a) => ({
    operation: "create",
    attrs: { host: str(a[0]), vmid: num(param(a[1], "vmid")) },
  }),
  cloneVm: (a) => ({
    operation: "clone",
    attrs: {
      host: str(a[0]),
      source_vmid: num(a[1]),
      vmid: num(param(a[2], "newid")),
      target: str(param(a[2], "target")),
    },
  }),
  updateConfig: onVm("config"),
  resize: onVm("resize"),
  power: (a) => ({ operation: str(a[2]) ?? "power", attrs: onVm("")(a).attrs }),
  deleteVm: onVm("destroy"),
  storageContent: (a) => ({
    operation: "storage content",
    attrs: { host: str(a[0]), storage: str(a[1]) },
  }),
  uploadIso: (a) => ({
    operation: "upload",
    attrs: { host: str(a[0]), storage: str(a[1]) },
  }),
  deleteVolume: (a) => ({ operation: "delete volume", attrs: { host: str(a[0]) } }),
  taskStatus: (a) => ({ operation: "task status", attrs: { host: str(a[0]), upid: str(a[1]) } }),
  waitTask: (a) => ({ operation: "task", attrs: { upid: str(a[0]) } }),
  runTask: (a) => ({ operation: "task", attrs: { task: str(a[1]) } }),
};

/** The PVE client with one span per API call (see PVE_CALLS); other members pass through. */
export function tracePveClient(client: PveClient, tracing: Tracing): PveClient {
  return new Proxy(client, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      const describe = typeof prop === "string" ? PVE_CALLS[prop] : undefined;
      const fn = v as (...a: unknown[]) => unknown;
      if (!describe) return fn.bind(target);
      return (...args: unknown[]) => {
        const { operation, attrs } = describe(args);
        return tracing.pveCall(operation, attrs, () => fn.apply(target, args));
      };
    },
  });
}

const VERBS = {
  GET: "get",
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
} as const;

/**
 * What a REST path is about: `/api/v1/namespaces/ns/pods/p/eviction` is resource
 * `pods/eviction`, name `p`, namespace `ns`.
 */
export function kubeTarget(
  path: string,
): { resource: string; name?: string; namespace?: string } {
  const segs = path.split("?")[0]!.split("/").filter((s) => s !== "").map(decodeURIComponent);
  const rest = segs[0] === "api" ? segs.slice(2) : segs[0] === "apis" ? segs.slice(3) : segs;
  let namespace: string | undefined;
  let tail = rest;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    tail = rest.slice(2);
  }
  const [resource = "unknown", name, ...sub] = tail;
  return {
    resource: sub.length > 0 ? `${resource}/${sub.join("/")}` : resource,
    ...(name !== undefined ? { name } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
  };
}

/** Attributes that name the object in domain words (the NodeClaim, Node or Pod written). */
function objectAttrs(t: ReturnType<typeof kubeTarget>): SpanAttrs {
  const base = t.resource.split("/")[0];
  if (t.name === undefined) return { namespace: t.namespace };
  if (base === "nodeclaims") return { nodeclaim: t.name };
  if (base === "nodes") return { node: t.name };
  if (base === "pods") return { pod: `${t.namespace}/${t.name}`, namespace: t.namespace };
  return { name: t.name, namespace: t.namespace };
}

/**
 * The Kubernetes client with a `kubernetes <verb> <resource>` span per `requestJson` (the
 * daemon's reads and writes; watches and lists of the informers go through their own client).
 */
export function traceKubeClient(client: KubeClient, tracing: Tracing): KubeClient {
  const requestJson: KubeClient["requestJson"] = (method, path, opts) => {
    const t = kubeTarget(path);
    const verb = method === "GET" && t.name === undefined ? "list" : VERBS[method];
    return tracing.kubeCall(verb, t.resource, objectAttrs(t), async (span) => {
      const r = await client.requestJson(method, path, opts);
      const code = r.ok ? r.value.status : r.error.kind === "Status" ? r.error.code : undefined;
      if (code !== undefined) span.setAttributes({ "http.response.status_code": code });
      return r;
    });
  };
  return new Proxy(client, {
    get(target, prop) {
      if (prop === "requestJson") return requestJson;
      const v = Reflect.get(target, prop, target);
      if (typeof v === "function") return (v as (...a: unknown[]) => unknown).bind(target);
      if (typeof prop === "string" && GENERATED_APIS.has(prop) && typeof v === "object" && v) {
        return traceGeneratedApi(v, tracing);
      }
      return v;
    },
  });
}

/** Typed API objects of @kubernetes/client-node some writers still call (`core.patchNode`). */
const GENERATED_APIS = new Set(["core", "custom", "coordination"]);

/** `patchNode(...)` -> a `kubernetes patch node` span; `name` in the request names the object. */
function traceGeneratedApi(api: object, tracing: Tracing): object {
  return new Proxy(api, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function" || typeof prop !== "string") return v;
      const fn = v as (...a: unknown[]) => unknown;
      const m = /^([a-z]+)(.*)$/.exec(prop);
      const verb = m?.[1] ?? prop;
      const resource = (m?.[2] ?? "").replace(/^Namespaced/, "").toLowerCase() || "unknown";
      return (...args: unknown[]) => {
        const name = str(param(args[0], "name"));
        const attrs: SpanAttrs = resource === "node" ? { node: name } : { name };
        return tracing.kubeCall(verb, resource, attrs, () => fn.apply(target, args));
      };
    },
  });
}
