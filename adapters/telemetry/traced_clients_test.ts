import assert from "node:assert/strict";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { err, ok } from "../../core/result.ts";
import type { KubeClient } from "../kubernetes/client.ts";
import type { PveClient } from "../proxmox/client.ts";
import { kubeTarget, traceKubeClient, tracePveClient } from "./traced_clients.ts";
import { createTracing } from "./tracing.ts";

function setup() {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return { exporter, tracing: createTracing({ tracer: provider.getTracer("test") }) };
}

Deno.test("kubeTarget names resource, subresource, object and namespace of a REST path", () => {
  assert.deepEqual(kubeTarget("/api/v1/namespaces/ns/pods/p%2D1/eviction"), {
    resource: "pods/eviction",
    name: "p-1",
    namespace: "ns",
  });
  assert.deepEqual(kubeTarget("/apis/proxscale.io/v1alpha1/nodeclaims/c1/status"), {
    resource: "nodeclaims/status",
    name: "c1",
  });
  assert.deepEqual(kubeTarget("/apis/proxscale.io/v1alpha1/nodeclaims?x=1"), {
    resource: "nodeclaims",
  });
  assert.deepEqual(kubeTarget("/api/v1/namespaces/kube-system/events"), {
    resource: "events",
    namespace: "kube-system",
  });
});

Deno.test("each Kubernetes request is a `kubernetes <verb> <resource>` span with the object and status", async () => {
  const { exporter, tracing } = setup();
  const calls: string[] = [];
  const raw = {
    kc: { server: "x" },
    requestJson: (method: string, path: string) => {
      calls.push(`${method} ${path}`);
      return Promise.resolve(
        method === "GET"
          ? err({ kind: "Status", code: 404, reason: "NotFound", message: "gone", causes: [] })
          : ok({ status: 200, body: {} }),
      );
    },
  } as unknown as KubeClient;
  const kube = traceKubeClient(raw, tracing);
  assert.equal(kube.kc, raw.kc);
  await kube.requestJson("PATCH", "/api/v1/nodes/n1", { body: {} });
  const r = await kube.requestJson("GET", "/apis/proxscale.io/v1alpha1/nodeclaims/c1");
  assert.equal(r.ok, false);
  assert.deepEqual(calls, [
    "PATCH /api/v1/nodes/n1",
    "GET /apis/proxscale.io/v1alpha1/nodeclaims/c1",
  ]);
  const [patch, get] = exporter.getFinishedSpans();
  assert.equal(patch!.name, "kubernetes patch nodes");
  assert.equal(patch!.attributes["proxscale.node"], "n1");
  assert.equal(patch!.attributes["http.response.status_code"], 200);
  assert.equal(get!.name, "kubernetes get nodeclaims");
  assert.equal(get!.attributes["proxscale.nodeclaim"], "c1");
  assert.equal(get!.attributes["http.response.status_code"], 404);
});

Deno.test("each PVE call is a `pve <operation>` span with host and vmid; other members pass through", async () => {
  const { exporter, tracing } = setup();
  class Stub {
    readonly endpoint = "https://pve";
    #secret = "s";
    cloneVm(_node: string, _src: number, _p: Record<string, unknown>) {
      return Promise.resolve(ok(`UPID:${this.#secret.length}`));
    }
    power(_node: string, _vmid: number, _action: string) {
      return Promise.resolve(ok("UPID"));
    }
    hostTripped(_node: string) {
      return this.#secret === "s";
    }
  }
  const pve = tracePveClient(new Stub() as unknown as PveClient, tracing);
  assert.equal(pve.endpoint, "https://pve");
  assert.equal(pve.hostTripped("pve1"), true); // private fields still reachable
  await pve.cloneVm("pve1", 9000, { newid: 120, target: "pve2" });
  await pve.power("pve2", 120, "start");
  const names = exporter.getFinishedSpans().map((s) => [
    s.name,
    s.attributes["proxscale.host"],
    s.attributes["proxscale.vmid"],
  ]);
  assert.deepEqual(names, [["pve clone", "pve1", 120], ["pve start", "pve2", 120]]);
});
