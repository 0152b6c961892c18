/**
 * Per-kind checks of a MachineTemplate, made once its Provider is known (the template names its
 * Provider, so its kind is found only by cross-reference): a Proxmox template needs `source`
 * (how its VMs are made); a bare-metal (Redfish) template must not set the fields that only say
 * how a PVE VM is made, since a physical machine is used as it is.
 *
 * May import: this folder.
 */
import type { MachineTemplateSpec, ProviderSpec } from "./schema.ts";

/** A problem at a field of the template's spec. */
export type TemplateKindProblem = { field: string; message: string };

/** The fields of a MachineTemplate that only apply to a PVE VM, and whether each is set. */
const PVE_ONLY: { field: string; set: (t: MachineTemplateSpec) => boolean }[] = [
  { field: "source", set: (t) => t.source !== undefined },
  { field: "vm", set: (t) => t.vm !== undefined },
  { field: "disks", set: (t) => t.disks.length > 0 },
  { field: "network", set: (t) => t.network.length > 0 },
  { field: "tags", set: (t) => t.tags.length > 0 },
  { field: "resourcePool", set: (t) => t.resourcePool !== undefined },
];

/** What the template's Provider kind says of its fields (empty: nothing to say). */
export function templateKindProblems(
  t: MachineTemplateSpec,
  providerName: string,
  provider: ProviderSpec,
): TemplateKindProblem[] {
  if (provider.kind !== "redfish") {
    return t.source === undefined
      ? [{
        field: "source",
        message: `a MachineTemplate on Proxmox Provider "${providerName}" needs source ` +
          "(clone, image or scratch): how its VMs are made",
      }]
      : [];
  }
  return PVE_ONLY.filter((f) => f.set(t)).map((f) => ({
    field: f.field,
    message: `${f.field} does not apply to bare metal: Provider "${providerName}" is ` +
      "kind redfish, whose machines are used as they are (remove it)",
  }));
}
