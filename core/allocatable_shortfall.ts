/**
 * Does a registered node offer pods less than proxscale planned its shape for? Provisioning
 * sizes VMs by the template's idea of allocatable (the shape minus `reserved` and
 * `evictionHard.memory`, core/shapes.ts). When the node's kubelet keeps more back, a pod sized to
 * the estimate gets a VM it does not fit, the VM stays empty, is consolidated, and the launch
 * comes back: the loop a user otherwise only sees as churn. Registration names the shortfall and
 * the settings that close it.
 *
 * May import: core/ only.
 */
import type { MachineTemplate, Node, Resources } from "./model.ts";
import { allocatable } from "./shapes.ts";
import { humanBytes } from "./quantity.ts";

/**
 * Below this the difference is rounding (the kubelet reports memory in Ki, the shape in bytes)
 * and not worth a word.
 */
const MEMORY_SLACK = 1024 * 1024;

/** The words for a node that offers less than `shape` was planned to, or undefined. */
export function allocatableShortfall(
  template: MachineTemplate,
  shape: Resources,
  node: Node,
): string | undefined {
  const planned = allocatable(template, shape);
  const parts: string[] = [];
  const lessMem = planned.memory - node.allocatable.memory;
  if (lessMem > MEMORY_SLACK) {
    parts.push(
      `memory ${humanBytes(node.allocatable.memory)} (${humanBytes(lessMem)} less than the ${
        humanBytes(planned.memory)
      } planned)`,
    );
  }
  const lessCpu = planned.cpu - node.allocatable.cpu;
  if (lessCpu > 0) {
    parts.push(`cpu ${node.allocatable.cpu}m (${lessCpu}m less than the ${planned.cpu}m planned)`);
  }
  if (parts.length === 0) return undefined;
  return `node ${node.name} offers pods ${parts.join(" and ")}: its kubelet keeps back more ` +
    `than MachineTemplate ${template.name}'s reserved and evictionHard.memory, so pods sized ` +
    `to the plan may not fit; set them to the kubelet's reservations and eviction threshold`;
}
