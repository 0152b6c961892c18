/**
 * Turns the one zod configuration schema (adapters/config/schema.ts) into Kubernetes
 * *structural* OpenAPI v3 schemas for the CRDs: every node typed, no $ref, no
 * additionalProperties:false (the API server prunes instead), quantities as
 * x-kubernetes-int-or-string, unions of objects merged with an "exactly one" CEL rule.
 *
 * What JSON Schema cannot say (zod refinements, cross-field rules) is written here once as a
 * CEL rule. The API server, the fake API server and structural_validate.ts (through cel.ts)
 * all evaluate the rule text itself. A test fails when a zod refinement has no rule here.
 */
import { z } from "zod";
import {
  budgetSpec,
  diskSpec,
  gpuSpec,
  imageSourceSpec,
  ipPoolSpec,
  machineTemplateSpec,
  nodePoolSpec,
  providerSpec,
  proxmoxProviderSpec,
  quantity,
  redfishMachineSpec,
  redfishProviderSpec,
  requirement,
  shapeSpec,
  sourceSpec,
} from "../config/schema.ts";
import { descriptionTemplate, startupSpec, vmOptionsSpec } from "../config/vm_options_spec.ts";

/** A structural OpenAPI v3 schema node (the subset proxscale emits). */
export type Structural = {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  properties?: Record<string, Structural>;
  additionalProperties?: Structural;
  items?: Structural;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minItems?: number;
  maxItems?: number;
  anyOf?: Structural[];
  oneOf?: Structural[];
  "x-kubernetes-int-or-string"?: true;
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: { rule: string; message: string }[];
};

/** A CEL rule and the message the API server reports when it fails. */
export type CelRule = { rule: string; message: string };

// deno-lint-ignore no-explicit-any
type Any = any;

const cloneSchema = (sourceSpec.options[0] as unknown as z.ZodObject<Any>).shape.clone;
const imageChecksumSchema = imageSourceSpec.shape.checksum;

/** Whole vCPUs of a cpu quantity field (0, which every count divides, when not a whole number). */
const vcpus = (f: string) =>
  `(type(${f}) == int ? ${f} : (type(${f}) == string && isQuantity(${f}) && quantity(${f}).isInteger() ? quantity(${f}).asInteger() : 0))`;
const SOCKETS_DIVIDE_VCPUS: CelRule = {
  rule: "!has(self.vm) || !has(self.vm.sockets) || (" +
    `(!has(self.shapes) || self.shapes.all(s, ${vcpus("s.cpu")} % self.vm.sockets == 0)) && ` +
    `(!has(self.flexible) || (${vcpus("self.flexible.cpu.min")} % self.vm.sockets == 0 && ` +
    `(has(self.flexible.cpu.step) ? ${
      vcpus("self.flexible.cpu.step")
    } : 1) % self.vm.sockets == 0)))`,
  message: "every shape's vCPUs (and a flexible min and step) must be a multiple of sockets",
};
/** True when the memory quantity field `f` is below the balloon target. */
const belowBalloon = (f: string) => {
  const text = `(type(${f}) == string ? ${f} : string(${f}))`;
  return `(isQuantity(${text}) && quantity(${text}).isLessThan(quantity(string(self.vm.balloonMiB) + 'Mi')))`;
};
const BALLOON_FITS: CelRule = {
  rule: "!has(self.vm) || !has(self.vm.balloonMiB) || (" +
    `(!has(self.shapes) || self.shapes.all(s, !${belowBalloon("s.memory")})) && ` +
    `(!has(self.flexible) || !${belowBalloon("self.flexible.memory.min")}))`,
  message: "balloon value too large (must be smaller than assigned memory)",
};
/** A dotted quad's form in a CEL regex (its values are checked at load). */
const QUAD = "[0-9]{1,3}([.][0-9]{1,3}){3}";

/** zod schema (by identity) -> the CEL rules that stand in for its refinements. */
const RULES = new Map<unknown, CelRule[]>([
  [requirement, [
    {
      rule: "self.operator != 'In' || (has(self.values) && size(self.values) > 0)",
      message: "operator In needs at least one value",
    },
    {
      rule:
        "!(self.operator in ['Gt', 'Lt', 'Gte', 'Lte']) || (has(self.values) && size(self.values) == 1 && self.values[0].matches('^[0-9]+$'))",
      message: "operators Gt, Lt, Gte and Lte need exactly one non-negative integer value",
    },
    {
      rule:
        "!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) || size(self.values) == 0",
      message: "operators Exists and DoesNotExist take no values",
    },
    {
      rule: "!has(self.minValues) || (has(self.values) && size(self.values) >= self.minValues)",
      message: "minValues needs at least that many values",
    },
  ]],
  [proxmoxProviderSpec.shape.vmidRange, [{
    rule: "self.lower <= self.upper",
    message: "lower must not exceed upper",
  }]],
  [proxmoxProviderSpec.shape.endpoint, [{
    rule: "self.startsWith('https://') && isURL(self)",
    message: "must be an https:// URL such as https://pve1.lan:8006",
  }]],
  [proxmoxProviderSpec.shape.hosts, [{
    rule: "self.all(h, self.exists_one(o, o.name == h.name))",
    message: "a host is listed twice",
  }]],
  [redfishMachineSpec.shape.endpoint, [{
    rule: "self.startsWith('https://') && isURL(self)",
    message: "must be an https:// URL such as https://bmc-r1-07.lan",
  }]],
  [redfishProviderSpec.shape.seedServer.shape.url, [{
    rule: "self.startsWith('https://') && isURL(self)",
    message: "must be an https:// URL the BMCs can reach",
  }]],
  [redfishProviderSpec, [{
    rule: "self.machines.all(m, self.machines.exists_one(o, o.name == m.name))",
    message: "a machine is listed twice",
  }]],
  [proxmoxProviderSpec, [{
    rule: "self.hosts.all(h, !has(h.capacityType) || " +
      "h.capacityType in ['reserved', 'standard', 'preemptible'] || " +
      "(has(self.capacityTypes) && h.capacityType in self.capacityTypes))",
    message: "a host's capacityType must be reserved, standard, preemptible or named in " +
      "capacityTypes",
  }]],
  [(proxmoxProviderSpec.shape.templateVmidRange as Any).unwrap(), [{
    rule: "self.lower <= self.upper",
    message: "lower must not exceed upper",
  }]],
  [imageChecksumSchema, [{
    rule: "size(self.value) == (self.algorithm == 'sha256' ? 64 : 128)",
    message: "a sha256 digest has 64 hex digits, a sha512 digest 128",
  }]],
  [cloneSchema, [{
    rule: "has(self.templateVmid) || has(self.perHost)",
    message: "clone needs templateVmid or perHost",
  }]],
  [machineTemplateSpec, [
    {
      rule: "(has(self.shapes) && size(self.shapes) > 0) || has(self.flexible)",
      message: "needs at least one entry in shapes or a flexible range",
    },
    SOCKETS_DIVIDE_VCPUS,
    BALLOON_FITS,
  ]],
  [vmOptionsSpec, [{
    rule: "!has(self.efiDisk) || (has(self.bios) && self.bios == 'ovmf')",
    message: "efiDisk needs bios: ovmf",
  }]],
  [descriptionTemplate, [{
    rule: "!self.contains('proxscale.io/nodeclaim=') && !self.contains('proxscale.io/nodepool=')",
    message:
      "must not contain proxscale.io/nodeclaim= or proxscale.io/nodepool= (proxscale's identity lines)",
  }]],
  [startupSpec, [{
    rule: "has(self.order) || has(self.up) || has(self.down)",
    message: "startup needs order, up or down",
  }]],
  [diskSpec, [{
    rule: "!has(self.ssd) || !self.slot.startsWith('virtio')",
    message: "ssd is not available on virtio disks",
  }, {
    rule: "!has(self.iothread) || !(self.slot.startsWith('sata') || self.slot.startsWith('ide'))",
    message: "iothread is only available on scsi and virtio disks",
  }]],
  [shapeSpec, [{
    rule:
      "type(self.cpu) == int ? self.cpu > 0 : (isQuantity(self.cpu) && quantity(self.cpu).isInteger() && quantity(self.cpu).asInteger() > 0)",
    message: "VMs get whole cores; cpu must be a positive whole number of vCPUs",
  }]],
  [gpuSpec, [{
    rule: "has(self.mapping) || has(self.model)",
    message: "gpus needs a mapping or a model",
  }]],
  [budgetSpec, [{
    rule: "has(self.schedule) == has(self.duration)",
    message: "schedule and duration go together",
  }]],
  [ipPoolSpec, [{
    // The arithmetic (ranges inside the CIDR, no overlap, gateway inside) is checked when the
    // configuration is loaded; admission checks the forms.
    rule: `self.cidr.matches('^${QUAD}/[0-9]{1,2}$') && ` +
      `(!has(self.gateway) || self.gateway.matches('^${QUAD}$')) && ` +
      `(!has(self.ranges) || self.ranges.all(r, r.matches('^${QUAD}(-${QUAD})?$'))) && ` +
      `(!has(self.reserved) || self.reserved.all(r, r.matches('^${QUAD}(-${QUAD})?$')))`,
    message: "cidr, gateway, ranges and reserved must be IPv4 addresses, ranges and a CIDR",
  }]],
  [nodePoolSpec, [{
    rule:
      "!has(self.limits) || !has(self.limits.nodes) || !has(self.minNodes) || self.minNodes <= self.limits.nodes",
    message: "minNodes must not exceed limits.nodes",
  }]],
]);

/** Rules generated for value shapes rather than for one zod schema. */
const QUANTITY_NON_NEGATIVE: CelRule = {
  rule: "type(self) != int || self >= 0",
  message: "must not be negative",
};
const SCALAR_VALUE: CelRule = {
  rule: "type(self) == string || type(self) == int || type(self) == double || type(self) == bool",
  message: "must be a string, number or boolean",
};
const exactlyOne = (keys: string[]): CelRule => ({
  rule: `[${keys.map((k) => `has(self.${k})`).join(", ")}].exists_one(x, x)`,
  message: `exactly one of ${keys.join(", ")} must be set`,
});

/** A fresh copy per use, so the YAML output repeats rules instead of aliasing them. */
const copyRule = (r: CelRule): CelRule => ({ rule: r.rule, message: r.message });

/** A quantity without sign or with '+', as the CRD pattern (the zod refine forbids '-'). */
const QUANTITY_PATTERN_NON_NEGATIVE =
  "^(\\+?)(\\d+(\\.\\d*)?|\\.\\d+)(([eE][+-]?\\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$";

const SAFE = Number.MAX_SAFE_INTEGER;

function isQuantityUnion(branches: Any[]): boolean {
  return branches.length === 2 && branches.some((b) => b.type === "string" && b.pattern) &&
    branches.some((b) => b.type === "number");
}

/**
 * The property that tells the branches of a union of objects apart (each branch has it with one
 * value, as zod's discriminatedUnion writes it), if there is one.
 */
function discriminator(branches: Any[]): string | undefined {
  if (!branches.every((b) => b.type === "object" && b.properties)) return undefined;
  const keys = Object.keys(branches[0].properties).filter((k) =>
    branches.every((b) => b.properties[k]?.enum?.length === 1)
  );
  return keys[0];
}

/**
 * A discriminated union as one object: every branch's properties, the discriminator an enum of
 * the branch values, and per branch a CEL rule (that branch's fields present, the others'
 * absent) plus its own rules, each applying only when the discriminator names it. The branch
 * whose discriminator is optional is the one an object without it belongs to.
 */
function mergeDiscriminated(branches: Any[], key: string): Structural {
  const out: Structural = { type: "object", properties: {} };
  const values = branches.map((b) => b.properties[key].enum[0] as string);
  const fallback = branches.find((b) => !(b.required ?? []).includes(key));
  const sel = fallback
    ? `(has(self.${key}) ? self.${key} : '${fallback.properties[key].enum[0]}')`
    : `self.${key}`;
  const rules: CelRule[] = [];
  for (const b of branches) {
    for (const [k, v] of Object.entries(b.properties)) {
      if (k !== key) out.properties![k] = convert(v);
    }
  }
  // A default of one branch's field would land on the other branches' objects: zod fills it.
  for (const [k, v] of Object.entries(out.properties!)) {
    if (!branches.every((b) => k in b.properties)) delete v.default;
  }
  out.properties![key] = { type: "string", enum: values };
  branches.forEach((b, i) => {
    const v = values[i]!;
    const own = Object.keys(b.properties);
    const need = (b.required ?? []).filter((k: string) => k !== key);
    const others = Object.keys(out.properties!).filter((k) => !own.includes(k));
    const cond = [
      ...need.map((k: string) => `has(self.${k})`),
      ...others.map((k) => `!has(self.${k})`),
    ];
    if (cond.length) {
      rules.push({
        rule: `${sel} != '${v}' || (${cond.join(" && ")})`,
        message: `a ${key} ${v} object needs ${need.join(", ") || "nothing more"}` +
          (others.length ? ` and takes no ${others.join(", ")}` : ""),
      });
    }
    for (const r of (b["x-kubernetes-validations"] ?? []) as CelRule[]) {
      rules.push({ rule: `${sel} != '${v}' || (${r.rule})`, message: r.message });
    }
  });
  out["x-kubernetes-validations"] = rules;
  return out;
}

/** Converts one JSON Schema node (zod output, openapi-3.0 target) into a structural node. */
function convert(js: Any): Structural {
  const out: Structural = {};
  if (js.description) out.description = js.description;
  const validations: { rule: string; message: string }[] = [
    ...(js["x-kubernetes-validations"] ?? []),
  ];
  if (js.anyOf || js.oneOf) {
    const branches: Any[] = js.anyOf ?? js.oneOf;
    if (isQuantityUnion(branches)) {
      Object.assign(out, {
        "x-kubernetes-int-or-string": true,
        anyOf: [{ type: "integer" }, { type: "string" }],
        pattern: QUANTITY_PATTERN_NON_NEGATIVE,
        // Bounds the CEL cost estimate of rules that parse quantities; real ones are short.
        maxLength: 64,
      });
      validations.push(copyRule(QUANTITY_NON_NEGATIVE));
    } else if (discriminator(branches) !== undefined) {
      Object.assign(out, mergeDiscriminated(branches, discriminator(branches)!));
      validations.push(...(out["x-kubernetes-validations"] ?? []));
      delete out["x-kubernetes-validations"];
    } else if (branches.every((b) => b.type === "object")) {
      out.type = "object";
      out.properties = {};
      for (const b of branches) {
        for (const [k, v] of Object.entries(b.properties ?? {})) {
          out.properties[k] = convert(v);
        }
      }
      validations.push(copyRule(exactlyOne(branches.map((b) => Object.keys(b.properties)[0]!))));
    } else if (branches.every((b) => ["string", "number", "boolean"].includes(b.type))) {
      out["x-kubernetes-preserve-unknown-fields"] = true;
      validations.push(copyRule(SCALAR_VALUE));
    } else {
      throw new Error(`Cannot express this union structurally: ${JSON.stringify(js)}`);
    }
  } else if (js.const !== undefined) {
    out.type = typeof js.const === "number" ? "number" : "string";
    out.enum = [js.const];
  } else {
    if (js.type === undefined) throw new Error(`Schema node without type: ${JSON.stringify(js)}`);
    out.type = js.type;
    for (
      const k of [
        "enum",
        "pattern",
        "format",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "exclusiveMinimum",
        "exclusiveMaximum",
      ] as const
    ) {
      if (js[k] !== undefined) (out as Any)[k] = js[k];
    }
    if (js.minimum !== undefined && js.minimum > -SAFE) out.minimum = js.minimum;
    if (js.maximum !== undefined && js.maximum < SAFE) out.maximum = js.maximum;
    if (js.type === "object") {
      if (js.properties) {
        out.properties = {};
        for (const [k, v] of Object.entries(js.properties)) out.properties[k] = convert(v);
        if (js.required?.length) out.required = [...js.required];
      }
      if (js.additionalProperties && typeof js.additionalProperties === "object") {
        out.additionalProperties = convert(js.additionalProperties);
      }
    }
    if (js.type === "array") out.items = convert(js.items);
  }
  if (js.default !== undefined) out.default = js.default;
  if (validations.length) out["x-kubernetes-validations"] = validations;
  return out;
}

/**
 * The structural schema of one zod spec/status schema, input form (defaults optional), with
 * the CEL rules attached. `missing` collects refinements that have no rule (a test keeps it
 * empty so a new zod `.refine` cannot silently skip the CRD).
 */
export function structuralSchema(schema: z.ZodType, missing: string[] = []): Structural {
  const js = z.toJSONSchema(schema, {
    io: "input",
    target: "openapi-3.0",
    override: (ctx) => {
      const rules = RULES.get(ctx.zodSchema);
      if (ctx.zodSchema === requirement) {
        // Label values are at most 63 characters; the bound keeps the regex rule's CEL cost
        // estimate within the API server's budget.
        (ctx.jsonSchema as Any).properties.values.items.maxLength = 63;
      }
      if (rules) {
        (ctx.jsonSchema as Any)["x-kubernetes-validations"] = rules.map(copyRule);
      }
      const checks: Any[] = (ctx.zodSchema as Any)._zod.def.checks ?? [];
      const custom = checks.some((c) => c._zod.def.check === "custom");
      const isQuantityBranch = quantity.options.includes(ctx.zodSchema as Any);
      if (custom && !rules && !isQuantityBranch) missing.push(ctx.path.join("."));
    },
  });
  const out = convert(js);
  if (schema === providerSpec) {
    // Hosts are keyed by name (list-map: the API server rejects duplicates itself); the CEL
    // rule says the same for servers that do not, and maxItems bounds its quadratic cost
    // (a Proxmox cluster has at most a few dozen hosts).
    const hosts = out.properties!.hosts!;
    hosts["x-kubernetes-list-type"] = "map";
    hosts["x-kubernetes-list-map-keys"] = ["name"];
    hosts.maxItems = 100;
    const machines = out.properties!.machines!;
    machines["x-kubernetes-list-type"] = "map";
    machines["x-kubernetes-list-map-keys"] = ["name"];
    machines.items!.properties!.endpoint!.maxLength = 2048;
    out.properties!.seedServer!.properties!.url!.maxLength = 2048;
    // Bounds the CEL cost estimate of the isURL rule.
    out.properties!.endpoint!.maxLength = 2048;
  }
  return out;
}
