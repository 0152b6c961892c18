/** Job controller behaviour: pods up to parallelism until enough completed, then Complete. */
import assert from "node:assert/strict";
import {
  addNode,
  livePods,
  playCluster,
  podsOf,
  until,
  withControllers,
} from "./testing/cluster.ts";

Deno.test("a Job runs at most parallelism pods until completions succeeded, then is Complete with counts", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    addNode(s, "n1");
    let maxActive = 0;
    const w = s.watch("pods", { namespace: "default" }, () => {
      maxActive = Math.max(
        maxActive,
        livePods(s).filter((p) => p.status?.phase !== "Succeeded").length,
      );
    });
    assert.ok(w.ok);
    const play = playCluster(s, () => "n1");
    try {
      const r = s.create("jobs.batch", {
        metadata: { name: "batch", namespace: "default" },
        spec: {
          completions: 5,
          parallelism: 2,
          template: {
            spec: { restartPolicy: "Never", containers: [{ name: "c", image: "work:1" }] },
          },
        },
      });
      assert.ok(r.ok);
      const uid = r.value.object.metadata.uid!;
      assert.deepEqual(r.value.object.spec.selector, {
        matchLabels: { "batch.kubernetes.io/controller-uid": uid },
      });
      const job = await until("Complete", () => {
        const j = s.peek("jobs.batch", "default", "batch");
        return (j?.status?.conditions ?? []).some((c: { type: string; status: string }) =>
            c.type === "Complete" && c.status === "True"
          )
          ? j
          : undefined;
      });
      assert.equal(job.status.succeeded, 5);
      assert.equal(job.status.active, undefined);
      assert.ok(job.status.completionTime);
      assert.deepEqual(
        job.status.conditions.map((c: { type: string }) => c.type),
        ["SuccessCriteriaMet", "Complete"],
      );
      const pods = podsOf(s, "default", `batch.kubernetes.io/controller-uid=${uid}`);
      assert.equal(pods.length, 5);
      assert.ok(pods.every((p) => p.metadata.name!.startsWith("batch-")));
      assert.ok(maxActive <= 2, `at most 2 active pods, saw ${maxActive}`);
      // Nothing more is started once complete.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(podsOf(s).length, 5);
    } finally {
      play.stop();
      w.value.stop();
    }
  });
});

Deno.test("a Job whose pods keep failing stops after backoffLimit failures with the Failed condition", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    const r = s.create("jobs.batch", {
      metadata: { name: "flaky", namespace: "default" },
      spec: {
        backoffLimit: 2,
        template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "x" }] } },
      },
    });
    assert.ok(r.ok);
    // Every pod that appears fails, as a kubelet would report it.
    const fail = setInterval(() => {
      for (const p of livePods(s)) {
        if (p.status?.phase === "Pending") {
          s.update("pods", { ...structuredClone(p), status: { phase: "Failed" } }, {
            subresource: "status",
            namespace: "default",
          });
        }
      }
    }, 10);
    try {
      const job = await until("Failed", () => {
        const j = s.peek("jobs.batch", "default", "flaky");
        return (j?.status?.conditions ?? []).some((c: { type: string; status: string }) =>
            c.type === "Failed" && c.status === "True"
          )
          ? j
          : undefined;
      });
      assert.equal(job.status.failed, 3);
      const failed = job.status.conditions.find((c: { type: string }) => c.type === "Failed");
      assert.equal(failed.reason, "BackoffLimitExceeded");
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(podsOf(s).length, 3, "no pod after the limit");
    } finally {
      clearInterval(fail);
    }
  });
});
