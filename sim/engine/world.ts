/**
 * The simulated world's objects: pods with their trace record, and NodeClaims with the VM and
 * Node they become. The engine mutates them; decisions only ever see them through a Snapshot.
 *
 * May import: core/ (types), sim/trace/format.ts, sim/engine/gpu_world.ts.
 */
import type { Host, MachineTemplate, Node, NodeClaim, Pod, Resources } from "../../core/model.ts";
import type { TracePod } from "../trace/format.ts";
import { fitsExtended, type HeldDevices } from "./gpu_world.ts";

/** A pod in the world. `gen` changes on every (re)bind so stale departure events are ignored. */
export type SimPod = {
  tp: TracePod;
  key: string;
  pod: Pod;
  req: Resources;
  node?: SimNode | undefined;
  firstBind?: number | undefined;
  everUnschedulable: boolean;
  gen: number;
  done: boolean;
  /** Index in the engine's pending list, -1 when not pending. */
  pendingIdx: number;
  /** Extended resources requested (GPUs), when any. */
  ext?: Record<string, number> | undefined;
};

/** A NodeClaim, its VM and (once joined) its Node. Static trace nodes have no claim record. */
export type SimNode = {
  name: string;
  claim?: NodeClaim;
  template?: MachineTemplate;
  host?: Host;
  footprint: Resources;
  node?: Node;
  /** Allocatable once Ready. */
  alloc: Resources;
  maxPods: number;
  used: Resources;
  pods: Set<SimPod>;
  record: number;
  phase: "launching" | "booting" | "ready" | "draining" | "gone";
  /** Extended resources the node advertises (GPUs), when any; `usedExt` what its pods use. */
  ext?: Record<string, number>;
  usedExt?: Record<string, number>;
  /** The passthrough devices the VM holds on its host, from clone to destroy. */
  held?: HeldDevices;
  /** The extended resource its GPUs reach pods as, when it has GPUs. */
  gpuName?: string;
};

/** Does `pod` fit the free room of `n` by requests (extended ones too) and pod count? */
export function fitsRoom(
  n: SimNode,
  req: Resources,
  ext?: Record<string, number> | undefined,
): boolean {
  return n.used.cpu + req.cpu <= n.alloc.cpu && n.used.memory + req.memory <= n.alloc.memory &&
    n.pods.size < n.maxPods && (ext === undefined || fitsExtended(n.ext, n.usedExt, ext));
}
