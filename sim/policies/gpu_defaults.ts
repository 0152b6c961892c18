/**
 * The built-in GPU setting of `proxscale sim` for a trace whose pods ask for GPUs and no
 * --config: the GPU shapes the built-in config needs (up to the most GPUs one pod asks for) and,
 * when the world file gives no host a GPU, DEFAULT_HOST_GPUS GPUs of mapping "gpu" on every host,
 * hosts of the default size becoming GPU servers of GPU_HOST_SIZE (docs/simulation.md, 'GPUs').
 *
 * May import: core/, sim/engine/world_spec.ts, sim/trace/format.ts, sim/policies/.
 */
import { DEFAULT_GPU_RESOURCE } from "../../core/gpus.ts";
import type { Trace } from "../trace/format.ts";
import { defaultWorld, type HostGpus, worldHasGpus, type WorldSpec } from "../engine/world_spec.ts";
import { GiB } from "../../core/quantity.ts";
import { SIM_GPU_MAPPING, type SimGpuOptions } from "./default_config.ts";

/** GPUs every host of the default GPU world passes through (a typical 8-GPU server). */
export const DEFAULT_HOST_GPUS = 8;

/** What a host of the default size becomes in the default GPU world: 64 cores, 512 GiB. */
export const GPU_HOST_SIZE = { cpu: 64_000, memory: 512 * GiB };

/** Does any pod of the trace ask for GPUs (the nvidia.com/gpu extended resource)? */
export function traceHasGpuPods(trace: Trace): boolean {
  return trace.pods.some((p) => (p.extended?.[DEFAULT_GPU_RESOURCE] ?? 0) > 0);
}

/**
 * The built-in config's GPU options for `trace` with `replicas` time-slices per GPU, or
 * undefined when no pod asks for a GPU.
 */
export function simGpuOptions(trace: Trace, replicas: number): SimGpuOptions | undefined {
  let most = 0;
  for (const p of trace.pods) most = Math.max(most, p.extended?.[DEFAULT_GPU_RESOURCE] ?? 0);
  if (most === 0) return undefined;
  return { replicas, maxGpus: Math.ceil(most / replicas) };
}

/**
 * `world` with DEFAULT_HOST_GPUS GPUs on every host (and default-sized hosts grown to
 * GPU_HOST_SIZE), unless it already gives some host GPUs.
 */
export function withDefaultGpus(world: WorldSpec): WorldSpec {
  if (worldHasGpus(world)) return world;
  const gpus: HostGpus[] = [{ mapping: SIM_GPU_MAPPING, count: DEFAULT_HOST_GPUS }];
  const plain = defaultWorld().defaultHost;
  const size = world.defaultHost.cpu === plain.cpu && world.defaultHost.memory === plain.memory
    ? GPU_HOST_SIZE
    : { cpu: world.defaultHost.cpu, memory: world.defaultHost.memory };
  return {
    ...world,
    defaultHost: { ...size, gpus },
    hosts: world.hosts.map((h) => ({ ...h, gpus })),
  };
}
