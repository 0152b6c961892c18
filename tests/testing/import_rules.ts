/**
 * The tree's import rules and the check of an import graph against them.
 *
 * Two layers, both checked on every edge:
 *
 * - FOLDER_RULES: what each folder may import at most, one table that mirrors
 *   docs/architecture.md. A file with no "May import:" line is held to its folder's rule.
 * - A file's own "May import:" line narrows that: the file may import only what the line lists.
 *
 * How a "May import:" line is read (it starts a comment line or a sentence of a one-line
 * comment; its first sentence after the colon, continued over the comment's next lines until a
 * period ends it, lists entries; later sentences are commentary):
 *
 * - entries are separated by commas or "and"; a parenthesised note after an entry is commentary,
 *   except "(types)" / "(types only)", which means that entry may be imported for types only;
 * - `core/` (trailing slash) is a folder and everything under it; `core/model.ts` one file;
 *   `./x.ts`, `../x/` resolve against the file's folder; a bare `x.ts` is a file of its folder;
 * - `npm:yaml`, `npm yaml`, `node:fs` or an import-map name (`fast-check`) name a package; when a
 *   line names at least one npm package, the file's npm imports must be among those named;
 * - "nothing", "nothing of the project", "nothing but Deno" mean no other folder;
 *   "nothing outside core/" means `core/`; "core/ only" means `core/`; "this folder" adds nothing;
 * - imports from the file's own folder are always allowed;
 * - a test (`_test.ts`, `_bench.ts`) or a testing helper (a file in a `testing/` folder, the
 *   helpers' one spelling, see misspelledHelpers) may import its module, any testing helper,
 *   its folder rule's `testsMay`, and what its own line lists together with what its module's
 *   line lists; a test with no line of its own is held to its folder rule (which holds its
 *   module's line);
 * - anything else in the first sentence is reported as unreadable, so a line cannot drift into
 *   prose the check no longer understands.
 *
 * External modules: every npm package must be one deno.json pins (an inline `npm:x@1` would bypass
 * the lock's pin), and a folder rule may list the only packages it allows: core/ allows none (it
 * is pure: no I/O, no clock, no randomness), so even node: modules are refused there.
 *
 * May import: ./import_graph.ts (types).
 */
import { dirname } from "node:path";
import type { ImportEdge } from "./import_graph.ts";

/** The most one folder (or one file) may import. The longest matching `path` applies. */
export type FolderRule = {
  /** A folder ending in `/`, or one file. */
  path: string;
  /** Folders (`core/`) and files the folder may import; its own folder is always allowed. */
  may: string[];
  /** What its tests and testing helpers may import besides `may`. */
  testsMay?: string[];
  /** External modules its production files may import (`node:` ones included); absent: any. */
  packages?: string[];
  /** External modules its tests may import besides `packages`; absent: any. */
  testPackages?: string[];
};

const TEST_EXTRAS = ["fakes/", "templates/"];

/** The folder rules, as docs/architecture.md states them. */
export const FOLDER_RULES: FolderRule[] = [
  {
    path: "core/",
    may: ["core/"],
    packages: [],
    testPackages: ["node:assert/strict", "fast-check"],
  },
  // An adapter implements the port its consumer declares (daemon/ports/), and imports no more
  // of the daemon than that.
  {
    path: "adapters/",
    may: ["core/", "adapters/", "templates/", "daemon/ports/"],
    testsMay: TEST_EXTRAS,
  },
  { path: "daemon/", may: ["core/", "adapters/", "daemon/"], testsMay: [...TEST_EXTRAS, "tests/"] },
  // The ports the daemon consumes: types and pure helpers over core/, so every adapter can
  // implement them without reaching the daemon's shell.
  {
    path: "daemon/ports/",
    may: ["core/"],
    packages: [],
    testPackages: ["node:assert/strict"],
  },
  { path: "sim/", may: ["core/", "sim/"] },
  // The fakes are an independent oracle: never core/; adapters/ only where a wire format would
  // otherwise be written twice (the NoCloud seed image a fake VM reads). Their tests may render
  // a real seed (adapters/bootstrap/ and the shipped templates) to boot a fake VM from it.
  {
    path: "fakes/",
    may: ["fakes/", "adapters/bootstrap/iso9660_reader.ts"],
    testsMay: ["templates/", "adapters/bootstrap/"],
  },
  {
    path: "harness/",
    may: ["core/", "adapters/", "daemon/", "sim/", "fakes/", "harness/", "cli/"],
    testsMay: TEST_EXTRAS,
  },
  { path: "cli/", may: ["core/", "adapters/", "daemon/", "sim/", "cli/"], testsMay: TEST_EXTRAS },
  // The commands that run a fake or the demo are the only production files that reach them.
  { path: "cli/fake_pve.ts", may: ["core/", "adapters/", "cli/", "fakes/"] },
  { path: "cli/fake_kube.ts", may: ["core/", "adapters/", "cli/", "fakes/"] },
  { path: "cli/fake_redfish.ts", may: ["core/", "adapters/", "cli/", "fakes/"] },
  { path: "cli/fake_cluster.ts", may: ["core/", "adapters/", "cli/", "fakes/"] },
  { path: "cli/demo.ts", may: ["core/", "adapters/", "daemon/", "cli/", "harness/"] },
  { path: "templates/", may: [], packages: [] },
  // main.ts is also the front door's worker entry in the binary and the bundle (one graph).
  {
    path: "main.ts",
    may: ["cli/", "daemon/front_door_protocol.ts", "daemon/front_door_worker.ts"],
  },
  {
    path: "tests/",
    may: [
      "core/",
      "adapters/",
      "daemon/",
      "sim/",
      "fakes/",
      "harness/",
      "cli/",
      "templates/",
      "main.ts",
    ],
  },
];

/** One entry of a "May import:" line, resolved to a repository path. */
export type HeaderEntry = { path: string; typesOnly: boolean };

/** A file's "May import:" line as the check reads it. */
export type Header = {
  line: number;
  entries: HeaderEntry[];
  /** npm packages the line names (node: modules are not listed). */
  packages: string[];
  /** Entries the reading rules above do not understand. */
  unreadable: string[];
};

/** A broken rule: the file, the line, what it imports (when an edge broke it), and why. */
export type Problem = { file: string; line: number; imports?: string; rule: string };

/** True for tests, benches and testing helpers. */
export function isTestFile(file: string): boolean {
  return /_(test|bench)\.ts$/.test(file) || isTestingHelper(file);
}

/** True for a file in a `testing/` folder, the one place testing helpers live. */
export function isTestingHelper(file: string): boolean {
  return file.split("/").slice(0, -1).includes("testing");
}

/**
 * Files that break the one spelling of testing helpers: a helper lives in a `testing/` folder
 * beside what it serves and is named for what it holds, so no other file name carries the word
 * testing (`x_testing.ts`, `testing.ts`, `testing_x.ts`); and tests/ holds only suites
 * (`_test.ts`, `_bench.ts`), with its helpers in tests/testing/ and its data in tests/fixtures/.
 */
export function misspelledHelpers(files: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  for (const file of files) {
    if (!file.endsWith(".ts") || isTestingHelper(file)) continue;
    const base = file.slice(file.lastIndexOf("/") + 1);
    if (/testing/.test(base)) {
      problems.push({
        file,
        line: 1,
        rule: "a testing helper lives in a testing/ folder, named without the word testing",
      });
    } else if (
      file.startsWith("tests/") && !/_(test|bench)\.ts$/.test(base) &&
      !file.startsWith("tests/fixtures/")
    ) {
      problems.push({
        file,
        line: 1,
        rule: "tests/ holds suites only; a helper of the suites lives in tests/testing/",
      });
    }
  }
  return problems;
}

/** The folder rule of one file: the longest rule path that is the file or a folder above it. */
export function folderRule(file: string, rules: FolderRule[] = FOLDER_RULES): FolderRule {
  let best: FolderRule | undefined;
  for (const r of rules) {
    const match = r.path.endsWith("/") ? file.startsWith(r.path) : file === r.path;
    if (match && (!best || r.path.length > best.path.length)) best = r;
  }
  return best ?? { path: "", may: [] };
}

const folderOf = (file: string) => {
  const d = dirname(file);
  return d === "." ? "" : `${d}/`;
};

function resolveEntry(file: string, entry: string): string {
  const parts = `${folderOf(file)}${entry}`.split("/");
  const out: string[] = [];
  for (const p of parts) {
    if (p === "..") out.pop();
    else if (p !== ".") out.push(p);
  }
  return out.join("/");
}

/** Splits at commas and "and" outside parentheses. */
function splitEntries(sentence: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const piece of sentence.split(/(,|\band\b|\(|\))/)) {
    if (piece === "(") depth++;
    if (piece === ")") depth--;
    if (depth === 0 && (piece === "," || piece === "and")) {
      out.push(current);
      current = "";
    } else current += piece;
  }
  return [...out, current];
}

const TOP = /^(core|adapters|daemon|sim|fakes|harness|cli|tests|templates)\//;

/**
 * Reads a file's "May import:" line (see the rules at the top of this file), or undefined when
 * the file has none. `packageNames` are the import-map names a bare entry may name.
 */
export function readHeader(
  file: string,
  text: string,
  packageNames: ReadonlySet<string>,
): Header | undefined {
  const lines = text.split("\n");
  // The line starts a comment line, or a sentence of a one-line comment.
  const start = /^\s*(?:\/\/|\/\*\*?|\*)\s*(?:.*\.\s+)?May import:/;
  const at = lines.findIndex((l) => start.test(l));
  if (at < 0) return undefined;
  let sentence = lines[at]!.replace(start, "");
  for (let k = at + 1; !/\.(\s|$)|\*\//.test(sentence) && k < lines.length; k++) {
    const next = lines[k]!.replace(/^\s*(\/\/|\*)\s?/, "");
    if (/^\s*\*\/|^\s*$/.test(next) || !/^\s*(\/\/|\*)/.test(lines[k]!)) break;
    sentence += ` ${next}`;
  }
  sentence = sentence.replace(/\*\/.*$/, "");
  const end = sentence.search(/\.(\s|$)/);
  if (end >= 0) sentence = sentence.slice(0, end);
  const header: Header = { line: at + 1, entries: [], packages: [], unreadable: [] };
  for (const raw of splitEntries(sentence)) {
    const notes = [...raw.matchAll(/\(([^)]*)\)/g)].map((m) => m[1]!.trim());
    const typesOnly = notes.some((n) => /^types( only)?$/.test(n));
    let item = raw.replace(/\([^)]*\)/g, "").trim().replace(/\s+only$/, "");
    if (item === "") continue;
    const outside = /^nothing outside (\S+)$/.exec(item);
    if (outside) item = outside[1]!;
    else if (/^nothing\b/.test(item) || /\bthis folder$/.test(item)) continue;
    const pkg = /^npm[: ](\S+)$/.exec(item);
    if (pkg) header.packages.push(pkg[1]!);
    else if (item.startsWith("node:")) continue;
    else if (packageNames.has(item)) header.packages.push(item);
    else if (!item.endsWith("/") && !item.endsWith(".ts")) header.unreadable.push(item);
    else if (item.startsWith("./") || item.startsWith("../") || /^[a-z0-9_]+\.ts$/.test(item)) {
      header.entries.push({ path: resolveEntry(file, item), typesOnly });
    } else if (TOP.test(item)) {
      header.entries.push({ path: item, typesOnly });
    } else header.unreadable.push(item);
  }
  return header;
}

const covers = (allowed: string, target: string) =>
  allowed.endsWith("/") ? target.startsWith(allowed) : target === allowed;

/** The module a test or bench file tests: `x_test.ts` -> `x.ts`; undefined for helpers. */
export function moduleOf(file: string): string | undefined {
  const m = /^(.*)_(test|bench)\.ts$/.exec(file);
  return m ? `${m[1]}.ts` : undefined;
}

/** An import the rules refuse but the tree still has: the edge, why, and what removes it. */
export type Allowance = { from: string; to: string; why: string };

/** Everything the graph does that the folder rules or a file's "May import:" line refuse. */
export function checkGraph(
  edges: ImportEdge[],
  headers: ReadonlyMap<string, Header>,
  options: {
    rules?: FolderRule[];
    pinned: ReadonlySet<string>;
    allow?: Allowance[];
  },
): Problem[] {
  const rules = options.rules ?? FOLDER_RULES;
  const problems: Problem[] = [];
  for (const [file, h] of headers) {
    for (const u of h.unreadable) {
      problems.push({ file, line: h.line, rule: `unreadable May import entry "${u}"` });
    }
  }
  for (const e of edges) {
    if (options.allow?.some((a) => a.from === e.from && a.to === e.to)) continue;
    const rule = folderRule(e.from, rules);
    const test = isTestFile(e.from);
    const mod = test ? moduleOf(e.from) : undefined;
    const header = headers.get(e.from);
    const modHeader = mod ? headers.get(mod) : undefined;
    const report = (why: string) =>
      problems.push({ file: e.from, line: e.line, imports: e.to, rule: why });
    if (e.external) {
      if (!e.to.startsWith("node:") && !options.pinned.has(e.to)) {
        report(`${e.to} is not a package deno.json pins (import it by its deno.json name)`);
        continue;
      }
      const allowed = test
        ? (rule.testPackages && [...(rule.packages ?? []), ...rule.testPackages])
        : rule.packages;
      if (allowed && !allowed.includes(e.to)) {
        report(`${rule.path} may not import package ${e.to}`);
      } else if (
        !test && !e.to.startsWith("node:") && header && header.packages.length > 0 &&
        !header.packages.includes(e.to)
      ) {
        report(`its May import line (line ${header.line}) does not name package ${e.to}`);
      }
      continue;
    }
    const own = folderOf(e.from);
    const sameFolder = folderOf(e.to) === own;
    const testing = test && (isTestingHelper(e.to) || e.to === mod);
    const ceiling = [...rule.may, ...(test ? rule.testsMay ?? [] : [])];
    if (!sameFolder && !testing && !ceiling.some((a) => covers(a, e.to))) {
      report(`${rule.path} may import only ${ceiling.join(", ") || "its own folder"}`);
      continue;
    }
    if (!header || sameFolder || testing) continue;
    const entry = [...header.entries, ...(modHeader?.entries ?? [])].find((x) =>
      covers(x.path, e.to)
    );
    const extra = test && (rule.testsMay ?? []).some((a) => covers(a, e.to));
    if (!entry && !extra) {
      const listed = header.entries.map((x) => x.path).join(", ") || "nothing outside its folder";
      report(`its May import line (line ${header.line}) lists only ${listed}`);
    } else if (entry?.typesOnly && !e.typeOnly && !extra) {
      report(`its May import line (line ${header.line}) allows ${entry.path} for types only`);
    }
  }
  return problems;
}
