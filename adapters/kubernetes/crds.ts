/**
 * The five CustomResourceDefinitions (NodePool, MachineTemplate, Provider, NodeClaim, Tenant in
 * proxscale.io/v1alpha1), generated from the one zod schema. `renderCrds()` is the single
 * source of deploy/crds/*.yaml; a test keeps the committed files equal to it.
 *
 * Regenerate: npx -y deno@2.9.6 run -A adapters/kubernetes/crds.ts
 */
import { stringify } from "yaml";
import type { z } from "zod";
import {
  configStatus,
  machineTemplateSpec,
  nodeClaimSpec,
  nodeClaimStatus,
  nodePoolSpec,
  nodePoolStatus,
  providerSpec,
  tenantSpec,
} from "../config/schema.ts";
import { type Structural, structuralSchema } from "./structural_schema.ts";

/** API group and version of every proxscale kind. */
export const GROUP = "proxscale.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A printer column as in additionalPrinterColumns. */
export type PrinterColumn = {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description?: string;
  priority?: number;
};

/** Everything that differs between the four kinds. */
export type KindInfo = {
  kind: "NodePool" | "MachineTemplate" | "Provider" | "NodeClaim" | "Tenant";
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  columns: PrinterColumn[];
};

const ready = (type = "Ready"): PrinterColumn => ({
  name: type,
  type: "string",
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
});
const age: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };
const readyReason: PrinterColumn = {
  name: "Reason",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  priority: 1,
};

/** The four kinds, in the order deploy/crds lists them. */
export const KINDS: KindInfo[] = [
  {
    kind: "NodePool",
    plural: "nodepools",
    singular: "nodepool",
    shortNames: ["np"],
    description:
      "NodePool says which pending pods may get VMs from a MachineTemplate, how many, and when proxscale may remove them.",
    spec: nodePoolSpec,
    status: nodePoolStatus,
    columns: [
      { name: "Template", type: "string", jsonPath: ".spec.machineTemplate" },
      { name: "Nodes", type: "integer", jsonPath: ".status.nodes" },
      { name: "Min", type: "integer", jsonPath: ".spec.minNodes" },
      { name: "Max", type: "integer", jsonPath: ".spec.limits.nodes" },
      ready(),
      age,
      { name: "Weight", type: "integer", jsonPath: ".spec.weight", priority: 1 },
      { name: "CPU", type: "string", jsonPath: ".status.resources.cpu", priority: 1 },
      { name: "Memory", type: "string", jsonPath: ".status.resources.memory", priority: 1 },
      readyReason,
    ],
  },
  {
    kind: "MachineTemplate",
    plural: "machinetemplates",
    singular: "machinetemplate",
    shortNames: ["mt"],
    description:
      "MachineTemplate says what a VM is made of: sizes, clone source or scratch options, disks, network and bootstrap.",
    spec: machineTemplateSpec,
    status: configStatus,
    columns: [
      { name: "Provider", type: "string", jsonPath: ".spec.provider" },
      ready(),
      age,
      { name: "Overhead-MiB", type: "integer", jsonPath: ".spec.vmMemOverheadMiB", priority: 1 },
      readyReason,
    ],
  },
  {
    kind: "Provider",
    plural: "providers",
    singular: "provider",
    shortNames: ["pxp"],
    description:
      "Provider is one Proxmox VE cluster: its API endpoint, credentials reference, hosts and VMID range.",
    spec: providerSpec,
    status: configStatus,
    columns: [
      { name: "Endpoint", type: "string", jsonPath: ".spec.endpoint" },
      ready(),
      age,
      { name: "VMID-From", type: "integer", jsonPath: ".spec.vmidRange.lower", priority: 1 },
      { name: "VMID-To", type: "integer", jsonPath: ".spec.vmidRange.upper", priority: 1 },
      { name: "Placement", type: "string", jsonPath: ".spec.placement", priority: 1 },
      readyReason,
    ],
  },
  {
    kind: "NodeClaim",
    plural: "nodeclaims",
    singular: "nodeclaim",
    shortNames: ["nc"],
    description:
      "NodeClaim is one VM proxscale decided to own and the Node it becomes; its name keys the launch job.",
    spec: nodeClaimSpec,
    status: nodeClaimStatus,
    columns: [
      { name: "Pool", type: "string", jsonPath: ".spec.nodePool" },
      { name: "Shape", type: "string", jsonPath: ".spec.shape.name" },
      { name: "Host", type: "string", jsonPath: ".status.host" },
      { name: "VMID", type: "integer", jsonPath: ".status.vmid" },
      { name: "Node", type: "string", jsonPath: ".status.nodeName" },
      ready(),
      age,
      { name: "ID", type: "string", jsonPath: ".status.providerID", priority: 1 },
      { name: "Template", type: "string", jsonPath: ".spec.machineTemplate", priority: 1 },
      { ...ready("Drifted"), priority: 1 },
      readyReason,
    ],
  },
  {
    kind: "Tenant",
    plural: "tenants",
    singular: "tenant",
    shortNames: ["tn"],
    description:
      "Tenant is a set of namespaces with quotas across the NodePools it owns and the tenants it shares its shared pools with.",
    spec: tenantSpec,
    status: configStatus,
    columns: [
      { name: "Namespaces", type: "string", jsonPath: ".spec.namespaces" },
      { name: "Max-Nodes", type: "integer", jsonPath: ".spec.quota.nodes" },
      ready(),
      age,
      { name: "CPU", type: "string", jsonPath: ".spec.quota.cpu", priority: 1 },
      { name: "Memory", type: "string", jsonPath: ".spec.quota.memory", priority: 1 },
      readyReason,
    ],
  },
];

/** Marks every `conditions` array as a list keyed by type, as metav1.Condition lists are. */
function conditionLists(s: Structural): Structural {
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    if (k === "conditions" && v.type === "array") {
      v["x-kubernetes-list-type"] = "map";
      v["x-kubernetes-list-map-keys"] = ["type"];
    }
    conditionLists(v);
  }
  if (s.items) conditionLists(s.items);
  return s;
}

/** The full openAPIV3Schema of one kind. */
export function objectSchema(k: KindInfo): Structural {
  const spec = structuralSchema(k.spec);
  const status = conditionLists(structuralSchema(k.status));
  return {
    type: "object",
    description: k.description,
    required: ["spec"],
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      spec,
      status,
    },
  };
}

/** The CustomResourceDefinition object for one kind. */
export function crdObject(k: KindInfo): Record<string, unknown> {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${k.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: "Cluster",
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        shortNames: k.shortNames,
        categories: ["proxscale"],
      },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: k.columns,
        schema: { openAPIV3Schema: objectSchema(k) },
      }],
    },
  };
}

/** file name in deploy/crds -> YAML text, exactly as committed. */
export function renderCrds(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KINDS) {
    out[`${k.plural}.yaml`] = [
      "# Generated by adapters/kubernetes/crds.ts from adapters/config/schema.ts. Do not edit;",
      "# regenerate with: npx -y deno@2.9.6 run -A adapters/kubernetes/crds.ts",
      stringify(crdObject(k), { lineWidth: 0, singleQuote: false }),
    ].join("\n");
  }
  return out;
}

if (import.meta.main) {
  const dir = new URL("../../deploy/crds/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(renderCrds())) {
    await Deno.writeTextFile(new URL(file, dir), text);
    console.log(`wrote deploy/crds/${file}`);
  }
}
