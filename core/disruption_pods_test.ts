import assert from "node:assert/strict";
import { nodeDoNotDisrupt, podDoNotDisrupt, podEvictionRule } from "./disruption_pods.ts";
import { PdbLedger } from "./disruption_pdb.ts";
import { DEFAULT_SCALE_DOWN_RULES } from "./model.ts";
import { T0, testPod } from "./testing/arbitraries.ts";

Deno.test("do-not-disrupt: true, a running duration and unparsable values protect; false does not", () => {
  const pod = (v: string, key = "karpenter.sh/do-not-disrupt") =>
    testPod("web-1", "n1", { annotations: { [key]: v }, createdAt: T0 - 600_000 });
  assert.equal(podDoNotDisrupt(pod("true"), T0)?.code, "DoNotDisrupt");
  assert.equal(
    podDoNotDisrupt(pod("true", "proxscale.io/do-not-disrupt"), T0)?.code,
    "DoNotDisrupt",
  );
  assert.equal(podDoNotDisrupt(pod("false"), T0), undefined);
  assert.match(podDoNotDisrupt(pod("15m"), T0)!.message, /300s more/);
  assert.equal(podDoNotDisrupt(pod("5m"), T0), undefined);
  assert.match(podDoNotDisrupt(pod("yes"), T0)!.message, /not a duration; treated as "true"/);
  assert.equal(
    podDoNotDisrupt(pod("false", "cluster-autoscaler.kubernetes.io/safe-to-evict"), T0)?.code,
    "DoNotDisrupt",
  );
  assert.equal(podDoNotDisrupt(testPod("plain", "n1"), T0), undefined);
});

Deno.test("node annotations that exclude a node from disruption", () => {
  const node = (annotations: Record<string, string>) => ({
    name: "n1",
    labels: {},
    annotations,
    allocatable: { cpu: 1000, memory: 1 },
    ready: true,
    createdAt: T0,
  });
  assert.equal(
    nodeDoNotDisrupt(node({ "karpenter.sh/do-not-disrupt": "true" }))?.code,
    "DoNotDisrupt",
  );
  assert.equal(
    nodeDoNotDisrupt(node({ "cluster-autoscaler.kubernetes.io/scale-down-disabled": "true" }))
      ?.code,
    "DoNotDisrupt",
  );
  assert.equal(nodeDoNotDisrupt(node({ "karpenter.sh/do-not-disrupt": "false" })), undefined);
});

Deno.test("a kube-system pod covered by a PDB is evictable under the default rules", () => {
  const sys = testPod("coredns-1", "n1", { namespace: "kube-system" });
  assert.equal(podEvictionRule(sys, DEFAULT_SCALE_DOWN_RULES, false)?.code, "PodNotEvictable");
  assert.equal(podEvictionRule(sys, DEFAULT_SCALE_DOWN_RULES, true), undefined);
});

Deno.test("PDB ledger: empty selectors cover the namespace, two budgets refuse, only a spent budget blocks", () => {
  const a = testPod("web-1", "n1");
  const b = testPod("web-2", "n2");
  const other = testPod("api-1", "n1", { namespace: "other" });
  const all = { name: "all", namespace: "default", selector: {}, disruptionsAllowed: 1 };
  const ledger = new PdbLedger([all]);
  assert.equal(ledger.covering(a).length, 1);
  assert.equal(ledger.covering(other).length, 0);
  assert.equal(ledger.check([a]), undefined);
  // One eviction allowed now: the node goes, its drain is paced by the eviction API.
  assert.equal(ledger.check([a, b]), undefined);
  ledger.commit([a]);
  assert.equal(ledger.check([b])?.code, "PdbBlocked");
  assert.equal(new PdbLedger([{ ...all, disruptionsAllowed: 0 }]).check([a])?.code, "PdbBlocked");
  const web = {
    name: "web",
    namespace: "default",
    selector: { matchLabels: { app: "web" } },
    disruptionsAllowed: 5,
  };
  const two = new PdbLedger([all, web]);
  assert.match(two.check([a])!.message, /2 PodDisruptionBudgets/);
});
