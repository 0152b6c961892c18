/** The kubelet's node affinity and NoExecute taint checks at admission. */
import { equal } from "node:assert/strict";
import type { KObj } from "../../fake_kube/objects.ts";
import { matchesNodeAffinity, nodeFitRejection, tolerates } from "./node_fit.ts";

const node: KObj = {
  metadata: { name: "n1", labels: { zone: "a", gen: "5", "kubernetes.io/os": "linux" } },
  spec: {
    taints: [{ key: "proxscale.io/unregistered", effect: "NoExecute" }, {
      key: "soft",
      effect: "NoSchedule",
    }],
  },
};
const pod = (spec: Record<string, unknown>): KObj => ({ metadata: { name: "p" }, spec });
const required = (...matchExpressions: unknown[]) => ({
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] },
    },
  },
});

Deno.test("nodeSelector and required node affinity must match the node's labels", () => {
  equal(matchesNodeAffinity(pod({ nodeSelector: { zone: "a" } }), node), true);
  equal(matchesNodeAffinity(pod({ nodeSelector: { zone: "b" } }), node), false);
  equal(
    matchesNodeAffinity(pod(required({ key: "zone", operator: "In", values: ["a", "b"] })), node),
    true,
  );
  equal(
    matchesNodeAffinity(pod(required({ key: "zone", operator: "NotIn", values: ["a"] })), node),
    false,
  );
  equal(matchesNodeAffinity(pod(required({ key: "gpu", operator: "DoesNotExist" })), node), true);
  equal(
    matchesNodeAffinity(pod(required({ key: "gen", operator: "Gt", values: ["4"] })), node),
    true,
  );
  equal(
    matchesNodeAffinity(pod(required({ key: "gen", operator: "Lt", values: ["4"] })), node),
    false,
  );
  equal(matchesNodeAffinity(pod(required()), node), false, "an empty term matches nothing");
});

Deno.test("a pod not tolerating a NoExecute taint is rejected; NoSchedule taints are the scheduler's business", () => {
  equal(nodeFitRejection(pod({}), node)?.reason, "TaintToleration");
  equal(
    nodeFitRejection(pod({}), node)?.message,
    "Pod was rejected: Predicate TaintToleration failed",
  );
  equal(
    nodeFitRejection(
      pod({ tolerations: [{ key: "proxscale.io/unregistered", operator: "Exists" }] }),
      node,
    ),
    undefined,
  );
  equal(
    nodeFitRejection(
      pod({ tolerations: [{ operator: "Exists" }], nodeSelector: { zone: "b" } }),
      node,
    )?.reason,
    "NodeAffinity",
  );
});

Deno.test("a toleration matches by key, value and effect; Equal is the default operator", () => {
  const taint = { key: "k", value: "v", effect: "NoExecute" };
  equal(tolerates({ key: "k", value: "v" }, taint), true);
  equal(tolerates({ key: "k", value: "w" }, taint), false);
  equal(tolerates({ key: "k", operator: "Exists", effect: "NoSchedule" }, taint), false);
  equal(tolerates({ operator: "Exists" }, taint), true);
  equal(tolerates({ operator: "Equal" }, taint), false);
});
