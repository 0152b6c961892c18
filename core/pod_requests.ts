/**
 * A pod's effective resource request, computed the way kube-scheduler does: regular containers
 * summed, init containers taken at their maximum (with restartable "sidecar" init containers
 * running alongside everything started after them), plus the RuntimeClass overhead.
 */
import type { Pod, Resources } from "./model.ts";

/** Effective requests of `pod` in millicores and bytes. */
export function podRequests(pod: Pod): Resources {
  let cpu = 0;
  let memory = 0;
  for (const c of pod.containers) {
    cpu += c.cpu ?? 0;
    memory += c.memory ?? 0;
  }
  let sidecarCpu = 0;
  let sidecarMem = 0;
  let initCpu = 0;
  let initMem = 0;
  for (const ic of pod.initContainers ?? []) {
    const icCpu = ic.cpu ?? 0;
    const icMem = ic.memory ?? 0;
    if (ic.sidecar) {
      sidecarCpu += icCpu;
      sidecarMem += icMem;
      initCpu = Math.max(initCpu, sidecarCpu);
      initMem = Math.max(initMem, sidecarMem);
    } else {
      initCpu = Math.max(initCpu, sidecarCpu + icCpu);
      initMem = Math.max(initMem, sidecarMem + icMem);
    }
  }
  cpu = Math.max(cpu + sidecarCpu, initCpu) + (pod.overhead?.cpu ?? 0);
  memory = Math.max(memory + sidecarMem, initMem) + (pod.overhead?.memory ?? 0);
  return { cpu, memory };
}
