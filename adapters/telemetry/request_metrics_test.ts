import assert from "node:assert/strict";
import { kubeRequestLabels, kubeRequestObserver } from "./request_metrics.ts";
import { createMetrics } from "./metrics.ts";

Deno.test("Kubernetes requests are labelled with the API server's verbs and the plural resource", () => {
  const l = (method: string, path: string, watch = false) =>
    kubeRequestLabels({ method, path, watch, durationMs: 1 });
  assert.deepEqual(l("GET", "/api/v1/pods"), { verb: "list", resource: "pods" });
  assert.deepEqual(l("GET", "/api/v1/pods", true), { verb: "watch", resource: "pods" });
  assert.deepEqual(l("GET", "/api/v1/nodes/w1"), { verb: "get", resource: "nodes" });
  assert.deepEqual(l("POST", "/api/v1/namespaces/a/pods/p/eviction"), {
    verb: "create",
    resource: "pods/eviction",
  });
  assert.deepEqual(l("PATCH", "/apis/proxscale.io/v1alpha1/nodeclaims/c1/status"), {
    verb: "patch",
    resource: "nodeclaims/status",
  });
  assert.deepEqual(l("DELETE", "/api/v1/nodes/w1"), { verb: "delete", resource: "nodes" });
});

Deno.test("a request reaches /metrics with its verb, resource and code; no answer is 'transport'", async () => {
  const m = createMetrics();
  try {
    const observe = kubeRequestObserver(m);
    observe({
      method: "PATCH",
      path: "/api/v1/nodes/w1",
      watch: false,
      status: 200,
      durationMs: 4,
    });
    observe({ method: "GET", path: "/api/v1/pods", watch: false, durationMs: 30 });
    const text = await m.collect();
    assert.match(
      text,
      /proxscale_kubernetes_requests_total\{verb="patch",resource="nodes",code="200"\} 1/,
    );
    assert.match(text, /proxscale_kubernetes_requests_total\{[^}]*code="transport"\} 1/);
    assert.match(text, /proxscale_kubernetes_request_duration_seconds_count\{verb="list"/);
  } finally {
    await m.shutdown();
  }
});
