/**
 * What a request asks, read from its method and URL the way kube-apiserver does before it
 * authorizes (so an unknown resource is a 403 for someone without rights, and a 404 only for
 * someone with them), and the 403 Status of a denial in the apiserver's words.
 *
 * May import: rbac.ts (types), status.ts.
 */
import type { Attributes } from "./rbac.ts";
import { failure, type Status } from "./status.ts";

/** Segments after `namespaces/<ns>` that are subresources of the Namespace, not resources. */
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

function verbOfMethod(method: string): string {
  switch (method) {
    case "POST":
      return "create";
    case "GET":
    case "HEAD":
      return "get";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return "delete";
    default:
      return "";
  }
}

const GO_TRUE = new Set(["1", "t", "T", "true", "TRUE", "True"]);

/**
 * The authorization attributes of one request. `/api`, `/api/v1`, `/apis`, `/apis/<g>`,
 * `/apis/<g>/<v>` and everything outside `/api(s)` are non-resource requests whose verb is
 * the lower-case HTTP method. Resource requests: GET without a name is `list` (`watch` with
 * `watch=true`, and a `metadata.name=` field selector names the object), DELETE without a
 * name is `deletecollection`, and `/api/v1/namespaces/<ns>` is in namespace `<ns>`.
 */
export function requestAttributes(
  method: string,
  path: string,
  query: URLSearchParams,
): Attributes {
  const parts = path.split("/").filter((s) => s).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  const nonResource = (): Attributes => ({
    resourceRequest: false,
    verb: method.toLowerCase(),
    path: path || "/",
  });
  if (parts[0] !== "api" && parts[0] !== "apis") return nonResource();
  if (parts.length < 3 || (parts[0] === "apis" && parts.length < 4)) return nonResource();
  let rest: string[];
  let group = "";
  let version: string;
  if (parts[0] === "api") {
    version = parts[1]!;
    rest = parts.slice(2);
  } else {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  }
  let verb = verbOfMethod(method);
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  const a: Attributes = { resourceRequest: true, verb, group, version, resource: rest[0] ?? "" };
  if (namespace !== undefined) a.namespace = namespace;
  if (rest.length >= 2) a.name = rest[1]!;
  if (rest.length >= 3) a.subresource = rest[2]!;
  if (!a.name && verb === "get") {
    verb = GO_TRUE.has(query.get("watch") ?? "") ? "watch" : "list";
    const sel = query.get("fieldSelector") ?? "";
    const m = sel.split(",").map((t) => t.trim().match(/^metadata\.name==?(.+)$/)).find((x) => x);
    if (m) a.name = m[1]!;
  }
  if (!a.name && verb === "delete") verb = "deletecollection";
  a.verb = verb;
  return a;
}

/**
 * The 403 of a denied request, worded as kube-apiserver words it: `pods "p1" is forbidden:
 * User "alice" cannot get resource "pods" in API group "" in the namespace "default"`, `…at
 * the cluster scope`, `forbidden: User "x" cannot get path "/foo"`, with `: <reason>` appended
 * when the authorizer gave one.
 */
export function forbiddenStatus(a: Attributes, username: string, reason = ""): Status {
  let msg: string;
  if (!a.resourceRequest) {
    msg = `User "${username}" cannot ${a.verb} path "${a.path}"`;
  } else {
    const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
    msg =
      `User "${username}" cannot ${a.verb} resource "${res}" in API group "${a.group}" ${scope}`;
  }
  if (reason) msg = `${msg}: ${reason}`;
  if (!a.resourceRequest) return failure(403, "Forbidden", `forbidden: ${msg}`, {});
  const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
  const subject = a.name ? `${qualified} "${a.name}"` : qualified;
  const details: NonNullable<Status["details"]> = {};
  if (a.name) details.name = a.name;
  if (a.group) details.group = a.group;
  details.kind = a.resource;
  return failure(403, "Forbidden", `${subject} is forbidden: ${msg}`, details);
}
