/**
 * The message tables the fake API server decodes protobuf bodies with: for each message, its
 * fields by number with their JSON names and types, in Go struct order (the order Go's JSON
 * writes them). Field numbers are those of the published k8s.io/api and k8s.io/apimachinery
 * `generated.proto` files (k8s.io/api generated.proto: core/v1, apps/v1, batch/v1, policy/v1;
 * apimachinery: meta/v1, util/intstr, api/resource).
 *
 * Each message is written as `"<number> <jsonName> <type>; ..."`, where type is `string`,
 * `int` (any int32/int64 varint), `bool`, `bytes`, or a message name; `[]T` is repeated;
 * `map<T>` is a map with string keys (repeated {1 key, 2 value} entries on the wire); a
 * trailing `?` marks a Go pointer, whose zero value (0, false, "", an empty message) is still a
 * value and stays in the JSON, while other zero fields, which the typed clients write anyway,
 * are left out as Go's `omitempty` does; a jsonName written `...name` is a Go-inline embedded
 * field, whose keys merge into the parent object. `Time`, `Quantity`, `IntOrString` and
 * `FieldsV1` are messages with a JSON form of their own (object_protobuf.ts converts them).
 *
 * May import: protobuf_schema_core.ts, protobuf_schema_workloads.ts.
 */
import { CORE_V1 } from "./protobuf_schema_core.ts";
import { WORKLOADS } from "./protobuf_schema_workloads.ts";

/** One field of a message. */
export type FieldSchema = {
  number: number;
  json: string;
  /** `string`, `int`, `bool`, `bytes` or a message name (also the value type of a map). */
  type: string;
  repeated: boolean;
  map: boolean;
  /** A Go pointer: its zero value is kept. */
  pointer: boolean;
  /** Go-inline: the decoded message's keys merge into the parent object. */
  inline: boolean;
};

/** One message: its fields by number, and in JSON order. */
export type MessageSchema = {
  name: string;
  byNumber: Map<number, FieldSchema>;
  order: FieldSchema[];
};

/** apimachinery messages (meta/v1, intstr, resource). */
const APIMACHINERY: Record<string, string> = {
  Time: "1 seconds int; 2 nanos int",
  Quantity: "1 string string",
  IntOrString: "1 type int; 2 intVal int; 3 strVal string",
  FieldsV1: "1 Raw bytes",
  ObjectMeta: "1 name string; 2 generateName string; 3 namespace string; 4 selfLink string; " +
    "5 uid string; 6 resourceVersion string; 7 generation int; 8 creationTimestamp Time; " +
    "9 deletionTimestamp Time?; 10 deletionGracePeriodSeconds int?; 11 labels map<string>; " +
    "12 annotations map<string>; 13 ownerReferences []OwnerReference; " +
    "14 finalizers []string; 17 managedFields []ManagedFieldsEntry",
  OwnerReference: "5 apiVersion string; 1 kind string; 3 name string; 4 uid string; " +
    "6 controller bool?; 7 blockOwnerDeletion bool?",
  ManagedFieldsEntry: "1 manager string; 2 operation string; 3 apiVersion string; " +
    "4 time Time?; 6 fieldsType string; 7 fieldsV1 FieldsV1?; 8 subresource string",
  LabelSelector: "1 matchLabels map<string>; 2 matchExpressions []LabelSelectorRequirement",
  LabelSelectorRequirement: "1 key string; 2 operator string; 3 values []string",
  Condition: "1 type string; 2 status string; 3 observedGeneration int; " +
    "4 lastTransitionTime Time; 5 reason string; 6 message string",
  DeleteOptions: "1 gracePeriodSeconds int?; 2 preconditions Preconditions?; " +
    "3 orphanDependents bool?; 4 propagationPolicy string?; 5 dryRun []string; " +
    "6 ignoreStoreReadErrorWithClusterBreakingPotential bool?",
  Preconditions: "1 uid string?; 2 resourceVersion string?",
};

/** The root message of each kind the fake decodes, by `apiVersion kind`. */
export const KIND_MESSAGES: Record<string, string> = {
  "v1 Pod": "Pod",
  "v1 Service": "Service",
  "v1 ServiceAccount": "ServiceAccount",
  "v1 Secret": "Secret",
  "v1 ConfigMap": "ConfigMap",
  "v1 Namespace": "Namespace",
  "v1 PersistentVolumeClaim": "PersistentVolumeClaim",
  "apps/v1 Deployment": "Deployment",
  "apps/v1 StatefulSet": "StatefulSet",
  "apps/v1 DaemonSet": "DaemonSet",
  "apps/v1 ReplicaSet": "ReplicaSet",
  "batch/v1 Job": "Job",
  "batch/v1 CronJob": "CronJob",
  "policy/v1 PodDisruptionBudget": "PodDisruptionBudget",
  "policy/v1 Eviction": "Eviction",
};

function parseField(message: string, text: string): FieldSchema {
  const m = /^(\d+) (\.\.\.)?(\w+) (\[\])?(map<)?(\w+)(>)?(\?)?$/.exec(text.trim());
  if (!m || !!m[5] !== !!m[7]) {
    throw new Error(`Protobuf schema of ${message} has a malformed field "${text}"`);
  }
  return {
    number: Number(m[1]),
    json: m[3]!,
    type: m[6]!,
    repeated: !!m[4],
    map: !!m[5],
    pointer: !!m[8],
    inline: !!m[2],
  };
}

/** Parses message tables written as above; throws on a malformed line (a bug in a table). */
export function parseSchemas(tables: Record<string, string>[]): Map<string, MessageSchema> {
  const out = new Map<string, MessageSchema>();
  for (const table of tables) {
    for (const [name, text] of Object.entries(table)) {
      if (out.has(name)) throw new Error(`Protobuf schema ${name} is defined twice`);
      const order = text.split(";").map((f) => parseField(name, f));
      const byNumber = new Map<number, FieldSchema>();
      for (const f of order) {
        if (byNumber.has(f.number)) {
          throw new Error(`Protobuf schema ${name} has field ${f.number} twice`);
        }
        byNumber.set(f.number, f);
      }
      out.set(name, { name, byNumber, order });
    }
  }
  return out;
}

/** Every message the fake decodes, by name. */
export const MESSAGES: Map<string, MessageSchema> = parseSchemas([
  APIMACHINERY,
  CORE_V1,
  WORKLOADS,
]);
