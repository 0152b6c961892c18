/**
 * docs/configuration.md, generated from the zod schema in schema.ts: every field with its type,
 * whether it is required, its default, its validation and its description. The schema is the
 * only place a field is defined, so the reference cannot fall behind it; a test compares the
 * committed file with `configurationReference()`. Run `deno task docs` after a schema change.
 *
 * This walks zod v4's public `_zod.def` structure (type, checks, shape, options, innerType).
 */
import type { z } from "zod";
import {
  configFile,
  diskSpec,
  gpuSpec,
  imageSourceSpec,
  ipPoolSpec,
  machineTemplateSpec,
  nodePoolSpec,
  providerSpec,
  proxmoxProviderSpec,
  redfishProviderSpec,
  requirement,
  settingsSpec,
} from "./schema.ts";
import { vmOptionsSpec } from "./vm_options_spec.ts";

// deno-lint-ignore no-explicit-any
type Def = Record<string, any>;
type Schema = z.ZodType;

const def = (s: Schema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const describe = (s: Schema): string | undefined => (s as { description?: string }).description;

/** Rules a superRefine enforces (zod keeps no readable trace of them); kept next to the walker. */
const EXTRA_RULES = new Map<Schema, string[]>([
  [requirement, [
    "operator `In` needs at least one value",
    "operators `Gt`, `Lt`, `Gte`, `Lte` need exactly one non-negative integer value",
    "operators `Exists` and `DoesNotExist` take no values",
    "`minValues` needs at least that many values",
  ]],
  [vmOptionsSpec, ["`efiDisk` needs `bios: ovmf`"]],
  [gpuSpec, ["needs `mapping` or `model`"]],
  [diskSpec, [
    "`ssd` is not available on virtio disks",
    "`iothread` is only available on scsi and virtio disks",
  ]],
  [machineTemplateSpec, [
    "needs at least one entry in shapes or a flexible range",
    "every shape's vCPUs (and a flexible range's min and step) must be a multiple of " +
    "`vm.sockets`",
    "`vm.balloonMiB` must not exceed any shape's memory (or a flexible range's min)",
  ]],
]);

/** Strips optional/default wrappers; reports what they said. */
function unwrap(
  s: Schema,
): { inner: Schema; optional: boolean; def?: unknown; description?: string } {
  let optional = false;
  let dflt: unknown;
  let description = describe(s);
  let cur = s;
  for (;;) {
    const d = def(cur);
    if (d.type === "optional") optional = true;
    else if (d.type === "default") {
      optional = true;
      const v = d.defaultValue;
      dflt = typeof v === "function" ? v() : v;
    } else break;
    cur = d.innerType as Schema;
    description ??= describe(cur);
  }
  return {
    inner: cur,
    optional,
    ...(dflt !== undefined ? { def: dflt } : {}),
    ...(description ? { description } : {}),
  };
}

function code(v: unknown): string {
  return "`" + (typeof v === "string" ? v : JSON.stringify(v)) + "`";
}

/** Type in words, e.g. "integer", "list of object", "one of `a`, `b`". */
export function typeText(s: Schema): string {
  const d = def(unwrap(s).inner);
  switch (d.type) {
    case "string":
      return d.format === "url" ? "string (URL)" : "string";
    case "number":
      return d.format === "safeint" ? "integer" : "number";
    case "boolean":
      return "boolean";
    case "enum":
      return "one of " + Object.values(d.entries as Record<string, string>).map(code).join(", ");
    case "literal":
      return (d.values as unknown[]).map(code).join(" or ");
    case "array":
      return `list of ${typeText(d.element)}`;
    case "record":
      return `map of string to ${typeText(d.valueType)}`;
    case "object":
      return "object";
    case "union":
      return (d.options as Schema[]).map((o) => {
        const od = def(unwrap(o).inner);
        return od.type === "object" ? `{ ${Object.keys(od.shape).join(" | ")} }` : typeText(o);
      }).join(" or ");
    default:
      return String(d.type);
  }
}

function checkText(c: Def, isArray: boolean): string | undefined {
  const msg = typeof c.error === "function" ? c.error() : undefined;
  switch (c.check) {
    case "min_length":
      return `at least ${c.minimum} ${isArray ? "item" : "character"}${c.minimum === 1 ? "" : "s"}`;
    case "max_length":
      return `at most ${c.maximum} ${isArray ? "items" : "characters"}`;
    case "greater_than":
      return `${c.inclusive ? "≥" : ">"} ${c.value}`;
    case "less_than":
      return `${c.inclusive ? "≤" : "<"} ${c.value}`;
    case "string_format":
      return msg
        ? `${msg} (pattern ${code(String(c.pattern))})`
        : `pattern ${code(String(c.pattern))}`;
    case "custom":
      return typeof msg === "string" ? msg : undefined;
    default:
      return msg;
  }
}

/** Validation rules in words (regexes with their messages, bounds, refinements). */
export function validationText(s: Schema): string[] {
  const inner = unwrap(s).inner;
  const d = def(inner);
  const out: string[] = [];
  if (d.type === "string" && d.format === "url" && typeof d.error === "function") {
    out.push(d.error());
  }
  if (d.type === "number" && d.format === "safeint") {
    // z.int(): the integer check itself, bounds in checks.
  }
  for (const c of (d.checks ?? []) as { _zod: { def: Def } }[]) {
    const t = checkText(c._zod.def, d.type === "array");
    if (t) out.push(t);
  }
  if (d.type === "array") {
    out.push(...validationText(d.element).map((v) => `each item: ${v}`));
  }
  if (d.type === "union") {
    for (const o of d.options as Schema[]) {
      if (def(unwrap(o).inner).type !== "object") out.push(...validationText(o));
    }
  }
  out.push(...(EXTRA_RULES.get(inner) ?? []));
  return out;
}

/** One documented field. */
export type FieldDoc = {
  path: string;
  type: string;
  required: boolean;
  default?: unknown;
  validation: string[];
  description?: string;
};

/**
 * Every field below `s`, depth first, in schema order; lists get `[]`, unions each option.
 * Schemas in `stop` are listed but not entered (they have a section of their own).
 */
export function fields(
  s: Schema,
  prefix: string,
  stop: ReadonlyMap<Schema, string> = new Map(),
): FieldDoc[] {
  const out: FieldDoc[] = [];
  const d = def(unwrap(s).inner);
  const children = (shape: Record<string, Schema>, at: string) => {
    for (const [k, v] of Object.entries(shape)) {
      const u = unwrap(v);
      const path = at ? `${at}.${k}` : k;
      const inner = def(u.inner);
      const element = inner.type === "array" ? inner.element as Schema : undefined;
      const see = stop.get(v) ?? stop.get(u.inner) ??
        (element ? stop.get(element) ?? stop.get(unwrap(element).inner) : undefined);
      const description = see
        ? `see [${see}](#${see.toLowerCase().replace(/\s+/g, "-")})`
        : u.description;
      out.push({
        path,
        type: typeText(v),
        required: !u.optional,
        ...(u.def !== undefined && !see ? { default: u.def } : {}),
        validation: see ? [] : validationText(v),
        ...(description ? { description } : {}),
      });
      if (!see) out.push(...fields(v, path, stop));
    }
  };
  if (d.type === "object") children(d.shape, prefix);
  else if (d.type === "array") {
    const e = def(unwrap(d.element).inner);
    if (e.type === "object" || e.type === "union") {
      out.push(...fields(d.element, `${prefix}[]`, stop));
    }
  } else if (d.type === "union") {
    for (const o of d.options as Schema[]) {
      if (def(unwrap(o).inner).type === "object") out.push(...fields(o, prefix, stop));
    }
  }
  return out;
}

/** "vCPUs of the VM" stays as written; "path of a file" becomes "Path of a file.". */
function sentence(text: string): string {
  const first = text.split(" ")[0]!;
  const t = first === first.toLowerCase() ? text.charAt(0).toUpperCase() + text.slice(1) : text;
  return /[.)]$/.test(t) ? t : `${t}.`;
}

function fieldMarkdown(f: FieldDoc): string {
  const lines = [`### \`${f.path}\``, ""];
  if (f.description) {
    lines.push(sentence(f.description), "");
  }
  lines.push(`- Type: ${f.type}`);
  lines.push(`- ${f.required ? "Required" : "Optional"}`);
  if (f.default !== undefined) lines.push(`- Default: ${code(f.default)}`);
  for (const v of f.validation) lines.push(`- Validation: ${v}`);
  return lines.join("\n");
}

type Section = { title: string; intro: string; schema: Schema; prefix: string };

const SECTIONS: Section[] = [
  {
    title: "Top level",
    intro:
      "The file lists named objects. Each list entry is `{ name, spec }`; in the cluster the same `spec` is the `spec` of a custom resource of the matching kind (`proxscale migrate` converts).",
    schema: configFile,
    prefix: "",
  },
  {
    title: "Provider",
    intro:
      "A Proxmox VE cluster: `providers[].spec` in the file, `.spec` of a `Provider` (proxscale.io/v1alpha1). `kind` picks the variant: absent or `proxmox` is this one, `redfish` is [bare metal](#redfish-provider).",
    schema: proxmoxProviderSpec,
    prefix: "spec",
  },
  {
    title: "Redfish Provider",
    intro:
      "Bare-metal servers behind Redfish BMCs (`kind: redfish`): each machine is one node of exactly its size, launched from the claim's NoCloud seed ISO served once on an expiring HTTPS URL. See docs/redfish.md.",
    schema: redfishProviderSpec,
    prefix: "spec",
  },
  {
    title: "IP pools",
    intro: [
      "Static node addresses without DHCP: `providers[].spec.ipPools[]`, named by a MachineTemplate",
      "NIC's `network[].ipPool` (one pool per NIC, so per bridge/VLAN). Before a NodeClaim's VM is",
      "made, the launch records on the claim (`status.addresses`) the lowest free address of each",
      "pooled NIC's pool; a restarted launch reuses the recorded ones, so a crash never hands one out",
      "twice. The address reaches the VM as the NIC's `ipconfigN` (`ip=A/NN,gw=G`; with",
      "`bootstrap.mode: pveCloudInit` PVE's own cloud-init uses it) and in the NoCloud network-config",
      "v2 of `nocloudIso` seeds (addresses, default route, the pool's DNS when `bootstrap.nameserver`",
      "is unset). An address is free when it is in a range, not reserved, not the gateway, not held by",
      "a live NodeClaim of the Provider and not in any VM's `ipconfigN` on the Provider (VMs proxscale",
      "does not own included; each VM config is re-read at most once a minute, a new VMID at once).",
      "It is freed only when its NodeClaim is gone, which happens after the VM is destroyed.",
      "Allocations run one at a time in the leader. A full pool fails the launch with reason",
      "`IpPoolExhausted` (Warning Event on the NodeClaim, the NodePool backs off with",
      "`LaunchFailing`); `proxscale_ip_pool_addresses{provider,pool,state}` (held, foreign, free) and",
      "`proxscale status` show each pool's usage. IPv4 only.",
    ].join(" "),
    schema: ipPoolSpec,
    prefix: "spec.ipPools[]",
  },
  {
    title: "MachineTemplate",
    intro:
      "What a VM is made of: `machineTemplates[].spec` in the file, `.spec` of a `MachineTemplate`. " +
      "The `vm` block (CPU type and flags, sockets, NUMA, balloon, machine, BIOS and EFI disk, guest " +
      "agent, startup order, description) and the per-NIC and per-disk options are written into " +
      "every VM, whether it is made from scratch or cloned: after a clone, one config update sets " +
      "them, replacing the template VM's values (an EFI disk the template VM already has is kept). " +
      "Each value is checked against what Proxmox VE accepts for the key, so a value PVE would refuse " +
      "is reported at its position by `proxscale validate` rather than failing a launch. " +
      "GPU shapes: a shape with `gpus` passes PCI devices through by PVE resource mapping; its " +
      "VMs get one `hostpciN: mapping=NAME[,pcie=1][,mdev=TYPE]` line per device (with " +
      "`machine: q35` when `gpu.pcie` is true), on clones too. proxscale writes mappings, never " +
      "raw `host=` PCI ids (PVE refuses those to API tokens), so the token needs Mapping.Use on " +
      "`/mapping/pci/NAME` and VM.Config.HWType (`proxscale diagnose` checks both). A GPU pod " +
      "(one asking `gpu.resourceName`, default nvidia.com/gpu) gets the cheapest shape holding " +
      "its GPUs on a host where the mapping has devices no VM holds (proxscale counts the " +
      "hostpci lines of every VM on the host, foreign running ones included); a CPU pod never " +
      "gets a GPU VM. `gpu.replicas` above 1 makes the node seed write the NVIDIA device " +
      "plugin's time-slicing config, so the node advertises count x replicas.",
    schema: machineTemplateSpec,
    prefix: "spec",
  },
  {
    title: "Templates from cloud images",
    intro: [
      "`machineTemplates[].spec.source.image`: proxscale builds the template VMs itself from a",
      "cloud image URL. On each host that will clone it (`perHost`, default every Provider host; once",
      "when `storage` is shared) a `build-template` job asks PVE to download the image into",
      "`importStorage` (`download-url`, content `import`; PVE verifies the checksum and a mismatch",
      "fails the build with PVE's own message, without retries), creates a VM with",
      "`scsi0: <storage>:0,import-from=<image>`, a cloud-init drive and the template's `vm` options,",
      "and converts it (`POST .../template`). The VM takes the lowest free VMID of the Provider's",
      "`templateVmidRange` (outside `vmidRange`), is named `pxs-tpl-<template>-<digest>` and its",
      "description names the image and its checksum; the digest covers the image, its checksum, the",
      "storages and the `vm` options. Each step first looks at what PVE has (a finished template, the",
      "downloaded file, a download still running, a half-built VM), so a build interrupted by a",
      "crash resumes without downloading again. Until a host has a finished template no VM of this",
      "template is placed there; pods wait with reason `TemplateNotReady`. A changed image or setting",
      "builds new templates beside the old ones and changes the claims' template hash, so the pool's",
      "claims are Drifted and disruption replaces them within the pool's budgets; a template VM of",
      "an older digest is removed once no NodeClaim of the template carries an older hash. Builds,",
      "failures and removals are reported (`TemplateBuilt`, `TemplateBuildFailed`, `TemplateRemoved`)",
      "as status lines and Events on the MachineTemplate; failures count in",
      '`proxscale_provider_errors_total{operation="template-build"}`. `proxscale diagnose` checks',
      "the token's rights for it (Datastore.AllocateTemplate on the import storage, Sys.Audit and",
      "Sys.Modify on `/` or Sys.AccessNetwork on the host, VM.Allocate on the template range) and",
      "that the import storage takes content `import`.",
    ].join(" "),
    schema: imageSourceSpec,
    prefix: "spec.source.image",
  },
  {
    title: "NodePool",
    intro:
      "Which pods a group of VMs serves, its limits and how it scales and is disrupted: `nodePools[].spec` in the file, `.spec` of a `NodePool`.",
    schema: nodePoolSpec,
    prefix: "spec",
  },
  {
    title: "settings",
    intro:
      "Daemon-wide settings: `settings` in the file; in the cluster, key `config.yaml` of the ConfigMap `proxscale-settings` in proxscale's namespace.",
    schema: settingsSpec,
    prefix: "settings",
  },
];

/** Schemas with a section of their own: other sections link to it instead of repeating it. */
const SEE = new Map<Schema, string>([
  [providerSpec, "Provider"],
  [proxmoxProviderSpec, "Provider"],
  [redfishProviderSpec, "Redfish Provider"],
  [ipPoolSpec, "IP pools"],
  [imageSourceSpec, "Templates from cloud images"],
  [machineTemplateSpec, "MachineTemplate"],
  [nodePoolSpec, "NodePool"],
  [settingsSpec, "settings"],
]);

/** The whole of docs/configuration.md. */
export function configurationReference(): string {
  const out: string[] = [
    "# Configuration reference",
    "",
    "<!-- Generated by adapters/config/docs.ts from adapters/config/schema.ts. Do not edit;",
    "     regenerate with: npx -y deno@2.9.6 task docs -->",
    "",
    "proxscale reads one schema in two forms: a YAML file (`proxscale run --config FILE`,",
    "`proxscale validate FILE`) and custom resources in the cluster (`proxscale run --crds`). Quantities",
    "are Kubernetes quantities (`500m`, `2`, `4Gi`); durations are written like `30s`, `5m`, `1h30m`.",
    "Unknown fields are errors. `proxscale validate` reports every problem as `file:line:column: message`",
    "with the messages listed under Validation below. Secrets are never written inline: a secret field",
    "takes `{ file: PATH }`, `{ env: NAME }` or `{ secret: { namespace, name, key } }`. A field marked",
    "Required must be present whenever the object that holds it is. Without `queue.redis` jobs use",
    "the in-memory queue of one process; with it, BullMQ on Redis.",
    "",
    "## Contents",
    "",
    ...SECTIONS.map((s) => `- [${s.title}](#${s.title.toLowerCase().replace(/\s+/g, "-")})`),
  ];
  for (const s of SECTIONS) {
    out.push("", `## ${s.title}`, "", s.intro);
    const objectRules = validationText(s.schema);
    if (objectRules.length) {
      out.push("", ...objectRules.map((r) => `- Rule: ${r}`));
    }
    for (const f of fields(s.schema, s.prefix, SEE)) out.push("", fieldMarkdown(f));
  }
  return out.join("\n") + "\n";
}

if (import.meta.main) {
  const url = new URL("../../docs/configuration.md", import.meta.url);
  await Deno.writeTextFile(url, configurationReference());
  console.log("wrote docs/configuration.md");
}
