/**
 * Server-side printers for Deployments, Services and Secrets, with the columns and cells
 * kubectl 1.32 shows for them (`kubectl get deploy,svc,secret`, `-o wide`):
 *
 * - Deployment: Name, Ready (`ready/desired`), Up-to-date, Available, Age; wide Containers,
 *   Images, Selector. Up-to-date and Available are declared string columns but carry integer
 *   cells, as the apiserver's printer does.
 * - Service: Name, Type, Cluster-IP, External-IP, Port(s) (`80/TCP`, `80:30080/TCP` with a
 *   node port), Age; wide Selector (`app=web`, `<none>`).
 * - Secret: Name, Type, Data (number of keys), Age.
 *
 * Column definitions are built inside the functions (table.ts imports this module).
 *
 * May import: table.ts, objects.ts (types), patch.ts (types).
 */
import type { KObj } from "./objects.ts";
import type { Json } from "./patch.ts";
import { age, ageCol, col, nameCol, type Printer } from "./table.ts";

/** `metav1.FormatLabelSelector`: `a=b,c in (d,e)`, `<none>` when empty. */
export function formatLabelSelector(sel: Json): string {
  if (!sel || typeof sel !== "object") return "<none>";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const op = String(e?.operator ?? "");
    const vals = (e?.values ?? []).join(",");
    if (op === "In") parts.push(`${e.key} in (${vals})`);
    else if (op === "NotIn") parts.push(`${e.key} notin (${vals})`);
    else if (op === "Exists") parts.push(String(e.key));
    else if (op === "DoesNotExist") parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(",") : "<none>";
}

/** `labels.FormatLabels`: `a=b,c=d` sorted by key, `<none>` when empty. */
function formatLabels(m: Json): string {
  const keys = Object.keys(m ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${m[k]}`).join(",") : "<none>";
}

/** The Deployment printer. */
export function deploymentPrinter(): Printer {
  return {
    columns: [
      nameCol,
      col("Ready", "string", 0, "Number of the pod with ready state"),
      col(
        "Up-to-date",
        "string",
        0,
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
      ),
      col(
        "Available",
        "string",
        0,
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
      ),
      ageCol,
      col("Containers", "string", 1, "Names of each container in the template."),
      col("Images", "string", 1, "Images referenced by each container in the template."),
      col(
        "Selector",
        "string",
        1,
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.",
      ),
    ],
    cells: (o: KObj, now: number) => {
      const containers: Json[] = o.spec?.template?.spec?.containers ?? [];
      return [
        o.metadata.name,
        `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`,
        o.status?.updatedReplicas ?? 0,
        o.status?.availableReplicas ?? 0,
        age(o.metadata.creationTimestamp, now),
        containers.map((c) => c?.name ?? "").join(","),
        containers.map((c) => c?.image ?? "").join(","),
        formatLabelSelector(o.spec?.selector),
      ];
    },
  };
}

function externalIp(o: KObj): string {
  const spec = o.spec ?? {};
  const external: string[] = spec.externalIPs ?? [];
  switch (spec.type ?? "ClusterIP") {
    case "LoadBalancer": {
      const ingress: Json[] = o.status?.loadBalancer?.ingress ?? [];
      const ips = [...ingress.map((i) => i?.ip || i?.hostname).filter((x) => x), ...external];
      return ips.length ? ips.join(",") : "<pending>";
    }
    case "ExternalName":
      return spec.externalName ?? "<none>";
    default:
      return external.length ? external.join(",") : "<none>";
  }
}

function ports(o: KObj): string {
  const list: Json[] = o.spec?.ports ?? [];
  if (!list.length) return "<none>";
  return list.map((p) => {
    const proto = p?.protocol ?? "TCP";
    return p?.nodePort ? `${p.port}:${p.nodePort}/${proto}` : `${p?.port}/${proto}`;
  }).join(",");
}

/** The Service printer. */
export function servicePrinter(): Printer {
  return {
    columns: [
      nameCol,
      col(
        "Type",
        "string",
        0,
        "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.",
      ),
      col(
        "Cluster-IP",
        "string",
        0,
        "clusterIP is the IP address of the service and is usually assigned randomly.",
      ),
      col(
        "External-IP",
        "string",
        0,
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
      ),
      col("Port(s)", "string", 0, "The list of ports that are exposed by this service."),
      ageCol,
      col(
        "Selector",
        "string",
        1,
        "Route service traffic to pods with label keys and values matching this selector.",
      ),
    ],
    cells: (o: KObj, now: number) => [
      o.metadata.name,
      o.spec?.type ?? "ClusterIP",
      o.spec?.clusterIP || "<none>",
      externalIp(o),
      ports(o),
      age(o.metadata.creationTimestamp, now),
      formatLabels(o.spec?.selector),
    ],
  };
}

/** The Secret printer. */
export function secretPrinter(): Printer {
  return {
    columns: [
      nameCol,
      col("Type", "string", 0, "Used to facilitate programmatic handling of secret data."),
      col(
        "Data",
        "string",
        0,
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'.",
      ),
      ageCol,
    ],
    cells: (o: KObj, now: number) => {
      const keys = new Set([
        ...Object.keys(o.data ?? {}),
        ...Object.keys(o.stringData ?? {}),
      ]);
      return [
        o.metadata.name,
        o.type ?? "Opaque",
        keys.size,
        age(o.metadata.creationTimestamp, now),
      ];
    },
  };
}
