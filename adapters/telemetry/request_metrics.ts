/**
 * Kubernetes request metrics: each request the KubeClient reports (adapters/kubernetes/client.ts
 * `onRequest`) becomes `proxscale_kubernetes_requests_total{verb,resource,code}` and a latency
 * sample, with verbs as the API server's audit log names them (get, list, watch, create, update,
 * patch, delete) and the resource as its plural (with the subresource, e.g. `pods/eviction`).
 *
 * May import: adapters/.
 */
import type { KubeRequestEvent } from "../kubernetes/client.ts";
import type { Metrics } from "./metrics.ts";
import { kubeTarget } from "./traced_clients.ts";

const VERBS: Record<string, string> = {
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

/** The verb and resource of one request, as labels. */
export function kubeRequestLabels(e: KubeRequestEvent): { verb: string; resource: string } {
  const t = kubeTarget(e.path);
  const verb = e.method === "GET"
    ? e.watch ? "watch" : t.name === undefined ? "list" : "get"
    : VERBS[e.method] ?? e.method.toLowerCase();
  return { verb, resource: t.resource };
}

/** The `onRequest` hook that records one request into `metrics`. */
export function kubeRequestObserver(metrics: Metrics): (e: KubeRequestEvent) => void {
  return (e) => {
    const { verb, resource } = kubeRequestLabels(e);
    metrics.observeKubernetesRequest(verb, resource, e.status ?? "transport", e.durationMs);
  };
}
