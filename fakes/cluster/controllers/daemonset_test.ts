/**
 * DaemonSet controller behaviour: one pod per node that matches the template's nodeSelector
 * and required affinity and whose taints it tolerates, pinned by node-name affinity and left
 * for the scheduler; pods of nodes that leave go too.
 */
import assert from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import {
  addNode,
  affinityNode,
  livePods,
  playCluster,
  until,
  withControllers,
} from "./testing/cluster.ts";

const forNodes = (pods: KObj[]) => pods.map(affinityNode).sort();

Deno.test("a DaemonSet gets one pod per matching node, honouring nodeSelector, node affinity and tolerations", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    addNode(s, "a", { labels: { disk: "ssd", zone: "z1" } });
    addNode(s, "b", { labels: { disk: "ssd", zone: "z2" } });
    addNode(s, "c", { labels: { disk: "hdd", zone: "z1" } }); // nodeSelector says no
    addNode(s, "d", { labels: { disk: "ssd", zone: "z3" } }); // affinity says no
    addNode(s, "e", {
      labels: { disk: "ssd", zone: "z1" },
      taints: [{ key: "gpu", value: "yes", effect: "NoSchedule" }],
    });
    addNode(s, "f", {
      labels: { disk: "ssd", zone: "z1" },
      taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }], // not tolerated
    });
    addNode(s, "g", { labels: { disk: "ssd", zone: "z2" } });
    // Cordoned: the unschedulable taint is tolerated by every DaemonSet pod.
    s.patch("nodes", undefined, "g", "merge", { spec: { unschedulable: true } });
    const r = s.create("daemonsets.apps", {
      metadata: { name: "agent", namespace: "default" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: { labels: { app: "agent" } },
          spec: {
            nodeSelector: { disk: "ssd" },
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{
                    matchExpressions: [{ key: "zone", operator: "In", values: ["z1", "z2"] }],
                  }],
                },
              },
            },
            tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }],
            containers: [{ name: "c", image: "agent:1" }],
          },
        },
      },
    });
    assert.ok(r.ok);
    await until("4 pods", () => livePods(s).length === 4, 3000);
    await new Promise((r) => setTimeout(r, 50));
    const pods = livePods(s);
    assert.deepEqual(forNodes(pods), ["a", "b", "e", "g"]);
    for (const p of pods) {
      assert.equal(p.spec.nodeName, undefined, "binding is left to the scheduler");
      assert.deepEqual(
        p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution,
        {
          nodeSelectorTerms: [{
            matchFields: [{ key: "metadata.name", operator: "In", values: [affinityNode(p)] }],
          }],
        },
      );
      const tols = p.spec.tolerations as {
        key: string;
        effect: string;
        tolerationSeconds?: number;
      }[];
      for (
        const [key, effect] of [
          ["node.kubernetes.io/not-ready", "NoExecute"],
          ["node.kubernetes.io/unreachable", "NoExecute"],
          ["node.kubernetes.io/disk-pressure", "NoSchedule"],
          ["node.kubernetes.io/memory-pressure", "NoSchedule"],
          ["node.kubernetes.io/pid-pressure", "NoSchedule"],
          ["node.kubernetes.io/unschedulable", "NoSchedule"],
        ]
      ) {
        const t = tols.find((t) => t.key === key && t.effect === effect);
        assert.ok(t, `${key}:${effect} tolerated`);
        assert.equal(t.tolerationSeconds, undefined, `${key} tolerated for ever`);
      }
    }
    const ds = await until("status", () => {
      const d = s.peek("daemonsets.apps", "default", "agent");
      return d?.status?.currentNumberScheduled === 4 ? d : undefined;
    });
    assert.equal(ds.status.desiredNumberScheduled, 4);

    // A new matching node gets a pod; a node that leaves loses its pod.
    addNode(s, "h", { labels: { disk: "ssd", zone: "z1" } });
    s.delete("nodes", undefined, "a");
    await until("pods follow nodes", () => {
      const n = forNodes(livePods(s));
      return JSON.stringify(n) === JSON.stringify(["b", "e", "g", "h"]);
    });
    // A NoExecute taint the pods do not tolerate removes the pod from that node.
    s.patch("nodes", undefined, "b", "merge", {
      spec: { taints: [{ key: "maintenance", value: "now", effect: "NoExecute" }] },
    });
    await until("pod off b", () => !forNodes(livePods(s)).includes("b"));
  });
});

Deno.test("a changed DaemonSet template replaces pods node by node, never more than one unavailable", async () => {
  await withControllers({}, async (k) => {
    const s = k.store;
    for (const n of ["a", "b", "c"]) addNode(s, n);
    const play = playCluster(s, (p) => affinityNode(p));
    try {
      s.create("daemonsets.apps", {
        metadata: { name: "agent", namespace: "default" },
        spec: {
          selector: { matchLabels: { app: "agent" } },
          template: {
            metadata: { labels: { app: "agent" } },
            spec: { containers: [{ name: "c", image: "agent:1" }] },
          },
        },
      });
      await until(
        "3 ready",
        () => s.peek("daemonsets.apps", "default", "agent")?.status?.numberReady === 3,
      );
      let minReady = 3;
      const w = s.watch("pods", { namespace: "default" }, () => {
        const ready = livePods(s).filter((p) => p.status?.phase === "Running").length;
        minReady = Math.min(minReady, ready);
      });
      assert.ok(w.ok);
      s.patch("daemonsets.apps", "default", "agent", "merge", {
        spec: { template: { spec: { containers: [{ name: "c", image: "agent:2" }] } } },
      });
      await until("all on agent:2", () => {
        const pods = livePods(s);
        return pods.length === 3 &&
          pods.every((p) =>
            p.spec.containers[0].image === "agent:2" && p.status?.phase === "Running"
          );
      }, 5000);
      w.value.stop();
      assert.ok(minReady >= 2, `at most one node without a running agent, saw ${minReady} running`);
      assert.deepEqual(forNodes(livePods(s)), ["a", "b", "c"]);
    } finally {
      play.stop();
    }
  });
});
