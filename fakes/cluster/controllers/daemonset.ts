/**
 * The DaemonSet controller: one pod per node that matches the template's nodeSelector and
 * required node affinity and whose NoSchedule/NoExecute taints the template tolerates (with
 * the tolerations kube adds to every DaemonSet pod: not-ready and unreachable NoExecute
 * without a time limit; disk-, memory- and pid-pressure and unschedulable NoSchedule;
 * network-unavailable for hostNetwork pods). Each pod gets the required node affinity
 * `matchFields metadata.name In [node]` in place of the template's and is left to the
 * scheduler to bind. Pods on nodes that left, that stopped matching, or whose NoExecute taint
 * is not tolerated are deleted, as are failed pods (and replaced). A changed template rolls
 * out by deleting outdated pods up to maxUnavailable (default 1) at a time.
 *
 * May import: fakes/fake_kube/, ./runtime.ts, ./node_match.ts.
 */
import type { KObj } from "../../fake_kube/objects.ts";
import type { Json } from "../../fake_kube/patch.ts";
import type { KubeStore } from "../../fake_kube/store.ts";
import { podSpecMatchesNode, untolerated } from "./node_match.ts";
import {
  type Controller,
  isPodAvailable,
  isPodReady,
  keyOf,
  ownedBy,
  ownerKeys,
  ownerRefTo,
  podFromTemplate,
  splitKey,
  suffix,
  timeOf,
  writeStatus,
} from "./runtime.ts";
import { resolveIntOrPercent } from "./deployment.ts";

const NAME = "daemonset";
const DS = "daemonsets.apps";
const GENERATION_LABEL = "pod-template-generation";

const noExecute = (key: string) => ({ key, operator: "Exists", effect: "NoExecute" });
const noSchedule = (key: string) => ({ key, operator: "Exists", effect: "NoSchedule" });

/** The tolerations the DaemonSet controller adds to every pod it creates. */
export function daemonSetTolerations(hostNetwork: boolean): Json[] {
  const out = [
    noExecute("node.kubernetes.io/not-ready"),
    noExecute("node.kubernetes.io/unreachable"),
    noSchedule("node.kubernetes.io/disk-pressure"),
    noSchedule("node.kubernetes.io/memory-pressure"),
    noSchedule("node.kubernetes.io/pid-pressure"),
    noSchedule("node.kubernetes.io/unschedulable"),
  ];
  if (hostNetwork) out.push(noSchedule("node.kubernetes.io/network-unavailable"));
  return out;
}

/** The template's pod spec as the controller creates it for `node`. */
export function daemonPodSpec(template: Json, node: string): Json {
  const spec = structuredClone(template?.spec ?? {});
  const tols: Json[] = spec.tolerations ?? [];
  for (const t of daemonSetTolerations(spec.hostNetwork === true)) {
    if (!tols.some((x) => x?.key === t.key && x?.effect === t.effect)) tols.push(t);
  }
  spec.tolerations = tols;
  spec.affinity ??= {};
  spec.affinity.nodeAffinity ??= {};
  spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    nodeSelectorTerms: [{
      matchFields: [{ key: "metadata.name", operator: "In", values: [node] }],
    }],
  };
  return spec;
}

/** The node a DaemonSet pod is for: where it runs, or its node-name affinity. */
function nodeOfPod(p: KObj): string | undefined {
  if (p.spec?.nodeName) return p.spec.nodeName;
  const terms = p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const f of t?.matchFields ?? []) {
      if (f?.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) {
        return f.values[0];
      }
    }
  }
  return undefined;
}

/** The DaemonSet controller over `store`. */
export function daemonSetController(store: KubeStore, random: () => number): Controller {
  const def = store.resolve(DS)!;
  const allKeys = () => [...store.entries(def)].map((e) => keyOf(e.obj));
  return {
    name: NAME,
    watches: [
      { ref: DS, keys: (o) => [keyOf(o)] },
      { ref: "pods", keys: ownerKeys("DaemonSet") },
      { ref: "nodes", keys: () => allKeys() },
    ],
    all: allKeys,
    sync: (key) => syncDaemonSet(store, key, random),
  };
}

function syncDaemonSet(store: KubeStore, key: string, random: () => number): void {
  const { namespace, name } = splitKey(key);
  const ds = store.peek(DS, namespace, name);
  if (!ds || ds.metadata.deletionTimestamp || !namespace) return;
  const template = ds.spec?.template ?? {};
  const generation = String(ds.metadata.generation ?? 1);
  const nodes = [...store.entries(store.resolve("nodes")!)].map((e) => e.obj);
  const byNode = new Map<string, KObj[]>();
  const doomed: KObj[] = [];
  for (const p of ownedBy(store, "pods", namespace, ds)) {
    if (p.metadata.deletionTimestamp) continue;
    if (p.status?.phase === "Failed") {
      doomed.push(p);
      continue;
    }
    const n = nodeOfPod(p);
    if (!n) doomed.push(p);
    else byNode.set(n, [...(byNode.get(n) ?? []), p]);
  }
  const owner = ownerRefTo(ds, "apps/v1", "DaemonSet");
  const tolerations = daemonPodSpec(template, "").tolerations;
  let desired = 0, scheduled = 0, misscheduled = 0, ready = 0, availableN = 0, updated = 0;
  const outdated: KObj[] = [];
  let unavailable = 0;
  const now = store.now();
  const minReady = ds.spec?.minReadySeconds ?? 0;
  for (const node of nodes) {
    const nodeName = node.metadata.name!;
    const pods = (byNode.get(nodeName) ?? []).sort((a, b) =>
      timeOf(a.metadata.creationTimestamp) - timeOf(b.metadata.creationTimestamp)
    );
    byNode.delete(nodeName);
    const taints: Json[] = node.spec?.taints ?? [];
    const fits = podSpecMatchesNode(template.spec, node);
    const shouldRun = fits &&
      untolerated(tolerations, taints, ["NoSchedule", "NoExecute"]).length === 0;
    const shouldContinue = fits && untolerated(tolerations, taints, ["NoExecute"]).length === 0;
    if (shouldRun) desired++;
    if (!shouldContinue) {
      doomed.push(...pods);
      continue;
    }
    if (pods.length === 0) {
      if (shouldRun) {
        // A node still waiting for its pod counts against the rollout's budget.
        unavailable++;
        store.create("pods", {
          ...podFromTemplate(template, namespace, owner, {
            name: `${name}-${suffix(random)}`,
            labels: { [GENERATION_LABEL]: generation },
          }),
          spec: daemonPodSpec(template, nodeName),
        }, { namespace, fieldManager: "kube-controller-manager" });
      }
      continue;
    }
    doomed.push(...pods.slice(1));
    const p = pods[0]!;
    if (shouldRun) scheduled++;
    else misscheduled++;
    if (isPodReady(p)) ready++;
    if (isPodAvailable(p, minReady, now)) availableN++;
    else unavailable++;
    if (p.metadata.labels?.[GENERATION_LABEL] === generation) updated++;
    else outdated.push(p);
  }
  // Pods for nodes that no longer exist.
  for (const pods of byNode.values()) doomed.push(...pods);
  const maxUnavailable = Math.max(
    1,
    resolveIntOrPercent(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, desired, true),
  );
  if (ds.spec?.updateStrategy?.type !== "OnDelete") {
    // Outdated, not available pods go first; then available ones within the budget.
    const order = outdated.sort((a, b) =>
      Number(isPodAvailable(a, minReady, now)) - Number(isPodAvailable(b, minReady, now))
    );
    let budget = maxUnavailable - unavailable;
    for (const p of order) {
      if (!isPodAvailable(p, minReady, now)) doomed.push(p);
      else if (budget-- > 0) doomed.push(p);
    }
  }
  for (const p of doomed) store.delete("pods", namespace, p.metadata.name!);
  const status: Json = {
    currentNumberScheduled: scheduled,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: ds.metadata.generation ?? 1,
    updatedNumberScheduled: updated,
    numberAvailable: availableN,
    numberUnavailable: Math.max(0, desired - availableN),
  };
  for (const k of ["updatedNumberScheduled", "numberAvailable", "numberUnavailable"]) {
    if (status[k] === 0) delete status[k];
  }
  const cur = store.peek(DS, namespace, name);
  if (cur) writeStatus(store, DS, cur, status);
}
