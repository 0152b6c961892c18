/**
 * The "May import:" lines and the folder rules, checked on the import graph of every git-tracked
 * .ts file, so the tree's rules cannot rot; and the checker, shown to report planted violations.
 *
 * May import: tests/.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import {
  edgesOf,
  type ImportEdge,
  parseImports,
  repositorySources,
  ROOT,
  trackedTsFiles,
} from "./testing/import_graph.ts";
import {
  type Allowance,
  checkGraph,
  FOLDER_RULES,
  folderRule,
  type Header,
  isTestFile,
  misspelledHelpers,
  type Problem,
  readHeader,
} from "./testing/import_rules.ts";

/**
 * Imports the rules refuse but the tree still has until a code move removes them; each names why
 * and the issue item that removes it. Empty: every edge found so far was legitimate and only its
 * "May import:" line was stale (those lines were corrected).
 */
const KNOWN_VIOLATIONS: Allowance[] = [];

const PINNED = new Set<string>(
  Object.keys(JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).imports),
);

const show = (ps: Problem[]) =>
  ps.map((p) => `${p.file}:${p.line}${p.imports ? ` -> ${p.imports}` : ""}: ${p.rule}`);

/** The graph and the headers of in-memory files, as the check reads the repository's. */
function graphOf(files: Record<string, string>) {
  const edges: ImportEdge[] = [];
  const headers = new Map<string, Header>();
  for (const [file, text] of Object.entries(files)) {
    edges.push(...edgesOf(file, text));
    const h = readHeader(file, text, PINNED);
    if (h) headers.set(file, h);
  }
  return { edges, headers };
}

async function repository() {
  const sources = await repositorySources();
  return { sources, ...graphOf(Object.fromEntries(sources)) };
}

Deno.test("every import in the repository keeps its folder's rule and its file's May import line", async () => {
  const { edges, headers } = await repository();
  deepEqual(show(checkGraph(edges, headers, { pinned: PINNED, allow: KNOWN_VIOLATIONS })), []);
});

Deno.test("the check reads every folder it judges and the tree's May import lines", async () => {
  const { sources, edges, headers } = await repository();
  ok(sources.size > 500, `only ${sources.size} tracked .ts files read`);
  for (const dir of ["core/", "adapters/", "daemon/", "sim/", "fakes/", "harness/", "cli/"]) {
    ok(edges.some((e) => e.from.startsWith(dir) && !e.external), `no imports read under ${dir}`);
  }
  ok(headers.size > 150, `only ${headers.size} May import lines read`);
  // Each allowance must still be needed, or the list outlives the code it excused.
  for (const a of KNOWN_VIOLATIONS) {
    ok(edges.some((e) => e.from === a.from && e.to === a.to), `stale allowance ${a.from}`);
  }
});

Deno.test("every testing helper in the repository is spelled one way: a file in a testing/ folder", async () => {
  const files = await trackedTsFiles();
  deepEqual(show(misspelledHelpers(files)), []);
  // The check sees the helpers it spares: several testing/ folders, tests/testing/ among them.
  const helpers = files.filter((f) => isTestFile(f) && !/_(test|bench)\.ts$/.test(f));
  ok(helpers.length > 20, `only ${helpers.length} testing helpers found`);
  ok(helpers.some((f) => f.startsWith("tests/testing/")), "no helper read under tests/testing/");
});

Deno.test("a helper planted under any other spelling is reported, and only it", () => {
  deepEqual(
    show(misspelledHelpers([
      "tests/kubernetes_testing.ts",
      "adapters/queue/testing.ts",
      "fakes/fake_pve/testing_client.ts",
      "tests/bad_inputs.ts",
      // Spelled right: a suite, a helper in a testing/ folder (and its own test), fixtures.
      "tests/queue_contract_test.ts",
      "tests/testing/kubernetes.ts",
      "core/testing/rng.ts",
      "core/testing/rng_test.ts",
      "tests/fixtures/bad_configs/x.ts",
      "adapters/queue/memory.ts",
    ])).sort(),
    [
      "adapters/queue/testing.ts:1: a testing helper lives in a testing/ folder, named without " +
      "the word testing",
      "fakes/fake_pve/testing_client.ts:1: a testing helper lives in a testing/ folder, named " +
      "without the word testing",
      "tests/bad_inputs.ts:1: tests/ holds suites only; a helper of the suites lives in " +
      "tests/testing/",
      "tests/kubernetes_testing.ts:1: a testing helper lives in a testing/ folder, named without " +
      "the word testing",
    ],
  );
});

Deno.test("a file named with the word testing outside a testing/ folder is held to production rules", () => {
  // Only a testing/ folder marks a helper, so a misspelled one gains no test allowances.
  const { edges, headers } = graphOf({
    "adapters/queue/redis_testing.ts": 'import { f } from "../../fakes/fake_kube/server.ts";',
    "adapters/queue/testing/redis.ts": 'import { f } from "../../../fakes/fake_kube/server.ts";',
  });
  deepEqual(show(checkGraph(edges, headers, { pinned: PINNED })), [
    "adapters/queue/redis_testing.ts:1 -> fakes/fake_kube/server.ts: adapters/ may import only " +
    "core/, adapters/, templates/, daemon/ports/",
  ]);
});

Deno.test("a violating import planted in the real tree is reported with its file and import", async () => {
  const { edges, headers } = await repository();
  const planted: ImportEdge = {
    from: "core/model.ts",
    to: "adapters/proxmox/client.ts",
    external: false,
    typeOnly: false,
    line: 3,
  };
  deepEqual(show(checkGraph([...edges, planted], headers, { pinned: PINNED })), [
    "core/model.ts:3 -> adapters/proxmox/client.ts: core/ may import only core/",
  ]);
});

Deno.test("planted violations of each rule are reported, and allowed imports are not", () => {
  const { edges, headers } = graphOf({
    // Folder rules: core/ is pure and imports only core/; fakes/ never core/; production code
    // never fakes/ or harness/.
    "core/drain.ts": [
      'import { get } from "../adapters/proxmox/client.ts";',
      'import { readFile } from "node:fs";',
      'import type { Pod } from "./model.ts";',
    ].join("\n"),
    "fakes/cluster/scheduler/fit.ts": 'import { fits } from "../../../core/provisioning.ts";',
    "daemon/loop.ts": 'const m = await import("../fakes/fake_pve/server.ts");',
    "adapters/proxmox/provider.ts": 'export { x } from "../../harness/demo.ts";',
    // An adapter reaches of the daemon only the ports it implements; a port names no adapter.
    "adapters/proxmox/launch.ts": [
      'import type { Machine } from "../../daemon/ports/provider.ts";',
      'import { launchJobs } from "../../daemon/workers.ts";',
    ].join("\n"),
    "daemon/ports/provider.ts": 'import type { PveError } from "../../adapters/proxmox/errors.ts";',
    // A file's line narrows its folder rule; "(types)" admits types only.
    "daemon/executor.ts": [
      "/**",
      " * The executor.",
      " *",
      " * May import: core/, adapters/queue/ (types)",
      " * and daemon/. Later sentences are commentary: adapters/kubernetes/.",
      " */",
      'import { reconcile } from "../core/reconcile.ts";',
      'import { MemoryJobQueue } from "../adapters/queue/memory.ts";',
      'import { KubeClient } from "../adapters/kubernetes/client.ts";',
      'import { helper } from "./helper.ts";',
    ].join("\n"),
    "sim/trace/load.ts": [
      "// May import: core/result.ts (types), npm:yaml. Later sentences are commentary: daemon/.",
      'import { ok } from "../../core/result.ts";',
      'import { parse } from "yaml";',
      'import { z } from "zod";',
    ].join("\n"),
    "cli/sim_queue.ts": [
      "/** May import: sim/ and whatever it needs. */",
      'import { run } from "../sim/engine/engine.ts";',
    ].join("\n"),
    "adapters/config/load.ts": 'import { z } from "npm:zod@3.0.0";',
    // Allowed: the fake commands, tests and testing helpers, same-folder imports.
    "cli/fake_cluster.ts": 'import { start } from "../fakes/cluster/start.ts";',
    "adapters/proxmox/client_test.ts": [
      'import { startFakePve } from "../../fakes/fake_pve/server.ts";',
      'import { pki } from "../../tests/testing/proxmox.ts";',
      'import assert from "node:assert/strict";',
    ].join("\n"),
    "fakes/cluster/kubelet/seed.ts": [
      "/** May import: fakes/fake_kube/, adapters/bootstrap/iso9660_reader.ts. */",
      'import { readIso } from "../../../adapters/bootstrap/iso9660_reader.ts";',
      'import type { Node } from "../../fake_kube/objects.ts";',
    ].join("\n"),
  });
  const problems = show(checkGraph(edges, headers, { pinned: PINNED }));
  deepEqual(problems.sort(), [
    "adapters/config/load.ts:1 -> npm:zod@3.0.0: npm:zod@3.0.0 is not a package deno.json pins " +
    "(import it by its deno.json name)",
    "adapters/proxmox/launch.ts:2 -> daemon/workers.ts: adapters/ may import only core/, " +
    "adapters/, templates/, daemon/ports/",
    "adapters/proxmox/provider.ts:1 -> harness/demo.ts: adapters/ may import only core/, " +
    "adapters/, templates/, daemon/ports/",
    'cli/sim_queue.ts:1: unreadable May import entry "whatever it needs"',
    "core/drain.ts:1 -> adapters/proxmox/client.ts: core/ may import only core/",
    "core/drain.ts:2 -> node:fs: core/ may not import package node:fs",
    "daemon/executor.ts:8 -> adapters/queue/memory.ts: its May import line (line 4) allows " +
    "adapters/queue/ for types only",
    "daemon/executor.ts:9 -> adapters/kubernetes/client.ts: its May import line (line 4) lists " +
    "only core/, adapters/queue/, daemon/",
    "daemon/loop.ts:1 -> fakes/fake_pve/server.ts: daemon/ may import only core/, adapters/, daemon/",
    "daemon/ports/provider.ts:1 -> adapters/proxmox/errors.ts: daemon/ports/ may import only core/",
    "fakes/cluster/scheduler/fit.ts:1 -> core/provisioning.ts: fakes/ may import only fakes/, " +
    "adapters/bootstrap/iso9660_reader.ts",
    "sim/trace/load.ts:2 -> core/result.ts: its May import line (line 1) allows core/result.ts " +
    "for types only",
    "sim/trace/load.ts:4 -> zod: its May import line (line 1) does not name package zod",
  ]);
  // The same graph with one edge allowed by name loses exactly that report.
  const allow: Allowance[] = [{
    from: "core/drain.ts",
    to: "adapters/proxmox/client.ts",
    why: "planted",
  }];
  equal(checkGraph(edges, headers, { pinned: PINNED, allow }).length, problems.length - 1);
});

Deno.test("a May import line is read over continued comment lines, up to its first sentence", () => {
  const text = [
    "/**",
    " * May import: fakes/fake_kube/ (the store, and object types), ./quantity.ts, status.ts",
    " * and npm yaml, fast-check. Never core/: the oracle must not share the code it judges.",
    " */",
  ].join("\n");
  deepEqual(readHeader("fakes/cluster/scheduler/x.ts", text, PINNED), {
    line: 2,
    entries: [
      { path: "fakes/fake_kube/", typesOnly: false },
      { path: "fakes/cluster/scheduler/quantity.ts", typesOnly: false },
      { path: "fakes/cluster/scheduler/status.ts", typesOnly: false },
    ],
    packages: ["yaml", "fast-check"],
    unreadable: [],
  });
  const below = "/**\n * May import:\n * core/model.ts.\n */";
  deepEqual(readHeader("core/x.ts", below, PINNED)?.entries, [
    { path: "core/model.ts", typesOnly: false },
  ]);
  const leaf = (line: string) => readHeader("core/x.ts", `/** May import: ${line} */`, PINNED);
  deepEqual(leaf("nothing outside core/.")?.entries, [{ path: "core/", typesOnly: false }]);
  deepEqual(leaf("core/ only.")?.entries, [{ path: "core/", typesOnly: false }]);
  deepEqual(leaf("nothing of the project.")?.entries, []);
  deepEqual(leaf("nothing but Deno.")?.unreadable, []);
  deepEqual(leaf("../adapters/kubernetes (types).")?.unreadable, ["../adapters/kubernetes"]);
  equal(readHeader("core/x.ts", "const s = 'May import: core/.';", PINNED), undefined);
  equal(
    readHeader("core/x.ts", '/** Where the "May import:" lines are read. */', PINNED),
    undefined,
  );
  equal(readHeader("core/x.ts", "/** The model. May import: core/. */", PINNED)?.line, 1);
});

Deno.test("imports are read from code only, not from comments, strings, templates or regexes", () => {
  const text = [
    "// import { a } from './commented.ts';",
    "/* export * from './block.ts'; */",
    "const s = 'import { b } from \"./string.ts\"';",
    'const re = /import\\("[^"]*"\\)/g;',
    "const t = `import x from './template.ts' ${await import('./in_template.ts')}`;",
    "import {",
    "  type A,",
    "  type B,",
    "} from './loaded_for_types.ts';",
    "import type C from './type_default.ts';",
    "import D, { e } from './values.ts';",
    "import './side_effect.ts';",
    "export * as ns from './namespace.ts';",
    "export type { F } from './export_types.ts';",
    "export { g } from './export_values.ts';",
    'export const h = await import("./dynamic.ts");',
    "const later = import(name);",
    "const url = import.meta.url;",
    "let snap: import('./type_expression.ts').Snapshot;",
    "type M = typeof import('./typeof.ts');",
    "import('./then.ts').then((m) => m);",
    "obj.import('./not_an_import.ts');",
  ].join("\n");
  deepEqual(parseImports(text).map((i) => `${i.line} ${i.specifier}${i.typeOnly ? " type" : ""}`), [
    "5 ./in_template.ts",
    "9 ./loaded_for_types.ts",
    "10 ./type_default.ts type",
    "11 ./values.ts",
    "12 ./side_effect.ts",
    "13 ./namespace.ts",
    "14 ./export_types.ts type",
    "15 ./export_values.ts",
    "16 ./dynamic.ts",
    "19 ./type_expression.ts type",
    "20 ./typeof.ts type",
    "21 ./then.ts",
  ]);
  deepEqual(
    edgesOf("sim/trace/load.ts", 'import x from "../../core/result.ts";\nimport "npm:yaml@2/x";')
      .map((e) => `${e.to} ${e.external}`),
    ["core/result.ts false", "npm:yaml@2/x true"],
  );
});

Deno.test("the most specific folder rule applies: a fake command, not the cli/ rule", () => {
  equal(folderRule("cli/fake_pve.ts").path, "cli/fake_pve.ts");
  equal(folderRule("cli/plan.ts").path, "cli/");
  equal(folderRule("adapters/proxmox/client.ts").path, "adapters/");
  equal(folderRule("daemon/ports/provider.ts").path, "daemon/ports/");
  equal(folderRule("main.ts").path, "main.ts");
});

Deno.test("docs/architecture.md's import table names everything each folder rule allows", async () => {
  const doc = await Deno.readTextFile(join(ROOT, "docs/architecture.md"));
  const block = /## Import rules[\s\S]*?```\n([\s\S]*?)```/.exec(doc)?.[1] ?? "";
  const rows = new Map<string, string>();
  let last = "";
  for (const line of block.split("\n")) {
    if (/^\S/.test(line)) {
      last = line.split(/\s+/)[0]!;
      rows.set(last, line.slice(last.length));
    } else rows.set(last, `${rows.get(last) ?? ""} ${line.trim()}`);
  }
  for (const rule of FOLDER_RULES) {
    const top = rule.path.includes("/")
      ? rule.path.slice(0, rule.path.indexOf("/") + 1)
      : rule.path;
    const row = rows.get(top);
    ok(row !== undefined, `no row for ${top}`);
    if (rule.path !== top) ok(row.includes(rule.path.slice(top.length)), `${rule.path} not named`);
    for (const may of rule.may) {
      ok(row.includes(may) || (top === "tests/" && row.includes("everything")), `${top}: ${may}`);
    }
    for (const pkg of [...(rule.packages ?? []), ...(rule.testPackages ?? [])]) {
      ok(row.includes(pkg), `${top}: package ${pkg}`);
    }
  }
});

Deno.test("the graph read from source equals Deno's own module graph (deno info), type edges too", async () => {
  const { sources, edges } = await repository();
  const dir = await Deno.makeTempDir();
  try {
    const root = join(dir, "all.ts");
    const lines = [...sources.keys()].map((f) => `import "${join(ROOT, f)}";`);
    await Deno.writeTextFile(root, lines.join("\n"));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--no-npm", "--no-remote", root],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    ok(out.success, "deno info failed");
    type Dep = { code?: { specifier?: string }; type?: { specifier?: string } };
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { specifier: string; dependencies?: Dep[] }[];
    };
    const prefix = `file://${ROOT}/`;
    const theirs = new Set<string>();
    for (const m of info.modules) {
      if (!m.specifier.startsWith(prefix) || m.specifier.startsWith(`file://${dir}`)) continue;
      for (const d of m.dependencies ?? []) {
        const to = d.code?.specifier ?? d.type?.specifier;
        if (!to?.startsWith(prefix)) continue;
        const from = m.specifier.slice(prefix.length);
        theirs.add(`${from} -> ${to.slice(prefix.length)}${d.code ? "" : " (type)"}`);
      }
    }
    // A module imported both for types and for values is one code dependency to Deno.
    const kinds = new Map<string, boolean>();
    for (const e of edges.filter((e) => !e.external)) {
      const key = `${e.from} -> ${e.to}`;
      kinds.set(key, (kinds.get(key) ?? true) && e.typeOnly);
    }
    const ours = [...kinds].map(([key, typeOnly]) => `${key}${typeOnly ? " (type)" : ""}`);
    ok(theirs.size > 2000, `deno info listed only ${theirs.size} edges`);
    deepEqual(ours.sort(), [...theirs].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
