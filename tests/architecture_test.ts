/**
 * The tree's import rules, checked from the source text so they cannot rot:
 *
 * - nothing under fakes/ imports core/: the fake cluster is an independent oracle, and an oracle
 *   that shares the code it judges agrees with its mistakes;
 * - no production file imports fakes/ or harness/: only the fake commands and the demo in cli/,
 *   tests, benches and testing helpers may reach a fake.
 */
import { deepEqual } from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

/** One import of one file, both as paths relative to the repository root. */
export type ImportEdge = { from: string; to: string };

/** A broken rule: the importing file, what it imports, and the rule in plain words. */
export type Violation = ImportEdge & { rule: string };

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), ".."));
const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\b[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm;

/** Relative imports of one file's text, resolved against the file's path. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2];
    if (!spec || !spec.startsWith(".")) continue;
    edges.push({ from: file, to: normalize(join(dirname(file), spec)) });
  }
  return edges;
}

/** Files that only tests, benches, the demo and the fake commands use. */
function mayReachFakes(file: string): boolean {
  return file.startsWith("tests/") || file.startsWith("fakes/") || file.startsWith("harness/") ||
    file.endsWith("_test.ts") || file.endsWith("_bench.ts") || file.includes("/testing/") ||
    /^cli\/(fake_[a-z_]+|demo)\.ts$/.test(file);
}

/** Every edge that breaks one of the two rules above. */
export function violations(edges: ImportEdge[]): Violation[] {
  const out: Violation[] = [];
  for (const e of edges) {
    if (e.from.startsWith("fakes/") && e.to.startsWith("core/")) {
      out.push({ ...e, rule: "fakes/ must not import core/ (the oracle judges the core)" });
    }
    if ((e.to.startsWith("fakes/") || e.to.startsWith("harness/")) && !mayReachFakes(e.from)) {
      out.push({ ...e, rule: "production code must not import fakes/ or harness/" });
    }
  }
  return out;
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = dir === "." ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      if (["node_modules", "dist", "cov", ".git"].includes(entry.name)) continue;
      yield* sourceFiles(path);
    } else if (entry.isFile && path.endsWith(".ts")) yield path;
  }
}

/** The import edges of the whole repository. */
export async function repositoryImports(): Promise<ImportEdge[]> {
  const edges: ImportEdge[] = [];
  for await (const file of sourceFiles(".")) {
    edges.push(...importsOf(file, await Deno.readTextFile(join(ROOT, file))));
  }
  return edges.map((e) => ({ from: e.from, to: relative(".", e.to) }));
}

Deno.test("architecture: fakes/ never imports core/ and production code never imports fakes/", async () => {
  const edges = await repositoryImports();
  // The walk must have seen the folders it judges, or an empty tree would pass.
  for (const dir of ["fakes/", "core/", "daemon/", "adapters/", "harness/"]) {
    deepEqual(edges.some((e) => e.from.startsWith(dir)), true, `no imports read under ${dir}`);
  }
  deepEqual(violations(edges), []);
});

Deno.test("architecture: a planted violation of each rule is reported", () => {
  const planted = [
    ...importsOf(
      "fakes/cluster/scheduler.ts",
      'import { fits } from "../../core/provisioning.ts";',
    ),
    ...importsOf("daemon/loop.ts", 'const m = await import("../fakes/fake_pve/server.ts");'),
    ...importsOf("adapters/proxmox/provider.ts", 'export { x } from "../../harness/demo.ts";'),
    // Allowed: the fake commands, tests and testing helpers.
    ...importsOf("cli/fake_cluster.ts", 'import { start } from "../fakes/cluster/start.ts";'),
    ...importsOf(
      "adapters/proxmox/testing/tls.ts",
      'import { pki } from "../../../fakes/tls/pki.ts";',
    ),
    ...importsOf(
      "fakes/cluster/world.ts",
      'import { readIso } from "../../adapters/bootstrap/iso9660_reader.ts";',
    ),
  ];
  deepEqual(violations(planted).map((v) => `${v.from} -> ${v.to}`), [
    "fakes/cluster/scheduler.ts -> core/provisioning.ts",
    "daemon/loop.ts -> fakes/fake_pve/server.ts",
    "adapters/proxmox/provider.ts -> harness/demo.ts",
  ]);
});
