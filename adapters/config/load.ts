/**
 * Loads the YAML configuration: parse with positions, validate against the one schema,
 * check cross-references, normalise into core/model.ts types. Every problem is reported as
 * `file:line:column: field.path: message` so an operator can jump straight to it.
 */
import { type Document, isMap, isNode, isSeq, type LineCounter } from "yaml";
import type { z } from "zod";
import type { Config } from "../../core/model.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { parseQuantity } from "../../core/quantity.ts";
import { bootstrapProblems } from "../bootstrap/config_check.ts";
import { positionInScalar } from "./scalar_position.ts";
import { type ConfigFile, configFile, type ProviderSpec } from "./schema.ts";
import { normalize, normalizeMachineTemplate, normalizeNodePool } from "./normalize.ts";
import { poolRequirementProblem } from "../../core/provisioning_pools.ts";
import { CONFIG_LIMITS, readYaml, type YamlLimits } from "./yaml_source.ts";

/** One validation problem, located in the source. */
export type ConfigProblem = {
  file: string;
  line: number;
  col: number;
  /** Field path in plain words: nodePools[0].spec.limits.cpu */
  path: string;
  message: string;
};

/** Formats a problem the way compilers do, so editors can link it. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path ? p.path + ": " : ""}${p.message}`;
}

/** Dotted path with [i] for list indices. */
export function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else out += out ? `.${String(k)}` : String(k);
  }
  return out;
}

/** Finds the closest source position for a path: the deepest node that exists. */
function locate(
  doc: Document,
  lc: LineCounter,
  path: readonly PropertyKey[],
): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) {
      // For an unknown key, point at the key itself rather than the map.
      return lc.linePos(node.range[0]);
    }
  }
  return { line: 1, col: 1 };
}

/** Finds the key node of an unrecognized key inside the map at `path`. */
function locateKey(doc: Document, lc: LineCounter, path: readonly PropertyKey[], key: string) {
  const parent = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
  if (isMap(parent)) {
    for (const pair of parent.items) {
      if (isNode(pair.key) && (pair.key as { value?: unknown }).value === key && pair.key.range) {
        return lc.linePos(pair.key.range[0]);
      }
    }
  }
  return locate(doc, lc, path);
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined
        ? `is required (${issue.expected})`
        : `must be ${issue.expected}, got ${describe(issue.input)}`;
    case "unrecognized_keys":
      return `unknown field`;
    case "invalid_union":
      return issue.message.startsWith("Invalid")
        ? "does not match any of the allowed forms"
        : issue.message;
    case "too_small":
      if (issue.origin === "array") {
        return `needs at least ${issue.minimum} entr${issue.minimum === 1 ? "y" : "ies"}`;
      }
      if (issue.origin === "string") return `must not be empty`;
      return `must be at least ${issue.minimum}${describeInput(issue)}`;
    case "too_big":
      if (issue.origin === "array") return `allows at most ${issue.maximum} entries`;
      return `must be at most ${issue.maximum}${describeInput(issue)}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${
        describe(issue.input)
      }`;
    default:
      return issue.message;
  }
}

function describeInput(issue: { input?: unknown }): string {
  return issue.input === undefined ? "" : `, got ${describe(issue.input)}`;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a map";
  if (typeof v === "string") return `"${v.length > 40 ? v.slice(0, 40) + "…" : v}"`;
  return `${typeof v} ${String(v)}`;
}

/** Parses and validates YAML text. `file` is used only for messages. */
export function parseConfigText(text: string, file: string): Result<Config, ConfigProblem[]> {
  const raw = parseConfigFile(text, file);
  if (!raw.ok) return raw;
  const cross = crossCheck(raw.value.parsed).map((c) => {
    // A problem inside a string value (a template) points at its own line and column.
    const at = c.inner && positionInScalar(raw.value.doc, raw.value.lc, text, c.path, c.inner);
    return at ? { ...c, message: c.inner!.message, at } : c;
  });
  if (cross.length > 0) {
    return err(
      cross.map((c) => ({
        file,
        ...("at" in c ? c.at : locate(raw.value.doc, raw.value.lc, c.path)),
        path: pathText(c.path),
        message: c.message,
      })),
    );
  }
  return ok(normalize(raw.value.parsed));
}

/** Schema validation only; returns the written form with defaults applied. */
export function parseConfigFile(
  text: string,
  file: string,
): Result<{ parsed: ConfigFile; doc: Document; lc: LineCounter }, ConfigProblem[]> {
  return parseYaml(text, file, configFile);
}

/**
 * Parses YAML (or JSON, a subset) against any zod schema, reporting problems with positions.
 * Shared by the configuration and the snapshot files of `proxscale plan`.
 */
export function parseYaml<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  limits: YamlLimits = CONFIG_LIMITS,
): Result<{ parsed: z.output<S>; doc: Document; lc: LineCounter }, ConfigProblem[]> {
  const read = readYaml(text, "one", limits);
  if (!read.ok) return err(read.error.map((p) => ({ file, ...p, path: "" })));
  const first = read.value[0];
  if (!first) {
    return err([{
      file,
      line: 1,
      col: 1,
      path: "",
      message: "the file is empty or not a YAML map",
    }]);
  }
  const { doc, lc } = first;
  if (!isMap(doc.contents) && !isSeq(doc.contents)) {
    return err([{
      file,
      line: 1,
      col: 1,
      path: "",
      message: "the file is empty or not a YAML map",
    }]);
  }
  const result = schema.safeParse(first.value, { reportInput: true });
  if (!result.success) {
    const problems: ConfigProblem[] = [];
    for (const issue of result.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          problems.push({
            file,
            ...locateKey(doc, lc, issue.path, key),
            path: pathText([...issue.path, key]),
            message: "unknown field",
          });
        }
        continue;
      }
      problems.push({
        file,
        ...locate(doc, lc, issue.path),
        path: pathText(issue.path),
        message: issueMessage(issue),
      });
    }
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    return err(problems);
  }
  return ok({ parsed: result.data, doc, lc });
}

/** References between objects: pools name templates, templates name providers, names unique. */
/** A cross-reference problem; `inner` locates it inside a string value such as a template. */
export type CrossProblem = {
  path: PropertyKey[];
  message: string;
  inner?: { line: number; col: number; message: string };
};

export function crossCheck(c: ConfigFile): CrossProblem[] {
  const out: CrossProblem[] = [];
  const unique = (list: { name: string }[], kind: string, key: string) => {
    const seen = new Set<string>();
    list.forEach((o, i) => {
      if (seen.has(o.name)) {
        out.push({ path: [key, i, "name"], message: `${kind} "${o.name}" is defined twice` });
      }
      seen.add(o.name);
    });
  };
  unique(c.providers, "Provider", "providers");
  c.providers.forEach((p, i) => {
    if (p.spec.kind === "redfish") return;
    const t = p.spec.templateVmidRange;
    const v = p.spec.vmidRange;
    if (t && t.lower <= v.upper && v.lower <= t.upper) {
      out.push({
        path: ["providers", i, "spec", "templateVmidRange"],
        message:
          `overlaps vmidRange ${v.lower}-${v.upper}: template VMs need VMIDs no node VM takes`,
      });
    }
  });
  unique(c.machineTemplates, "MachineTemplate", "machineTemplates");
  unique(c.nodePools, "NodePool", "nodePools");
  const providers = new Map(c.providers.map((p) => [p.name, p]));
  const templates = new Set(c.machineTemplates.map((t) => t.name));
  c.machineTemplates.forEach((t, i) => {
    const p = providers.get(t.spec.provider);
    if (!p) {
      out.push({
        path: ["machineTemplates", i, "spec", "provider"],
        message: `no Provider named "${t.spec.provider}" (known: ${
          [...providers.keys()].join(", ")
        })`,
      });
      return;
    }
    const hostNames = new Set(hostsOf(p.spec).map((h) => h.name));
    const perHost = "clone" in t.spec.source ? t.spec.source.clone.perHost : undefined;
    for (const h of Object.keys(perHost ?? {})) {
      if (!hostNames.has(h)) {
        out.push({
          path: ["machineTemplates", i, "spec", "source", "clone", "perHost", h],
          message: `host "${h}" is not among Provider "${p.name}" hosts`,
        });
      }
    }
    if ("image" in t.spec.source) {
      t.spec.source.image.perHost?.forEach((h, j) => {
        if (!hostNames.has(h)) {
          out.push({
            path: ["machineTemplates", i, "spec", "source", "image", "perHost", j],
            message: `host "${h}" is not among Provider "${p.name}" hosts`,
          });
        }
      });
      if (p.spec.kind === "redfish" || p.spec.templateVmidRange === undefined) {
        out.push({
          path: ["machineTemplates", i, "spec", "source", "image"],
          message: `Provider "${p.name}" has no templateVmidRange for the template VMs ` +
            `built from images`,
        });
      }
    }
    t.spec.network.forEach((n, j) => {
      const ipPools = p.spec.kind === "redfish" ? undefined : p.spec.ipPools;
      if (n.ipPool !== undefined && !ipPools?.some((x) => x.name === n.ipPool)) {
        out.push({
          path: ["machineTemplates", i, "spec", "network", j, "ipPool"],
          message: `no IP pool "${n.ipPool}" in Provider "${p.name}" (known: ${
            [...new Set(ipPools?.map((x) => x.name))].join(", ") || "none"
          })`,
        });
      }
    });
    for (const b of bootstrapProblems({ userData: t.spec.bootstrap.userData })) {
      out.push({
        path: ["machineTemplates", i, "spec", "bootstrap", ...b.path],
        message: b.message,
        inner: b.inner,
      });
    }
    const shapes = t.spec.shapes ?? [];
    shapes.forEach((s, j) => {
      const cpu = parseQuantity(s.cpu, 1000);
      if (cpu.ok && (cpu.value === 0 || cpu.value % 1000 !== 0)) {
        out.push({
          path: ["machineTemplates", i, "spec", "shapes", j, "cpu"],
          message: `VMs get whole cores; ${s.cpu} is not a positive whole number of vCPUs`,
        });
      }
    });
  });
  c.providers.forEach((p, i) => {
    if (p.spec.kind === "redfish") return; // its own schema refuses a machine listed twice
    const pools = new Set<string>();
    p.spec.ipPools?.forEach((pool, j) => {
      if (pools.has(pool.name)) {
        out.push({
          path: ["providers", i, "spec", "ipPools", j, "name"],
          message: `IP pool "${pool.name}" is defined twice`,
        });
      }
      pools.add(pool.name);
    });
    const seen = new Set<string>();
    p.spec.hosts.forEach((h, j) => {
      if (seen.has(h.name)) {
        out.push({
          path: ["providers", i, "spec", "hosts", j, "name"],
          message: `host "${h.name}" is listed twice`,
        });
      }
      seen.add(h.name);
    });
  });
  c.nodePools.forEach((p, i) => {
    if (!templates.has(p.spec.machineTemplate)) {
      out.push({
        path: ["nodePools", i, "spec", "machineTemplate"],
        message: `no MachineTemplate named "${p.spec.machineTemplate}" (known: ${
          [...templates].join(", ")
        })`,
      });
    }
    // A pool whose own requirements (with its template's labels and its provider's hosts) can
    // never be met would never make a node: say so at the requirements.
    const t = c.machineTemplates.find((x) => x.name === p.spec.machineTemplate);
    const prov = t ? providers.get(t.spec.provider) : undefined;
    if (t && p.spec.requirements.length > 0) {
      const problem = poolRequirementProblem(
        normalizeNodePool(p.name, p.spec),
        normalizeMachineTemplate(t.name, t.spec, c.settings.cost),
        (prov ? hostsOf(prov.spec) : []).map((h) => ({
          name: h.name,
          zone: h.zone ?? h.name,
          ...(h.capacityType !== undefined ? { capacityType: h.capacityType } : {}),
        })) ?? [],
      );
      if (problem) {
        out.push({
          path: ["nodePools", i, "spec", "requirements"],
          message: `the pool can never make a node: ${problem}`,
        });
      }
    }
    if (p.spec.limits.nodes !== undefined && p.spec.minNodes > p.spec.limits.nodes) {
      out.push({
        path: ["nodePools", i, "spec", "minNodes"],
        message: `minNodes ${p.spec.minNodes} exceeds limits.nodes ${p.spec.limits.nodes}`,
      });
    }
  });
  return out;
}

/** Reads and validates a config file from disk. A missing file is a problem, not an exception. */
export async function loadConfigFile(path: string): Promise<Result<Config, ConfigProblem[]>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "file not found"
      : `cannot read: ${(e as Error).message}`;
    return err([{ file: path, line: 1, col: 1, path: "", message: why }]);
  }
  return parseConfigText(text, path);
}

/** A Provider's hosts as placement sees them: a Redfish Provider's machines are its hosts. */
function hostsOf(
  spec: ProviderSpec,
): { name: string; zone?: string | undefined; capacityType?: string | undefined }[] {
  return spec.kind === "redfish"
    ? spec.machines.map((m) => ({
      name: m.name,
      ...(m.zone !== undefined ? { zone: m.zone } : {}),
    }))
    : spec.hosts;
}
