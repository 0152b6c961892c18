/**
 * Records each configuration the daemon applies from the CRDs as a generation of the history
 * in the cluster (adapters/kubernetes/config_history.ts), one write at a time and in order,
 * and tells the reloader which generation is live (shown by `proxscale status`).
 *
 * May import: core/, adapters/, daemon/.
 */
import { readHistory, recordGeneration } from "../adapters/kubernetes/config_history.ts";
import { describeKubeError, type KubeClient } from "../adapters/kubernetes/client.ts";
import type { ConfigReloader, ReloadLog } from "./config_reload.ts";

/**
 * A function to call with the objects of every valid configuration. Only the leader records (a
 * standby whose watch lags could otherwise record an older configuration as the newest); a
 * standby reads the live generation.
 */
export function historyRecorder(
  kube: KubeClient,
  namespace: string,
  reloader: Pick<ConfigReloader, "setLive">,
  log: ReloadLog,
  isLeader: () => boolean = () => true,
): (objects: unknown[]) => Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  return (objects) => {
    chain = chain.then(async () => {
      if (!isLeader()) {
        const h = await readHistory(kube, namespace);
        const live = h.ok ? h.value.at(-1) : undefined;
        if (live) reloader.setLive({ generation: live.generation, digest: live.digest });
        return;
      }
      const r = await recordGeneration(kube, namespace, objects);
      if (!r.ok) {
        log.warn("could not record the configuration history", {
          error: describeKubeError(r.error),
        });
        return;
      }
      reloader.setLive({ generation: r.value.generation, digest: r.value.digest });
      if (r.value.recorded) {
        log.info("configuration generation recorded", {
          generation: r.value.generation,
          digest: r.value.digest,
        });
      }
    });
    return chain;
  };
}
