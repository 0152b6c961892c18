/**
 * Speed of the fake at cluster size: 1,000 nodes and 30,000 pods. Run with
 * `npx -y deno@2.9.6 bench -A --frozen fakes/fake_kube/fake_kube_bench.ts`.
 */
import { startFakeKube } from "./server.ts";

const kube = await startFakeKube({ tls: false, seed: 1 });
for (let i = 0; i < 1000; i++) {
  kube.store.create("nodes", {
    metadata: { name: `n${i}` },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  });
}
for (let i = 0; i < 30_000; i++) {
  kube.store.create("pods", {
    metadata: { name: `p${i}`, namespace: "default", labels: { app: `a${i % 50}` } },
    spec: {
      nodeName: `n${i % 1000}`,
      containers: [{
        name: "c",
        image: "nginx:1.27",
        resources: { requests: { cpu: "100m", memory: "128Mi" } },
      }],
    },
  });
}
globalThis.addEventListener("unload", () => void kube.close());

Deno.bench("fake_kube: seed 1,000 pods in-process", { group: "seed" }, () => {
  const ns = `bench-${Math.random().toString(36).slice(2, 8)}`;
  kube.store.create("namespaces", { metadata: { name: ns } });
  for (let i = 0; i < 1000; i++) {
    kube.store.create("pods", {
      metadata: { name: `p${i}`, namespace: ns },
      spec: { containers: [{ name: "c", image: "x" }] },
    });
  }
  kube.store.delete("namespaces", undefined, ns);
});

Deno.bench("fake_kube: list 30,000 pods over HTTP", { group: "list" }, async () => {
  const res = await fetch(`${kube.url}/api/v1/namespaces/default/pods`);
  await res.arrayBuffer();
});

Deno.bench(
  "fake_kube: list pods on one node (field selector) over HTTP",
  { group: "list" },
  async () => {
    const res = await fetch(`${kube.url}/api/v1/pods?fieldSelector=spec.nodeName%3Dn7`);
    await res.arrayBuffer();
  },
);

Deno.bench(
  "fake_kube: watch from empty RV until 30,000 ADDED arrived",
  { group: "watch" },
  async () => {
    const res = await fetch(`${kube.url}/api/v1/namespaces/default/pods?watch=true`);
    const reader = res.body!.getReader();
    let lines = 0;
    while (lines < 30_000) {
      const r = await reader.read();
      if (r.done) break;
      for (const b of r.value) if (b === 10) lines++;
    }
    await reader.cancel();
  },
);

Deno.bench(
  "fake_kube: 1,000 pod status writes fanned out to 5 HTTP watches",
  { group: "watch" },
  async () => {
    const rv = kube.store.resourceVersion();
    const readers = await Promise.all(
      Array.from(
        { length: 5 },
        () => fetch(`${kube.url}/api/v1/pods?watch=true&resourceVersion=${rv}`),
      ),
    ).then((rs) => rs.map((r) => r.body!.getReader()));
    const phase = `P${Math.random().toString(36).slice(2, 6)}`;
    for (let i = 0; i < 1000; i++) {
      const name = `p${i}`;
      const cur = kube.store.peek("pods", "default", name)!;
      kube.store.updateFrom(kube.store.resolve("pods")!, cur, {
        ...cur,
        status: { ...cur.status, reason: phase },
      }, {
        subresource: "status",
      });
    }
    await Promise.all(readers.map(async (reader) => {
      let lines = 0;
      while (lines < 1000) {
        const r = await reader.read();
        if (r.done) break;
        for (const b of r.value) if (b === 10) lines++;
      }
      await reader.cancel();
    }));
  },
);
