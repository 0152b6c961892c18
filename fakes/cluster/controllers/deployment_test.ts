/**
 * Deployment controller behaviour on a live fake API server: scaling up and down through the
 * ReplicaSet it creates, and a rolling update that stays within maxSurge/maxUnavailable.
 */
import assert from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import {
  addNode,
  livePods,
  playCluster,
  podsOf,
  until,
  withControllers,
} from "./testing/cluster.ts";

function deployment(replicas: number, image: string, extra: object = {}): object {
  return {
    metadata: { name: "web", namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image }] },
      },
      ...extra,
    },
  };
}

const replicaSets = (store: KubeStore): KObj[] => {
  const r = store.list("replicasets.apps", { namespace: "default" });
  return r.ok ? r.value.items : [];
};

Deno.test("a Deployment gets one ReplicaSet with the template hash and revision 1, whose pods follow scale up and down", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    addNode(s, "n1");
    const play = playCluster(s, () => "n1");
    try {
      assert.ok(s.create("deployments.apps", deployment(3, "nginx:1")).ok);
      const rs = await until(
        "one ReplicaSet",
        () => (replicaSets(s).length === 1 ? replicaSets(s)[0] : undefined),
      );
      const hash = rs.metadata.labels?.["pod-template-hash"];
      assert.ok(hash);
      assert.equal(rs.metadata.name, `web-${hash}`);
      assert.equal(rs.metadata.annotations?.["deployment.kubernetes.io/revision"], "1");
      assert.equal(rs.spec.selector.matchLabels["pod-template-hash"], hash);
      assert.equal(rs.metadata.ownerReferences?.[0]?.kind, "Deployment");
      assert.equal(rs.metadata.ownerReferences?.[0]?.controller, true);
      await until(
        "3 ready pods",
        () => s.peek("deployments.apps", "default", "web")?.status?.readyReplicas === 3,
      );
      const pods = livePods(s);
      assert.equal(pods.length, 3);
      for (const p of pods) {
        assert.match(
          p.metadata.name!,
          new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`),
        );
        assert.equal(p.metadata.ownerReferences?.[0]?.name, rs.metadata.name);
        assert.equal(p.metadata.labels?.["pod-template-hash"], hash);
      }
      const d = s.peek("deployments.apps", "default", "web")!;
      assert.equal(d.status.availableReplicas, 3);
      assert.equal(d.status.updatedReplicas, 3);
      assert.equal(
        d.status.conditions.find((c: { type: string }) => c.type === "Available").status,
        "True",
      );

      assert.ok(
        s.patch("deployments.apps", "default", "web", "merge", { spec: { replicas: 5 } }).ok,
      );
      await until(
        "5 ready",
        () => s.peek("deployments.apps", "default", "web")?.status?.readyReplicas === 5,
      );
      assert.ok(
        s.patch("deployments.apps", "default", "web", "merge", { spec: { replicas: 1 } }).ok,
      );
      await until("1 live pod", () => livePods(s).length === 1);
      await until(
        "status says 1",
        () => s.peek("deployments.apps", "default", "web")?.status?.replicas === 1,
      );
      assert.equal(replicaSets(s).length, 1);
    } finally {
      play.stop();
    }
  });
});

Deno.test("a new pod template rolls out through a second ReplicaSet without exceeding surge or unavailability, and the old one ends at 0", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    addNode(s, "n1");
    // Pods start only every 30 ms, so the rollout proceeds in observable steps.
    let allowed = 0;
    const play = playCluster(s, () => (allowed-- > 0 ? "n1" : undefined));
    const gate = setInterval(() => allowed = 1, 30);
    try {
      s.create("deployments.apps", deployment(4, "nginx:1"));
      await until(
        "4 available",
        () => s.peek("deployments.apps", "default", "web")?.status?.availableReplicas === 4,
      );
      let maxDesired = 0, minReady = 4;
      const rsWatch = s.watch("replicasets.apps", { namespace: "default" }, () => {
        const desired = replicaSets(s).reduce((n, r) => n + (r.spec?.replicas ?? 0), 0);
        maxDesired = Math.max(maxDesired, desired);
      });
      assert.ok(rsWatch.ok);
      const watch = s.watch("pods", { namespace: "default" }, () => {
        const live = livePods(s);
        const ready = live.filter((p) =>
          (p.status?.conditions ?? []).some((c: { type: string; status: string }) =>
            c.type === "Ready" && c.status === "True"
          )
        ).length;
        minReady = Math.min(minReady, ready);
      });
      assert.ok(watch.ok);
      s.patch("deployments.apps", "default", "web", "merge", {
        spec: { template: { spec: { containers: [{ name: "c", image: "nginx:2" }] } } },
      });
      await until("2 ReplicaSets", () => replicaSets(s).length === 2, 2000);
      await until("rollout done", () => {
        const d = s.peek("deployments.apps", "default", "web");
        return d?.status?.updatedReplicas === 4 && d.status.availableReplicas === 4 &&
          d.status.replicas === 4;
      }, 10_000);
      watch.value.stop();
      rsWatch.value.stop();
      const rss = replicaSets(s).sort((a, b) =>
        Number(a.metadata.annotations?.["deployment.kubernetes.io/revision"]) -
        Number(b.metadata.annotations?.["deployment.kubernetes.io/revision"])
      );
      assert.deepEqual(rss.map((r) => r.spec.replicas), [0, 4]);
      assert.equal(rss[1]!.metadata.annotations?.["deployment.kubernetes.io/revision"], "2");
      assert.ok(livePods(s).every((p) => p.spec.containers[0].image === "nginx:2"));
      await until(
        "revision 2 on the Deployment",
        () =>
          s.peek("deployments.apps", "default", "web")?.metadata.annotations?.[
            "deployment.kubernetes.io/revision"
          ] === "2",
      );
      // 25% of 4: one extra pod at most, one fewer ready pod at most.
      assert.ok(maxDesired <= 5, `at most 5 pods wanted at once, saw ${maxDesired}`);
      assert.ok(minReady >= 3, `at least 3 ready at all times, saw ${minReady}`);
    } finally {
      clearInterval(gate);
      play.stop();
    }
  });
});

Deno.test("a Recreate Deployment removes every old pod before the new ReplicaSet gets any", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    addNode(s, "n1");
    const play = playCluster(s, () => "n1");
    try {
      s.create("deployments.apps", deployment(3, "db:1", { strategy: { type: "Recreate" } }));
      await until(
        "3 ready",
        () => s.peek("deployments.apps", "default", "web")?.status?.readyReplicas === 3,
      );
      let overlap = false;
      const w = s.watch("pods", { namespace: "default" }, () => {
        const images = new Set(podsOf(s).map((p) => p.spec.containers[0].image));
        if (images.size > 1) overlap = true;
      });
      assert.ok(w.ok);
      s.patch("deployments.apps", "default", "web", "merge", {
        spec: { template: { spec: { containers: [{ name: "c", image: "db:2" }] } } },
      });
      await until("3 new ready", () => {
        const pods = livePods(s);
        return pods.length === 3 && pods.every((p) => p.spec.containers[0].image === "db:2") &&
          s.peek("deployments.apps", "default", "web")?.status?.readyReplicas === 3;
      }, 5000);
      w.value.stop();
      assert.equal(overlap, false, "old and new pods never coexist, terminating ones included");
    } finally {
      play.stop();
    }
  });
});
