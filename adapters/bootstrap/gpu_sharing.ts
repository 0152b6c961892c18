/**
 * GPU time-slicing in a node's seed: when a MachineTemplate shares each GPU between
 * `gpu.replicas` pods, the cloud-config user-data gets a `write_files` entry holding the NVIDIA
 * device plugin's configuration (`version: v1`, `sharing.timeSlicing.resources: [{name,
 * replicas, rename?}]`), which the device plugin reads to advertise each device `replicas`
 * times (under the template's resource name when it is not nvidia.com/gpu).
 *
 * May import: core/, adapters/bootstrap/.
 */
import { isMap, isSeq, parseDocument, stringify } from "yaml";
import type { MachineTemplate } from "../../core/model.ts";

/** Where the device plugin's config file is written on the node. */
export const DEVICE_PLUGIN_CONFIG_PATH = "/etc/nvidia-device-plugin/config.yaml";

/** The device plugin config text for `replicas` pods per GPU, or undefined when not shared. */
export function timeSlicingConfig(template: MachineTemplate): string | undefined {
  const g = template.gpu;
  if (!g || g.replicas <= 1 || !template.shapes.some((s) => s.gpus !== undefined)) {
    return undefined;
  }
  const resource: Record<string, unknown> = { name: "nvidia.com/gpu", replicas: g.replicas };
  if (g.resourceName !== "nvidia.com/gpu") resource.rename = g.resourceName;
  return stringify({ version: "v1", sharing: { timeSlicing: { resources: [resource] } } });
}

/**
 * `userData` with the time-slicing config added to its `write_files` (unchanged when the
 * template does not share GPUs or the user-data is not a cloud-config map).
 */
export function withTimeSlicing(userData: string, template: MachineTemplate): string {
  const content = timeSlicingConfig(template);
  if (content === undefined || !/^#cloud-config\s*\n/.test(userData)) return userData;
  const doc = parseDocument(userData, { version: "1.1" });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return userData;
  const file = { path: DEVICE_PLUGIN_CONFIG_PATH, permissions: "0644", content };
  const files = doc.get("write_files");
  if (isSeq(files)) files.add(doc.createNode(file));
  else doc.set("write_files", doc.createNode([file]));
  const text = doc.toString({ lineWidth: 0 });
  return text.startsWith("#cloud-config") ? text : `#cloud-config\n${text}`;
}
