/**
 * The resource catalogue of the fake API server: the built-in kinds proxscale and kubectl use, with
 * their discovery facts and storage rules, plus entries derived from Established CRDs. Everything
 * else in the fake (store, discovery, OpenAPI, Table) reads this.
 */
import { coreToEventsV1, eventsV1ToCore } from "./event_conversion.ts";
import type { KObj } from "./objects.ts";
import type { ListRules } from "./patch.ts";
import { builtinListRules } from "./patch.ts";
import type { SchemaNode } from "./schema.ts";
import { schemaListRules } from "./schema.ts";

/** A printer column as in a CRD's `additionalPrinterColumns`. */
export type PrinterColumn = {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
};

/** Everything the fake knows about one served resource. */
export type ResourceDef = {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Has a `/status` subresource: main-resource writes keep status, status writes keep the rest. */
  status: boolean;
  /** `/scale` paths for custom resources that declare it. */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  /** Pods only: the `pods/eviction` subresource. */
  eviction: boolean;
  /** Keeps `metadata.generation` (bumped on spec changes, not on status or metadata). */
  generation: boolean;
  /** PUT without resourceVersion overwrites (Pod, Node, …) instead of 422 (Lease, PDB, CRD, CRs). */
  unconditionalUpdate: boolean;
  /** PUT of a missing object creates it (Lease). */
  createOnUpdate: boolean;
  /** Field-selector labels beyond `metadata.name`/`metadata.namespace`. */
  fieldLabels: string[];
  /** Built-in kinds: list items carry no kind/apiVersion; strategic merge patch is allowed. */
  builtin: boolean;
  /** Delete answers with the object (Pods) instead of a Success Status. */
  returnDeletedObject: boolean;
  listRules: ListRules;
  /** Custom resources only. */
  schema?: SchemaNode;
  printerColumns?: PrinterColumn[];
  /** The CRD name (`nodepools.proxscale.io`) a custom resource comes from. */
  crd?: string;
  /** Another resource's storage (events.k8s.io Events live with core Events), and the conversions. */
  storage?: string;
  fromStorage?: (o: KObj) => KObj;
  toStorage?: (o: KObj) => KObj;
};

/** `apiVersion` string of a resource: `v1` for core, `group/version` otherwise. */
export function apiVersionOf(d: { group: string; version: string }): string {
  return d.group ? `${d.group}/${d.version}` : d.version;
}

/** Storage key: `pods`, `leases.coordination.k8s.io` (group-resource, version-independent). */
export function resourceKey(d: { group: string; plural: string }): string {
  return d.group ? `${d.plural}.${d.group}` : d.plural;
}

const ALL_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

function builtin(
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceDef> = {},
): ResourceDef {
  return {
    group,
    version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    status: false,
    eviction: false,
    generation: false,
    unconditionalUpdate: true,
    createOnUpdate: false,
    fieldLabels: [],
    builtin: true,
    returnDeletedObject: false,
    listRules: builtinListRules(kind),
    ...extra,
  };
}

/** `/scale` of the built-in replicated kinds: spec.replicas and status.replicas. */
const REPLICAS_SCALE = {
  specReplicasPath: ".spec.replicas",
  statusReplicasPath: ".status.replicas",
};

/**
 * The built-in kinds the fake serves (those of legacy discovery, plus services and
 * serviceaccounts).
 */
export function builtinResources(): ResourceDef[] {
  return [
    builtin("", "v1", "namespaces", "Namespace", false, {
      shortNames: ["ns"],
      status: true,
      verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
      fieldLabels: ["status.phase"],
    }),
    builtin("", "v1", "nodes", "Node", false, {
      shortNames: ["no"],
      status: true,
      fieldLabels: ["spec.unschedulable"],
    }),
    builtin("", "v1", "pods", "Pod", true, {
      shortNames: ["po"],
      categories: ["all"],
      status: true,
      eviction: true,
      returnDeletedObject: true,
      fieldLabels: [
        "spec.nodeName",
        "spec.host",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.podIPs",
        "status.nominatedNodeName",
      ],
    }),
    builtin("", "v1", "events", "Event", true, {
      shortNames: ["ev"],
      fieldLabels: [
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
      ],
    }),
    builtin("", "v1", "secrets", "Secret", true, { fieldLabels: ["type"] }),
    builtin("", "v1", "configmaps", "ConfigMap", true, { shortNames: ["cm"] }),
    builtin("", "v1", "services", "Service", true, {
      shortNames: ["svc"],
      categories: ["all"],
      status: true,
    }),
    builtin("", "v1", "serviceaccounts", "ServiceAccount", true, { shortNames: ["sa"] }),
    builtin("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, {
      shortNames: ["pdb"],
      status: true,
      generation: true,
      unconditionalUpdate: false,
    }),
    // Admission policies, evaluated from their CEL source (admission_policy.ts).
    builtin(
      "admissionregistration.k8s.io",
      "v1",
      "validatingadmissionpolicies",
      "ValidatingAdmissionPolicy",
      false,
      {
        status: true,
        generation: true,
        unconditionalUpdate: false,
      },
    ),
    builtin(
      "admissionregistration.k8s.io",
      "v1",
      "validatingadmissionpolicybindings",
      "ValidatingAdmissionPolicyBinding",
      false,
      { generation: true, unconditionalUpdate: false },
    ),
    // Mutating admission policies: alpha in Kubernetes 1.32 (served where enabled).
    builtin(
      "admissionregistration.k8s.io",
      "v1alpha1",
      "mutatingadmissionpolicies",
      "MutatingAdmissionPolicy",
      false,
      { generation: true, unconditionalUpdate: false },
    ),
    builtin(
      "admissionregistration.k8s.io",
      "v1alpha1",
      "mutatingadmissionpolicybindings",
      "MutatingAdmissionPolicyBinding",
      false,
      { generation: true, unconditionalUpdate: false },
    ),
    // What proxscale's own install applies (deploy/): so its manifests can be applied and read back.
    builtin("apps", "v1", "deployments", "Deployment", true, {
      shortNames: ["deploy"],
      categories: ["all"],
      status: true,
      generation: true,
      scale: REPLICAS_SCALE,
    }),
    // The workload kinds the fake cluster's controllers run (fakes/cluster/controllers/).
    builtin("apps", "v1", "replicasets", "ReplicaSet", true, {
      shortNames: ["rs"],
      categories: ["all"],
      status: true,
      generation: true,
      scale: REPLICAS_SCALE,
    }),
    builtin("apps", "v1", "statefulsets", "StatefulSet", true, {
      shortNames: ["sts"],
      categories: ["all"],
      status: true,
      generation: true,
      scale: REPLICAS_SCALE,
    }),
    builtin("apps", "v1", "daemonsets", "DaemonSet", true, {
      shortNames: ["ds"],
      categories: ["all"],
      status: true,
      generation: true,
    }),
    builtin("batch", "v1", "jobs", "Job", true, {
      categories: ["all"],
      status: true,
      generation: true,
    }),
    builtin("batch", "v1", "cronjobs", "CronJob", true, {
      shortNames: ["cj"],
      categories: ["all"],
      status: true,
      generation: true,
    }),
    builtin("", "v1", "persistentvolumes", "PersistentVolume", false, {
      shortNames: ["pv"],
      status: true,
    }),
    builtin("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, {
      shortNames: ["pvc"],
      status: true,
    }),
    builtin("storage.k8s.io", "v1", "storageclasses", "StorageClass", false, {
      shortNames: ["sc"],
    }),
    builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, {}),
    builtin(
      "rbac.authorization.k8s.io",
      "v1",
      "clusterrolebindings",
      "ClusterRoleBinding",
      false,
      {},
    ),
    builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", true, {}),
    builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, {}),
    builtin("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, {
      shortNames: ["netpol"],
      generation: true,
    }),
    builtin("coordination.k8s.io", "v1", "leases", "Lease", true, {
      unconditionalUpdate: false,
      createOnUpdate: true,
    }),
    builtin("events.k8s.io", "v1", "events", "Event", true, {
      shortNames: ["ev"],
      storage: "events",
      fromStorage: coreToEventsV1,
      toStorage: eventsV1ToCore,
    }),
    builtin(
      "apiextensions.k8s.io",
      "v1",
      "customresourcedefinitions",
      "CustomResourceDefinition",
      false,
      {
        shortNames: ["crd", "crds"],
        status: true,
        generation: true,
        unconditionalUpdate: false,
      },
    ),
  ];
}

/** One served version of a CRD, as stored in the CRD object. */
type CrdVersion = {
  name: string;
  served?: boolean;
  storage?: boolean;
  subresources?: { status?: object; scale?: ResourceDef["scale"] };
  additionalPrinterColumns?: PrinterColumn[];
  selectableFields?: { jsonPath: string }[];
  schema?: { openAPIV3Schema?: SchemaNode };
};

/** A CRD object (only the fields the fake reads). */
export type CrdObject = {
  metadata: { name: string };
  spec: {
    group: string;
    scope: "Cluster" | "Namespaced";
    names: {
      kind: string;
      listKind?: string;
      plural: string;
      singular?: string;
      shortNames?: string[];
      categories?: string[];
    };
    versions: CrdVersion[];
  };
};

/** The resource entries an Established CRD adds: one per served version. */
export function resourcesFromCrd(crd: CrdObject): ResourceDef[] {
  const { group, names, scope } = crd.spec;
  return crd.spec.versions.filter((v) => v.served !== false).map((v) => {
    const schema = v.schema?.openAPIV3Schema;
    const def: ResourceDef = {
      group,
      version: v.name,
      plural: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      namespaced: scope === "Namespaced",
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
      status: v.subresources?.status !== undefined,
      eviction: false,
      generation: true,
      unconditionalUpdate: false,
      createOnUpdate: false,
      fieldLabels: (v.selectableFields ?? []).map((f) => f.jsonPath.replace(/^\./, "")),
      builtin: false,
      returnDeletedObject: false,
      listRules: schemaListRules(schema),
      printerColumns: v.additionalPrinterColumns ?? defaultColumns(v),
      crd: crd.metadata.name,
    };
    if (schema) def.schema = schema;
    if (v.subresources?.scale) def.scale = v.subresources.scale;
    return def;
  });
}

function defaultColumns(v: CrdVersion): PrinterColumn[] {
  const cols: PrinterColumn[] = [];
  const scale = v.subresources?.scale;
  if (scale) {
    cols.push({ name: "Desired", type: "integer", jsonPath: scale.specReplicasPath });
    cols.push({ name: "Available", type: "integer", jsonPath: scale.statusReplicasPath });
  }
  cols.push({ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" });
  return cols;
}
