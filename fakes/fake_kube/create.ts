/**
 * What the apiserver does to a POST body before admission: kind/apiVersion and namespace checks,
 * the resourceVersion-on-create 500, generateName, name validation, missing or terminating
 * namespaces, and the server-set metadata (uid, creationTimestamp, generation). Pure apart from the
 * `random` it is given.
 */
import { err, ok, type Result } from "../result.ts";
import { invalidFor, nameErrors } from "./admission.ts";
import { formatTime, type KObj, nameSuffix, uuid } from "./objects.ts";
import { apiVersionOf, type ResourceDef } from "./resources.ts";
import { badRequest, failure, notFound, type Status } from "./status.ts";

/** Inputs besides the body: URL namespace, randomness, clock, and a namespace lookup. */
export type CreateContext = {
  urlNamespace?: string;
  random: () => number;
  now: number;
  namespace: (name: string) => KObj | undefined;
};

const NAMESPACES = { plural: "namespaces", group: "", kind: "Namespace" };

function namespaceProblem(
  def: ResourceDef,
  ns: KObj | undefined,
  nsName: string,
  name: string,
): Status | undefined {
  if (!ns) return notFound(NAMESPACES, nsName);
  if (ns.status?.phase !== "Terminating") return undefined;
  const res = def.group ? `${def.plural}.${def.group}` : def.plural;
  return failure(
    403,
    "Forbidden",
    `${res} "${name}" is forbidden: unable to create new content in namespace ${nsName} because it is being terminated`,
    {
      name,
      kind: def.plural,
      causes: [{
        reason: "NamespaceTerminating",
        message: `namespace ${nsName} is being terminated`,
        field: "metadata.namespace",
      }],
    },
  );
}

/** Turns a POST body into the object to admit, or the Status a v1.32 server would answer. */
export function prepareCreate(
  def: ResourceDef,
  input: object,
  ctx: CreateContext,
): Result<KObj, Status> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return err(badRequest("the body must be a JSON object"));
  }
  // A JSON round trip: callers may pass client-node objects holding Dates.
  const obj: KObj = JSON.parse(JSON.stringify(input));
  obj.metadata = obj.metadata && typeof obj.metadata === "object" ? obj.metadata : {};
  const meta = obj.metadata;
  const apiVersion = apiVersionOf(def);
  if (
    !def.builtin &&
    ((obj.kind && obj.kind !== def.kind) || (obj.apiVersion && obj.apiVersion !== apiVersion))
  ) {
    return err(badRequest(
      `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`,
    ));
  }
  obj.apiVersion = apiVersion;
  obj.kind = def.kind;
  if (def.namespaced) {
    const ns = ctx.urlNamespace ?? meta.namespace ?? "default";
    if (meta.namespace && meta.namespace !== ns) {
      return err(
        badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        ),
      );
    }
    meta.namespace = ns;
  } else delete meta.namespace;
  if (meta.resourceVersion) {
    return err(
      failure(500, undefined, "resourceVersion should not be set on objects to be created"),
    );
  }
  if (!meta.name && meta.generateName) meta.name = meta.generateName + nameSuffix(ctx.random);
  if (!meta.name) {
    return err(invalidFor(def, "", [{
      reason: "FieldValueRequired",
      field: "metadata.name",
      message: "Required value: name or generateName is required",
    }]));
  }
  const nameErr = nameErrors(def, meta.name);
  if (nameErr.length) return err(invalidFor(def, meta.name, nameErr));
  if (def.namespaced) {
    const problem = namespaceProblem(
      def,
      ctx.namespace(meta.namespace!),
      meta.namespace!,
      meta.name,
    );
    if (problem) return err(problem);
  }
  meta.uid = uuid(ctx.random);
  meta.creationTimestamp = formatTime(ctx.now);
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  if (def.generation) meta.generation = 1;
  else delete meta.generation;
  // Status is ignored on create when a status subresource exists; Nodes register with it.
  if (def.status && def.kind !== "Node") delete obj.status;
  return ok(obj);
}
