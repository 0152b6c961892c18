/**
 * OpenAPI v3 for kubectl (without it `kubectl apply -f` fails by default): an index with
 * content-hashed URLs and one document per group-version whose PATCH operations carry the
 * GVK as an object plus a `fieldValidation` parameter, and whose component schemas carry
 * the GVK as an array. Strategic merge patch is not advertised (kubectl apply then
 * sends a merge patch built from its last-applied annotation). No /openapi/v2.
 */
import { createHash } from "node:crypto";
import type { Json } from "./patch.ts";
import type { ResourceDef } from "./resources.ts";

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function schemaName(d: ResourceDef): string {
  if (!d.group) return `io.k8s.api.core.${d.version}.${d.kind}`;
  const reversed = d.group.split(".").reverse().join(".");
  return `${reversed}.${d.version}.${d.kind}`;
}

function itemPath(d: ResourceDef): string {
  const base = d.group ? `/apis/${d.group}/${d.version}` : `/api/${d.version}`;
  return d.namespaced
    ? `${base}/namespaces/{namespace}/${d.plural}/{name}`
    : `${base}/${d.plural}/{name}`;
}

/** The group-version document for every resource of one group-version. */
export function groupVersionDocument(defs: ResourceDef[], group: string, version: string): Json {
  const paths: Json = {};
  const schemas: Json = {};
  const gvkArray = (d: ResourceDef) => [{ group: d.group, version: d.version, kind: d.kind }];
  for (const d of defs.filter((x) => x.group === group && x.version === version)) {
    const ref = { $ref: `#/components/schemas/${schemaName(d)}` };
    const gvk = { group: d.group, version: d.version, kind: d.kind };
    const params = [
      { name: "name", in: "path", required: true, schema: { type: "string" } },
      ...(d.namespaced
        ? [{ name: "namespace", in: "path", required: true, schema: { type: "string" } }]
        : []),
      { name: "dryRun", in: "query", schema: { type: "string" } },
      { name: "fieldManager", in: "query", schema: { type: "string" } },
      { name: "fieldValidation", in: "query", schema: { type: "string" } },
      { name: "force", in: "query", schema: { type: "boolean" } },
    ];
    const op = (action: string, extra: Json = {}) => ({
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": gvk,
      operationId: `${action}${d.kind}`,
      parameters: params,
      responses: { "200": { description: "OK", content: { "application/json": { schema: ref } } } },
      ...extra,
    });
    paths[itemPath(d)] = {
      get: op("get"),
      put: op("put", { requestBody: { content: { "application/json": { schema: ref } } } }),
      patch: op("patch", {
        requestBody: {
          content: {
            "application/apply-patch+yaml": { schema: { type: "object" } },
            "application/json-patch+json": { schema: { type: "object" } },
            "application/merge-patch+json": { schema: { type: "object" } },
          },
        },
      }),
    };
    const schema: Json = d.schema ? structuredClone(d.schema) : {
      type: "object",
      description: `${d.kind} (schema not published by the fake API server).`,
      "x-kubernetes-preserve-unknown-fields": true,
    };
    schema.properties = {
      apiVersion: {
        type: "string",
        description: "APIVersion defines the versioned schema of this representation of an object.",
      },
      kind: {
        type: "string",
        description:
          "Kind is a string value representing the REST resource this object represents.",
      },
      metadata: { type: "object", description: "Standard object's metadata." },
      ...(schema.properties ?? {}),
    };
    schema["x-kubernetes-group-version-kind"] = gvkArray(d);
    schemas[schemaName(d)] = schema;
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.5" },
    paths,
    components: { schemas },
  };
}

/** `/openapi/v3` index: one entry per served group-version, hashed by content. */
export function openApiIndex(defs: ResourceDef[]): { index: Json; docs: Map<string, Json> } {
  const gvs = new Set(defs.map((d) => `${d.group}|${d.version}`));
  const paths: Json = {};
  const docs = new Map<string, Json>();
  for (const gv of gvs) {
    const [group, version] = gv.split("|") as [string, string];
    const doc = groupVersionDocument(defs, group, version);
    const hash = createHash("sha512").update(JSON.stringify(doc)).digest("hex").slice(0, 128)
      .toUpperCase();
    const p = gvPath(group, version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
    docs.set(p, doc);
  }
  return { index: { paths }, docs };
}
