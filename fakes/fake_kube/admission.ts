/**
 * Per-kind admission for the fake API server: defaulting, validation and write rules that a
 * real apiserver's strategies apply (Pod defaults, Secret stringData, MicroTime, Node
 * providerID, Event namespace, custom-resource schemas, CRD structure). Pure functions of
 * (resource, new object, old object, context).
 */
import { err, ok, type Result } from "../result.ts";
import { type CrdObject, type ResourceDef } from "./resources.ts";
import { type KObj, MICRO_TIME } from "./objects.ts";
import { applyDefaults, prune, structuralErrors, validate } from "./schema.ts";
import { ruleCompileErrors } from "./cel.ts";
import { badRequest, invalid, qualifiedKind, type Status, type StatusCause } from "./status.ts";
import type { Json } from "./patch.ts";
import { defaultWorkload } from "./workload_defaults.ts";

/**
 * How unknown fields are treated (the `fieldValidation` query parameter); the default when absent
 * is Warn.
 */
export type FieldValidation = "Strict" | "Warn" | "Ignore";

/** What admission needs besides the objects. */
export type AdmitContext = {
  op: "create" | "update";
  fieldValidation: FieldValidation;
  /** tolerationSeconds of the default not-ready/unreachable tolerations (default 300). */
  defaultTolerationSeconds?: number;
};

/** Admitted object plus `Warning` header texts. */
export type Admitted = { obj: KObj; warnings: string[] };

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** 422 for a bad object name, in the apiserver's words. */
export function nameErrors(def: ResourceDef, name: string): StatusCause[] {
  if (def.kind === "Namespace") {
    if (name.length <= 63 && LABEL.test(name)) return [];
    return [{
      reason: "FieldValueInvalid",
      field: "metadata.name",
      message:
        `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
    }];
  }
  if (def.group === "rbac.authorization.k8s.io") return pathSegmentErrors(name);
  if (name.length <= 253 && SUBDOMAIN.test(name)) return [];
  return [{
    reason: "FieldValueInvalid",
    field: "metadata.name",
    message:
      `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  }];
}

/** RBAC objects may have any name usable as a path segment (`system:discovery`). */
function pathSegmentErrors(name: string): StatusCause[] {
  const why = name === "." || name === ".."
    ? `may not be '${name}'`
    : name.includes("/")
    ? "may not contain '/'"
    : name.includes("%")
    ? "may not contain '%'"
    : undefined;
  if (!why) return [];
  return [{
    reason: "FieldValueInvalid",
    field: "metadata.name",
    message: `Invalid value: "${name}": ${why}`,
  }];
}

/** The 422 Status for field errors on this resource. */
export function invalidFor(def: ResourceDef, name: string, causes: StatusCause[]): Status {
  return invalid(
    qualifiedKind(def),
    name,
    causes,
    def.group ? { group: def.group, kind: def.kind } : { kind: def.kind },
  );
}

function microTimeError(def: ResourceDef, value: Json): Status {
  const v = String(value);
  const m = v.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(.*)$/);
  const rest = m ? m[1]! : v;
  return badRequest(
    `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: parsing time "${v}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${rest}" as ".000000"`,
  );
}

function checkMicroTimes(def: ResourceDef, obj: KObj, paths: string[][]): Status | undefined {
  for (const p of paths) {
    let cur: Json = obj;
    for (const seg of p) cur = cur?.[seg];
    if (cur !== undefined && cur !== null && !(typeof cur === "string" && MICRO_TIME.test(cur))) {
      return microTimeError(def, cur);
    }
  }
  return undefined;
}

function qosClass(pod: KObj): string {
  const containers: Json[] = pod.spec?.containers ?? [];
  let anyReq = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c?.resources?.requests ?? {};
    const lim = c?.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) anyReq = true;
    for (const r of ["cpu", "memory"]) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (l === undefined || q !== l) guaranteed = false;
    }
  }
  if (!anyReq) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

const DEFAULT_TOLERATIONS = [
  {
    key: "node.kubernetes.io/not-ready",
    operator: "Exists",
    effect: "NoExecute",
    tolerationSeconds: 300,
  },
  {
    key: "node.kubernetes.io/unreachable",
    operator: "Exists",
    effect: "NoExecute",
    tolerationSeconds: 300,
  },
];

function defaultPod(obj: KObj, op: "create" | "update", seconds = 300): void {
  const spec = obj.spec ?? (obj.spec = {});
  spec.schedulerName ??= "default-scheduler";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.restartPolicy ??= "Always";
  spec.priority ??= 0;
  spec.dnsPolicy ??= "ClusterFirst";
  if (op === "create") {
    const tols: Json[] = spec.tolerations ?? [];
    for (const t of DEFAULT_TOLERATIONS) {
      if (!tols.some((x) => x?.key === t.key && x?.effect === t.effect)) {
        tols.push({ ...t, tolerationSeconds: seconds });
      }
    }
    spec.tolerations = tols;
  }
}

/** Runs the kind's admission. `old` is the stored object on updates. */
export function admit(
  def: ResourceDef,
  input: KObj,
  old: KObj | undefined,
  ctx: AdmitContext,
): Result<Admitted, Status> {
  const obj = input;
  const warnings: string[] = [];
  const name = obj.metadata.name ?? "";
  switch (def.kind) {
    case "Pod":
      defaultPod(obj, ctx.op, ctx.defaultTolerationSeconds);
      if (ctx.op === "create") obj.status = { phase: "Pending", qosClass: qosClass(obj) };
      else if (old && old.spec?.nodeName && obj.spec?.nodeName !== old.spec.nodeName) {
        return err(invalidFor(def, name, [{
          reason: "FieldValueForbidden",
          field: "spec",
          message:
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        }]));
      }
      break;
    case "Secret": {
      if (obj.stringData && typeof obj.stringData === "object") {
        const data = { ...(obj.data ?? {}) };
        for (const [k, v] of Object.entries(obj.stringData)) {
          data[k] = btoa(String.fromCodePoint(...new TextEncoder().encode(String(v))));
        }
        obj.data = data;
      }
      delete obj.stringData;
      obj.type ??= "Opaque";
      if (old && old.type !== obj.type) {
        return err(
          invalidFor(def, name, [{
            reason: "FieldValueInvalid",
            field: "type",
            message: `Invalid value: "${obj.type}": field is immutable`,
          }]),
        );
      }
      break;
    }
    case "Lease": {
      const bad = checkMicroTimes(def, obj, [["spec", "acquireTime"], ["spec", "renewTime"]]);
      if (bad) return err(bad);
      break;
    }
    case "Event": {
      const bad = checkMicroTimes(def, obj, [["eventTime"], ["series", "lastObservedTime"]]);
      if (bad) return err(bad);
      if (def.group === "" && ctx.op === "create" && !obj.eventTime) {
        const ns = obj.metadata.namespace;
        const involved = obj.involvedObject?.namespace;
        if (involved ? involved !== ns : !(ns === "default" || ns === "" || ns === undefined)) {
          return err(invalidFor(def, name, [{
            reason: "FieldValueInvalid",
            field: "involvedObject.namespace",
            message: `Invalid value: "${involved ?? ""}": does not match event.namespace`,
          }]));
        }
      }
      if (
        def.group === "events.k8s.io" && ctx.op === "create" &&
        !["Normal", "Warning"].includes(obj.type)
      ) {
        return err(
          invalidFor(def, name, [{
            reason: "FieldValueNotSupported",
            field: "type",
            message: `Unsupported value: "${
              obj.type ?? ""
            }": supported values: "Normal", "Warning"`,
          }]),
        );
      }
      break;
    }
    case "Node": {
      obj.spec ??= {};
      const before = old?.spec?.providerID;
      if (before && obj.spec?.providerID !== before) {
        return err(invalidFor(def, name, [{
          reason: "FieldValueForbidden",
          field: "spec.providerID",
          message: `Forbidden: node updates may not change providerID except from "" to valid`,
        }]));
      }
      break;
    }
    case "Namespace":
      // The apiserver labels every namespace with its own name.
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), "kubernetes.io/metadata.name": name };
      if (ctx.op === "create") obj.status = { phase: "Active", ...(obj.status ?? {}) };
      obj.spec = { finalizers: ["kubernetes"], ...(obj.spec ?? {}) };
      break;
    case "Deployment":
    case "ReplicaSet":
    case "StatefulSet":
    case "DaemonSet":
    case "Job":
    case "CronJob":
    case "PersistentVolume":
    case "PersistentVolumeClaim":
    case "StorageClass":
      defaultWorkload(def.kind, obj, ctx.op);
      break;
    case "CustomResourceDefinition": {
      const errs = crdErrors(obj as unknown as CrdObject);
      if (errs.length) return err(invalidFor(def, name, errs));
      break;
    }
  }
  if (!def.builtin && def.schema) return admitCustom(def, obj, old, ctx, warnings);
  return ok({ obj, warnings });
}

function admitCustom(
  def: ResourceDef,
  obj: KObj,
  old: KObj | undefined,
  ctx: AdmitContext,
  warnings: string[],
): Result<Admitted, Status> {
  const schema = def.schema!;
  const pruned = prune(obj, schema);
  if (pruned.unknown.length) {
    if (ctx.fieldValidation === "Strict") {
      return err(badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${
          pruned.unknown.map((f) => `unknown field "${f}"`).join(", ")
        }`,
      ));
    }
    if (ctx.fieldValidation === "Warn") {
      for (const f of pruned.unknown) warnings.push(`unknown field "${f}"`);
    }
  }
  const defaulted = applyDefaults(pruned.value, schema) as KObj;
  const errs = validate(defaulted, schema, "", old);
  if (errs.length) return err(invalidFor(def, obj.metadata.name ?? "", errs));
  return ok({ obj: defaulted, warnings });
}

function crdErrors(crd: CrdObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = crd.spec;
  if (!spec?.names?.plural || !spec.group || !spec.names.kind) {
    return [{ reason: "FieldValueRequired", field: "spec.names", message: "Required value" }];
  }
  const want = `${spec.names.plural}.${spec.group}`;
  if (crd.metadata.name !== want) {
    out.push({
      reason: "FieldValueInvalid",
      field: "metadata.name",
      message: `Invalid value: "${crd.metadata.name}": must be spec.names.plural+"."+spec.group`,
    });
  }
  if (!["Cluster", "Namespaced"].includes(spec.scope)) {
    out.push({
      reason: "FieldValueNotSupported",
      field: "spec.scope",
      message: `Unsupported value: "${
        spec.scope ?? ""
      }": supported values: "Cluster", "Namespaced"`,
    });
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.filter((v) => v.storage).length !== 1) {
    out.push({
      reason: "FieldValueInvalid",
      field: "spec.versions",
      message: `Invalid value: ${
        JSON.stringify(versions.map((v) => v.name))
      }: must have exactly one version marked as storage version`,
    });
  }
  versions.forEach((v, i) => {
    const s = v.schema?.openAPIV3Schema;
    if (!s) {
      out.push({
        reason: "FieldValueRequired",
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
        message: "Required value: schemas are required",
      });
    } else {
      const at = `spec.versions[${i}].schema.openAPIV3Schema`;
      out.push(...structuralErrors(s, at), ...ruleCompileErrors(s, at));
    }
  });
  return out;
}
