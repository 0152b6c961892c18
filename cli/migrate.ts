/**
 * `proxscale migrate FILE [--out DIR] [--namespace NS]`: writes the custom resources that carry
 * a configuration in-cluster (Provider, MachineTemplate, NodePool, plus the settings ConfigMap).
 * FILE is a proxscale YAML config, or a KubeNodeSmith v0 config (detected), so its users can
 * move over. Without --out the manifests go to stdout; notes for the operator go to stderr.
 */
import { COMMAND_SUMMARIES } from "./summaries.ts";
import { parseArgs } from "node:util";
import { readYaml } from "../adapters/config/yaml_source.ts";
import { stringify } from "yaml";
import { isRetiredVersion, upgradeConfig } from "../adapters/config/retired_versions.ts";
import type { Command } from "./command.ts";
import { formatProblem, parseConfigText } from "../adapters/config/load.ts";
import {
  DEFAULT_NAMESPACE,
  type Manifest,
  manifestsFromConfig,
  renderManifests,
  type WrittenConfig,
} from "../adapters/config/crd_manifests.ts";
import { configFromObjects, formatCrdProblem } from "../adapters/config/crd_source.ts";
import {
  importKubeNodeSmithV0,
  isKubeNodeSmithCrds,
  isKubeNodeSmithV0,
  kubeNodeSmithCrdsToV0,
} from "../adapters/config/kubenodesmith_v0.ts";
import { KINDS, objectSchema } from "../adapters/kubernetes/crds.ts";
import type { Structural } from "../adapters/kubernetes/structural_schema.ts";

/**
 * YAML accepts fractional numbers as quantities (`cpu: 0.5`); a CRD's int-or-string field
 * accepts only integers or strings, so such values are written as strings ("0.5").
 */
export function quantitiesForCrd(value: unknown, s: Structural | undefined): unknown {
  if (!s) return value;
  if (s["x-kubernetes-int-or-string"] && typeof value === "number" && !Number.isInteger(value)) {
    return String(value);
  }
  if (Array.isArray(value)) return value.map((v) => quantitiesForCrd(v, s.items));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = quantitiesForCrd(v, s.properties?.[k] ?? s.additionalProperties);
    }
    return out;
  }
  return value;
}

function forCrds(manifests: Manifest[]): Manifest[] {
  return manifests.map((m) => {
    const kind = KINDS.find((k) => k.kind === m.kind);
    if (!kind) return m;
    return { ...m, spec: quantitiesForCrd(m.spec, objectSchema(kind).properties?.spec) };
  });
}

/** Result of turning a file into manifests, for the command and for tests. */
export type Migration = { manifests: Manifest[]; warnings: string[]; source: string };

/** Reads either format and returns validated manifests, or the problems that stop it. */
export function migrateText(
  text: string,
  file: string,
  namespace = DEFAULT_NAMESPACE,
): { ok: true; value: Migration } | { ok: false; error: string[] } {
  const read = readYaml(text, "many");
  if (!read.ok) {
    return { ok: false, error: read.error.map((p) => `${file}:${p.line}:${p.col}: ${p.message}`) };
  }
  const values = read.value.map((d) => d.value).filter((v) => v !== null && v !== undefined);
  let doc: unknown = values[0];
  let source = "KubeNodeSmith v0";
  const notes: string[] = [];
  // KubeNodeSmith shipped its file inside a ConfigMap: the one data key holding a config.
  const wrapped = unwrapConfigMap(values.length === 1 ? doc : undefined, file);
  if (wrapped) {
    if (!wrapped.ok) return { ok: false, error: wrapped.error };
    const inner = migrateText(wrapped.text, `${file} (${wrapped.where})`, namespace);
    if (!inner.ok) return inner;
    return {
      ok: true,
      value: { ...inner.value, source: `${inner.value.source}, in ${wrapped.where}` },
    };
  }
  if (isRetiredVersion(doc)) {
    const up = upgradeConfig(doc);
    if (!up.ok) return { ok: false, error: up.error.map((e) => `${file}: ${e}`) };
    const from = (doc as { apiVersion: string }).apiVersion;
    const inner = migrateText(
      stringify(up.value.doc),
      `${file} (upgraded from ${from})`,
      namespace,
    );
    if (!inner.ok) return inner;
    return {
      ok: true,
      value: {
        ...inner.value,
        warnings: [...up.value.notes, ...inner.value.warnings],
        source: `proxscale ${from}, upgraded`,
      },
    };
  }
  if (isKubeNodeSmithCrds(values)) {
    const folded = kubeNodeSmithCrdsToV0(values);
    doc = folded.doc;
    notes.push(...folded.warnings);
    source = "KubeNodeSmith CRDs";
  } else if (values.length > 1) {
    return {
      ok: false,
      error: [`${file}: ${values.length} YAML documents; a configuration file has one`],
    };
  }
  if (isKubeNodeSmithV0(doc)) {
    const imported = importKubeNodeSmithV0(doc);
    if (!imported.ok) return { ok: false, error: imported.error.map((e) => `${file}: ${e}`) };
    const manifests = forCrds(manifestsFromConfig(imported.value.config, namespace));
    // The result must pass proxscale's own validation, like any other configuration.
    const check = configFromObjects(manifests);
    if (!check.ok) {
      return {
        ok: false,
        error: check.error.map((p) => `${file} (imported): ${formatCrdProblem(p)}`),
      };
    }
    return {
      ok: true,
      value: { manifests, warnings: [...notes, ...imported.value.warnings], source },
    };
  }
  const parsed = parseConfigText(text, file);
  if (!parsed.ok) return { ok: false, error: parsed.error.map(formatProblem) };
  return {
    ok: true,
    value: {
      manifests: forCrds(manifestsFromConfig(doc as WrittenConfig, namespace)),
      warnings: [],
      source: "proxscale",
    },
  };
}

/**
 * A ConfigMap whose data holds a configuration (KubeNodeSmith shipped v0 that way): the text of
 * its one such key; undefined when `doc` is no ConfigMap.
 */
export function unwrapConfigMap(
  doc: unknown,
  file: string,
): { ok: true; text: string; where: string } | { ok: false; error: string[] } | undefined {
  const cm = doc as { kind?: unknown; metadata?: { name?: unknown }; data?: unknown };
  if (typeof doc !== "object" || doc === null || cm.kind !== "ConfigMap") return undefined;
  const data = typeof cm.data === "object" && cm.data !== null
    ? Object.entries(cm.data as Record<string, unknown>)
    : [];
  const configs = data.filter(([, v]) => {
    if (typeof v !== "string") return false;
    const r = readYaml(v, "many");
    const d = r.ok ? r.value[0]?.value : undefined;
    return typeof d === "object" && d !== null &&
      ("providers" in d || "schemaVersion" in d || "kind" in d);
  });
  const name = String(cm.metadata?.name ?? "(unnamed)");
  if (configs.length !== 1) {
    return {
      ok: false,
      error: [
        `${file}: ConfigMap ${name} has ${configs.length} data keys holding a configuration ` +
        `(keys: ${data.map(([k]) => k).join(", ") || "none"}); expected exactly one`,
      ],
    };
  }
  const [key, text] = configs[0]!;
  return { ok: true, text: text as string, where: `ConfigMap ${name}, key ${key}` };
}

export const migrateCommand: Command = {
  name: "migrate",
  summary: COMMAND_SUMMARIES.migrate,
  usage: "proxscale migrate FILE [--out DIR] [--namespace NS]",
  async run(args, io) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string", short: "o" },
        namespace: { type: "string", short: "n" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      io.out(
        `usage: ${this.usage}\n\n${this.summary}.\n` +
          "Without --out the manifests are printed; apply them with kubectl apply -f.\n" +
          "Exit codes: 0 written, 1 cannot write, 2 invalid input.",
      );
      return 0;
    }
    const file = positionals[0];
    if (!file || positionals.length > 1) {
      io.err(`usage: ${this.usage}`);
      return 2;
    }
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      io.err(`${file}: cannot read: ${(e as Error).message}`);
      return 2;
    }
    const result = migrateText(text, file, values.namespace ?? DEFAULT_NAMESPACE);
    if (!result.ok) {
      for (const line of result.error) io.err(line);
      return 2;
    }
    const { manifests, warnings, source } = result.value;
    for (const w of warnings) io.err(`warning: ${w}`);
    const header = `proxscale configuration migrated from ${file} (${source} format)`;
    if (!values.out) {
      io.out(renderManifests(manifests, header));
      return 0;
    }
    try {
      await Deno.mkdir(values.out, { recursive: true });
      const path = `${values.out.replace(/\/+$/, "")}/proxscale-config.yaml`;
      await Deno.writeTextFile(path, renderManifests(manifests, header));
      io.err(`wrote ${manifests.length} objects to ${path}`);
    } catch (e) {
      io.err(`cannot write to ${values.out}: ${(e as Error).message}`);
      return 1;
    }
    return 0;
  },
};
