/**
 * Server-side printing: `meta.k8s.io/v1` Tables for `kubectl get`,
 * with the built-in printers' headers, CRD `additionalPrinterColumns` evaluated by a small
 * JSONPath subset, human ages, and PartialObjectMetadata row objects.
 */
import type { KObj } from "./objects.ts";
import type { Json } from "./patch.ts";
import type { PrinterColumn, ResourceDef } from "./resources.ts";
import { deploymentPrinter, secretPrinter, servicePrinter } from "./table_apps.ts";

/** One Table column definition. */
export type Column = {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
};
/** A server-side printer: its columns and the cells of one object. */
export type Printer = { columns: Column[]; cells: (o: KObj, now: number) => Json[] };

const NAME_DESC =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC =
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/** A column definition (all five keys always present). */
export function col(
  name: string,
  type = "string",
  priority = 0,
  description = "",
  format = "",
): Column {
  return { name, type, format, description, priority };
}
/** The Name column every printer starts with. */
export const nameCol = col("Name", "string", 0, NAME_DESC, "name");
/** The Age column of hand-written printers (a string cell). */
export const ageCol = col("Age", "string", 0, AGE_DESC);

/** Go's `duration.HumanDuration`, as the Age columns print it. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    return hours % 24 === 0
      ? `${Math.floor(hours / 24)}d`
      : `${Math.floor(hours / 24)}d${hours % 24}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** The Age cell: a human duration since `ts`. */
export function age(ts: Json, now: number): string {
  if (typeof ts !== "string") return "<unknown>";
  const t = Date.parse(ts);
  return Number.isNaN(t) ? "<invalid>" : humanDuration(now - t);
}

function podPrinter(): Printer {
  return {
    columns: [
      nameCol,
      col("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
      col("Status", "string", 0, "The aggregate status of the containers in this pod."),
      col(
        "Restarts",
        "string",
        0,
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
      ),
      ageCol,
      col(
        "IP",
        "string",
        1,
        "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
      ),
      col("Node", "string", 1, "NodeName is a request to schedule this pod onto a specific node."),
      col(
        "Nominated Node",
        "string",
        1,
        "nominatedNodeName is set only when this pod preempts other pods on the node.",
      ),
      col(
        "Readiness Gates",
        "string",
        1,
        "If specified, all readiness gates will be evaluated for pod readiness.",
      ),
    ],
    cells: (o, now) => {
      const statuses: Json[] = o.status?.containerStatuses ?? [];
      const total = (o.spec?.containers ?? []).length;
      const ready = statuses.filter((s) => s?.ready).length;
      const restarts = statuses.reduce((n, s) => n + (s?.restartCount ?? 0), 0);
      let status = o.status?.reason ?? o.status?.phase ?? "Unknown";
      const waiting = statuses.find((s) => s?.state?.waiting?.reason)?.state.waiting.reason;
      if (waiting) status = waiting;
      if (o.metadata.deletionTimestamp) status = "Terminating";
      return [
        o.metadata.name,
        `${ready}/${total}`,
        status,
        String(restarts),
        age(o.metadata.creationTimestamp, now),
        o.status?.podIP ?? "<none>",
        o.spec?.nodeName || "<none>",
        o.status?.nominatedNodeName ?? "<none>",
        "<none>",
      ];
    },
  };
}

function nodePrinter(): Printer {
  return {
    columns: [
      nameCol,
      col("Status", "string", 0, "The status of the node"),
      col("Roles", "string", 0, "The roles of the node"),
      ageCol,
      col("Version", "string", 0, "Kubelet Version reported by the node."),
      col("Internal-IP", "string", 1, "List of internal IPs in the node."),
      col("External-IP", "string", 1, "List of external IPs in the node."),
      col(
        "OS-Image",
        "string",
        1,
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
      ),
      col(
        "Kernel-Version",
        "string",
        1,
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      ),
      col(
        "Container-Runtime",
        "string",
        1,
        "Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
      ),
    ],
    cells: (o, now) => {
      const ready = (o.status?.conditions ?? []).find((c: Json) => c?.type === "Ready");
      let status = ready?.status === "True"
        ? "Ready"
        : ready?.status === "False"
        ? "NotReady"
        : "Unknown";
      if (o.spec?.unschedulable) status += ",SchedulingDisabled";
      const roles = Object.keys(o.metadata.labels ?? {})
        .filter((k) => k.startsWith("node-role.kubernetes.io/"))
        .map((k) => k.slice("node-role.kubernetes.io/".length))
        .filter((r) => r);
      const addr = (t: string) =>
        (o.status?.addresses ?? []).find((a: Json) => a?.type === t)?.address ?? "<none>";
      const info = o.status?.nodeInfo ?? {};
      return [
        o.metadata.name,
        status,
        roles.length ? roles.sort().join(",") : "<none>",
        age(o.metadata.creationTimestamp, now),
        info.kubeletVersion ?? "",
        addr("InternalIP"),
        addr("ExternalIP"),
        info.osImage ?? "<unknown>",
        info.kernelVersion ?? "<unknown>",
        info.containerRuntimeVersion ?? "<unknown>",
      ];
    },
  };
}

function eventPrinter(): Printer {
  return {
    columns: [
      col("Last Seen", "string", 0, "Time when this Event was last seen"),
      col(
        "Type",
        "string",
        0,
        "Type of this event (Normal, Warning), new types could be added in the future.",
      ),
      col(
        "Reason",
        "string",
        0,
        "Reason why the action was taken. It is human-readable. This field can have at most 128 characters.",
      ),
      col(
        "Object",
        "string",
        0,
        "The object that this event is about. Mapped from event.InvolvedObject",
      ),
      col("Message", "string", 0, "A human-readable description of the status of this operation."),
      col(
        "Subobject",
        "string",
        1,
        "The subobject this event is about. Mapped from event.InvolvedObject.FieldPath",
      ),
      col(
        "Source",
        "string",
        1,
        "The component reporting this event. Should be a short machine understandable string.",
      ),
      col(
        "First Seen",
        "string",
        1,
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
      ),
      col("Count", "string", 1, "The number of times this event has occurred."),
      nameCol,
    ],
    cells: (o, now) => {
      const inv = o.involvedObject ?? o.regarding ?? {};
      const last = o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      return [
        age(last, now),
        o.type ?? "",
        o.reason ?? "",
        `${String(inv.kind ?? "").toLowerCase()}/${inv.name ?? ""}`,
        o.message ?? o.note ?? "",
        inv.fieldPath ?? "",
        o.source?.component ?? o.reportingComponent ?? "",
        age(o.firstTimestamp ?? last, now),
        String(o.count ?? 1),
        o.metadata.name,
      ];
    },
  };
}

function builtinPrinter(def: ResourceDef): Printer {
  switch (def.kind) {
    case "Pod":
      return podPrinter();
    case "Node":
      return nodePrinter();
    case "Event":
      return eventPrinter();
    case "Deployment":
      return deploymentPrinter();
    case "Service":
      return servicePrinter();
    case "Secret":
      return secretPrinter();
    case "Lease":
      return {
        columns: [
          nameCol,
          col(
            "Holder",
            "string",
            0,
            "holderIdentity contains the identity of the holder of a current lease.",
          ),
          ageCol,
        ],
        cells: (
          o,
          now,
        ) => [
          o.metadata.name,
          o.spec?.holderIdentity ?? "",
          age(o.metadata.creationTimestamp, now),
        ],
      };
    case "PodDisruptionBudget":
      return {
        columns: [
          nameCol,
          col("Min Available"),
          col("Max Unavailable"),
          col("Allowed Disruptions", "integer"),
          ageCol,
        ],
        cells: (o, now) => [
          o.metadata.name,
          o.spec?.minAvailable !== undefined ? String(o.spec.minAvailable) : "N/A",
          o.spec?.maxUnavailable !== undefined ? String(o.spec.maxUnavailable) : "N/A",
          o.status?.disruptionsAllowed ?? 0,
          age(o.metadata.creationTimestamp, now),
        ],
      };
    case "Namespace":
      return {
        columns: [nameCol, col("Status", "string", 0, "The status of the namespace"), ageCol],
        cells: (
          o,
          now,
        ) => [o.metadata.name, o.status?.phase ?? "", age(o.metadata.creationTimestamp, now)],
      };
    default:
      return {
        columns: [nameCol, col("Created At", "date", 0, AGE_DESC)],
        cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? null],
      };
  }
}

/** Evaluates the JSONPath subset printer columns use: `.a.b`, `[0]`, `[*]`, `[?(@.k=="v")]`. */
export function jsonPath(obj: Json, path: string): Json[] {
  const src = path.trim().replace(/^\{(.*)\}$/, "$1").replace(/^\$/, "");
  let cur: Json[] = [obj];
  const re =
    /\.([A-Za-z0-9_-]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["']([^"']*)["']\)\]|\['([^']+)'\]/y;
  let i = 0;
  while (i < src.length) {
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) return [];
    i = re.lastIndex;
    const next: Json[] = [];
    for (const v of cur) {
      if (m[1] !== undefined || m[5] !== undefined) {
        const key = m[1] ?? m[5]!;
        if (v && typeof v === "object" && !Array.isArray(v) && v[key] !== undefined) {
          next.push(v[key]);
        }
      } else if (m[2] !== undefined) {
        if (!Array.isArray(v)) continue;
        if (m[2] === "*") next.push(...v);
        else if (v[Number(m[2])] !== undefined) next.push(v[Number(m[2])]);
      } else if (m[3] !== undefined) {
        if (!Array.isArray(v)) continue;
        for (const e of v) {
          let f: Json = e;
          for (const seg of m[3].split(".")) f = f?.[seg];
          if (f !== undefined && String(f) === m[4]) next.push(e);
        }
      }
    }
    cur = next;
  }
  return cur;
}

function crdPrinter(cols: PrinterColumn[]): Printer {
  return {
    columns: [
      nameCol,
      ...cols.map((c) =>
        col(
          c.name,
          c.type,
          c.priority ?? 0,
          c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
          c.format ?? "",
        )
      ),
    ],
    cells: (o, now) => [
      o.metadata.name,
      ...cols.map((c) => {
        const v = jsonPath(o, c.jsonPath)[0];
        if (v === undefined || v === null) return null;
        switch (c.type) {
          case "date":
            return typeof v === "string" ? age(v, now) : "<invalid>";
          case "integer":
            return typeof v === "number" ? Math.trunc(v) : null;
          case "number":
            return typeof v === "number" ? v : null;
          case "boolean":
            return typeof v === "boolean" ? v : null;
          default:
            return typeof v === "object" ? JSON.stringify(v) : String(v);
        }
      }),
    ],
  };
}

/** The printer (columns + cell function) for a resource. */
export function printerFor(def: ResourceDef): Printer {
  return def.builtin ? builtinPrinter(def) : crdPrinter(def.printerColumns ?? []);
}

/** One Table row with the default `includeObject=Metadata` row object. */
export function tableRow(p: Printer, o: KObj, now: number, includeObject: string): Json {
  const row: Json = { cells: p.cells(o, now) };
  if (includeObject === "Object") row.object = o;
  else if (includeObject !== "None") {
    row.object = {
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: o.metadata,
    };
  }
  return row;
}

/** A full Table response for a list, a single object or a watch event. */
export function toTable(
  def: ResourceDef,
  objs: KObj[],
  opts: { now: number; resourceVersion?: string; includeObject?: string; columns?: boolean },
): Json {
  const p = printerFor(def);
  const t: Json = { kind: "Table", apiVersion: "meta.k8s.io/v1", metadata: {} };
  if (opts.resourceVersion) t.metadata.resourceVersion = opts.resourceVersion;
  if (opts.columns !== false) t.columnDefinitions = p.columns;
  t.rows = objs.map((o) => tableRow(p, o, opts.now, opts.includeObject ?? "Metadata"));
  return t;
}
