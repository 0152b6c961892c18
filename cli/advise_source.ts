/**
 * What `proxscale advise --kubeconfig` advises on: the live configuration (the Provider,
 * MachineTemplate and NodePool custom resources and the settings ConfigMap, read as the daemon
 * reads them) and a trace made from the demand history the daemon stores in ConfigMap
 * proxscale-demand-history (sim/trace/history_trace.ts). Problems are values in words: a missing
 * ConfigMap, or no configured pool with history, says to enable scaleUp.forecast, the only thing
 * that makes the daemon keep one.
 *
 * May import: core/, adapters/, sim/.
 */
import type { Config } from "../core/model.ts";
import { err, ok, type Result } from "../core/result.ts";
import { describeKubeError, isNotFound, type KubeClient } from "../adapters/kubernetes/client.ts";
import { loadConfigFromCluster } from "../adapters/kubernetes/config_loader.ts";
import { formatCrdProblem } from "../adapters/config/crd_source.ts";
import {
  DEMAND_HISTORY_CONFIGMAP,
  readDemandHistories,
} from "../adapters/kubernetes/demand_history_store.ts";
import type { Trace } from "../sim/trace/format.ts";
import { traceFromHistories } from "../sim/trace/history_trace.ts";

const ENABLE = "the daemon keeps a demand history only for NodePools with " +
  "scaleUp.forecast.enabled: true (kubectl edit nodepool POOL); enable it " +
  "and let the daemon run for a day or more, or advise on a recorded trace with --trace FILE";

/** The live configuration and the trace of the stored demand history. */
export async function adviseInputFromCluster(
  kube: KubeClient,
  namespace: string,
  days?: number,
): Promise<Result<{ config: Config; trace: Trace }, string>> {
  const config = await loadConfigFromCluster(kube, namespace);
  if (!config.ok) {
    return err(
      `reading the configuration from the cluster:\n${
        config.error.map(formatCrdProblem).join("\n")
      }`,
    );
  }
  const cm = await kube.requestJson(
    "GET",
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${DEMAND_HISTORY_CONFIGMAP}`,
  );
  if (!cm.ok) {
    return err(
      isNotFound(cm.error)
        ? `no demand history: ConfigMap ${DEMAND_HISTORY_CONFIGMAP} does not exist in namespace ${namespace}; ${ENABLE}`
        : `reading ConfigMap ${DEMAND_HISTORY_CONFIGMAP}: ${describeKubeError(cm.error)}`,
    );
  }
  const histories = await readDemandHistories(kube, namespace);
  if (!histories.ok) {
    return err(
      `reading ConfigMap ${DEMAND_HISTORY_CONFIGMAP}: ${describeKubeError(histories.error)}`,
    );
  }
  const trace = traceFromHistories(histories.value, config.value, {
    ...(days !== undefined ? { days } : {}),
  });
  if (trace.pods.length === 0) {
    const stored = Object.keys(histories.value);
    return err(
      `no NodePool has demand history in ConfigMap ${DEMAND_HISTORY_CONFIGMAP} (${
        stored.length === 0 ? "it holds none" : `it holds ${stored.join(", ")}`
      }; pools: ${config.value.nodePools.map((p) => p.name).join(", ") || "none"}); ${ENABLE}`,
    );
  }
  return ok({ config: config.value, trace });
}
