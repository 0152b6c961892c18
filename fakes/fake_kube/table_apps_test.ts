import assert from "node:assert/strict";
import { call, withKube } from "./testing/client.ts";

const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
const T0 = Date.parse("2026-11-26T03:33:24Z");

Deno.test("Deployments print Name, Ready, Up-to-date, Available, Age and wide Containers, Images, Selector", async () => {
  await withKube({ now: () => T0 + 5 * 60_000 }, async (k) => {
    k.store.create("deployments.apps", {
      metadata: { name: "web", namespace: "default", creationTimestamp: "2026-11-26T03:33:24Z" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [{ name: "nginx", image: "nginx:1" }, { name: "log", image: "busybox" }],
          },
        },
      },
    });
    const r = await call(k, "GET", "/apis/apps/v1/namespaces/default/deployments", {
      accept: TABLE,
    });
    assert.equal(r.json.kind, "Table");
    assert.deepEqual(
      r.json.columnDefinitions.map((c: { name: string; priority: number }) =>
        `${c.name}:${c.priority}`
      ),
      [
        "Name:0",
        "Ready:0",
        "Up-to-date:0",
        "Available:0",
        "Age:0",
        "Containers:1",
        "Images:1",
        "Selector:1",
      ],
    );
    const cells = r.json.rows[0].cells;
    assert.deepEqual(cells.slice(0, 2), ["web", `${cells[1].split("/")[0]}/3`]);
    assert.equal(typeof cells[2], "number", "Up-to-date is an integer cell");
    assert.deepEqual(cells.slice(5), ["nginx,log", "nginx:1,busybox", "app=web"]);
  });
});

Deno.test("Services print Type, Cluster-IP, External-IP and Port(s) with node ports; Secrets count their keys", async () => {
  await withKube({}, async (k) => {
    k.store.create("services", {
      metadata: { name: "np", namespace: "default" },
      spec: {
        type: "NodePort",
        clusterIP: "10.96.0.10",
        selector: { app: "web", tier: "a" },
        ports: [{ port: 80, nodePort: 30080 }, { port: 53, protocol: "UDP" }],
      },
    });
    k.store.create("services", {
      metadata: { name: "lb", namespace: "default" },
      spec: { type: "LoadBalancer", ports: [{ port: 443 }] },
    });
    const svc = await call(k, "GET", "/api/v1/namespaces/default/services", { accept: TABLE });
    assert.deepEqual(
      svc.json.columnDefinitions.map((c: { name: string }) => c.name),
      ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
    );
    const byName = Object.fromEntries(
      svc.json.rows.map((row: { cells: unknown[] }) => [row.cells[0], row.cells]),
    );
    assert.deepEqual(
      [...byName.np.slice(1, 5), byName.np[6]],
      ["NodePort", "10.96.0.10", "<none>", "80:30080/TCP,53/UDP", "app=web,tier=a"],
    );
    assert.equal(byName.lb[3], "<pending>", "a load balancer without ingress is pending");
    k.store.create("secrets", {
      metadata: { name: "s", namespace: "default" },
      data: { a: btoa("1"), b: btoa("2") },
    });
    const sec = await call(k, "GET", "/api/v1/namespaces/default/secrets/s", { accept: TABLE });
    assert.deepEqual(
      sec.json.columnDefinitions.map((c: { name: string }) => c.name),
      ["Name", "Type", "Data", "Age"],
    );
    assert.deepEqual(sec.json.rows[0].cells.slice(0, 3), ["s", "Opaque", 2]);
  });
});
