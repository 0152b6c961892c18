import assert from "node:assert/strict";
import { captureIo } from "./command.ts";
import { informerPodWatch, recordCommandWith } from "./record.ts";
import { kubeClientFromKubeconfig } from "../adapters/kubernetes/kubeconfig.ts";
import { call, withKube } from "../fakes/fake_kube/testing/client.ts";
import { parseTrace } from "../sim/trace/format.ts";
import { readDemandHistoryFile } from "../sim/trace/demand_history_file.ts";
import { encodeHistory } from "../core/forecast_history.ts";
import type { PodChange, PodWatch } from "../sim/trace/recorder.ts";

function podBody(name: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "web-1",
        uid: "rs-uid",
        controller: true,
      }],
    },
    spec: {
      containers: [{
        name: "c",
        image: "nginx",
        resources: { requests: { cpu: "250m", memory: "256Mi" } },
      }],
    },
  };
}

Deno.test("proxscale record writes a trace of what the pod informer saw on a (fake) API server", async () => {
  await withKube({}, async (k) => {
    assert.equal(
      (await call(k, "POST", "/api/v1/namespaces/default/pods", { body: podBody("old") })).status,
      201,
    );
    const dir = await Deno.makeTempDir({ prefix: "proxscale-record-" });
    try {
      const seen: PodChange[] = [];
      const waiters: { test: (c: PodChange) => boolean; resolve: () => void }[] = [];
      const seenOnce = (test: (c: PodChange) => boolean) =>
        new Promise<void>((resolve) => {
          if (seen.some(test)) resolve();
          else waiters.push({ test, resolve });
        });
      const client = kubeClientFromKubeconfig(k.kubeconfig());
      let clock = Date.UTC(2026, 0, 1);
      const cmd = recordCommandWith({
        watch: (_kc, ns) => {
          const inner = informerPodWatch(client, ns);
          const w: PodWatch = {
            start: (on) =>
              inner.start((c) => {
                seen.push(c);
                on(c);
                for (const x of waiters.filter((x) => x.test(c))) x.resolve();
              }),
            stop: () => inner.stop(),
          };
          return Promise.resolve(w);
        },
        until: async () => {
          await seenOnce((c) => c.pod.name === "old");
          clock += 60_000;
          await call(k, "POST", "/api/v1/namespaces/default/pods", { body: podBody("new") });
          await seenOnce((c) => c.pod.name === "new");
          clock += 60_000;
          await call(k, "DELETE", "/api/v1/namespaces/default/pods/old?gracePeriodSeconds=0");
          await seenOnce((c) => c.pod.name === "old" && c.type === "delete");
          clock += 60_000;
        },
        now: () => clock,
      });
      const io = captureIo();
      const code = await cmd.run(["--out", `${dir}/t.jsonl`, "--namespace", "default"], io);
      assert.equal(code, 0, io.stderr.join("\n"));
      const t = parseTrace(await Deno.readTextFile(`${dir}/t.jsonl`));
      assert.ok(t.ok);
      assert.deepEqual(t.value.pods.map((p) => [p.name, p.arrival, p.departure, p.cpu, p.owner]), [
        ["old", 0, 120_000, 250, "ReplicaSet/web-1"],
        ["new", 60_000, undefined, 250, "ReplicaSet/web-1"],
      ]);
      assert.equal(t.value.duration, 180_000);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("proxscale record needs --out and a valid --duration", async () => {
  const cmd = recordCommandWith({
    watch: () => Promise.reject(new Error("not reached")),
    until: () => Promise.resolve(),
    now: () => 0,
  });
  const io = captureIo();
  assert.equal(await cmd.run([], io), 2);
  assert.match(io.stderr.join("\n"), /--out is required/);
  const io2 = captureIo();
  assert.equal(await cmd.run(["--out", "x", "--duration", "soon"], io2), 2);
  assert.match(io2.stderr.join("\n"), /--duration must be a duration/);
});

Deno.test("proxscale record --demand-history exports the stored histories for sim --demand-history", async () => {
  await withKube({}, async (k) => {
    const history = { first: 10, cpu: [1000, 2000], memory: [2 ** 30, 2 ** 31], gpus: [0, 1] };
    const made = await call(k, "POST", "/api/v1/namespaces/default/configmaps", {
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "proxscale-demand-history", namespace: "default" },
        data: { general: encodeHistory(history) },
      },
    });
    assert.equal(made.status, 201);
    const dir = await Deno.makeTempDir({ prefix: "proxscale-record-" });
    try {
      const out = `${dir}/history.json`;
      const client = kubeClientFromKubeconfig(k.kubeconfig());
      const io = captureIo();
      const cmd = recordCommandWith({
        watch: () => Promise.reject(new Error("no pod watch for --demand-history")),
        until: () => Promise.resolve(),
        now: () => 0,
        kube: () => Promise.resolve(client),
      });
      assert.equal(
        await cmd.run(["--demand-history", "--history-namespace", "default", "--out", out], io),
        0,
        io.stderr.join("\n"),
      );
      assert.match(io.stdout.join("\n"), /1 pool\(s\) \(general: 2 buckets\)/);
      const read = readDemandHistoryFile(await Deno.readTextFile(out));
      assert.ok(read.ok);
      assert.deepEqual(
        read.value.general,
        { ...history, first: -2 },
        "ends where the trace begins",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
