/**
 * The repository is self-contained: every file git tracks is checked for citations a reader of
 * the project cannot follow. A file is reported, at file:line, when it
 *
 * - cites the design notes kept beside the repository (a path into the sibling `shared` folder,
 *   whether written relative to the repository or from the notes' own folder names);
 * - names a Markdown file that is not tracked in the repository (e.g. a design note by its file
 *   name alone); a public URL ending in .md is a link a reader can follow and is not checked;
 * - uses a section sign outside docs/. Code, tests and deploy files cite a rule by stating it, or
 *   by a doc's path and heading (e.g. "docs/semantics.md, 'Disruption'"), never by a number;
 * - uses a section sign in a file under docs/ for a number that file does not define. A doc
 *   defines section N.M by a Markdown heading whose text starts with that number ("### 6.2 ..."
 *   or "## 6. ..."); a doc cites only its own sections;
 * - cites a trap by its number (the word "trap" and a number) from a list outside the
 *   repository;
 * - names a test by a section number (a test name starting with "12.1.8 ...") instead of the
 *   behaviour it asserts.
 *
 * `citationsIn` is a pure function over (path, text) pairs, so the planted-violation test below
 * shows each rule can fail. May import: node:assert/strict.
 */
import { deepEqual, ok } from "node:assert/strict";

/** One file's path (relative to the repository root) and text. */
export type SourceFile = { path: string; text: string };

const SECTION = "\u00a7";
const SHARED_PATH = new RegExp(
  [["\\.\\.", "shared"].join("/"), ["shared", "(?:design|docs)\\b"].join("/")].join("|"),
);
const SECTION_NUMBER = new RegExp(`${SECTION}\\s*(\\d+(?:\\.\\d+)*)`, "g");
const WEB_LINK = /\bhttps?:\/\/\S+/g;
const MARKDOWN_NAME = /[\w./-]+\.md\b/g;
const TRAP_NUMBER = /\btraps? \d+(?:\.\d+)*/i;
const NUMBERED_TEST = /\b(?:Deno\.test|\.step|\bit|\bdescribe)\(\s*["'`]\d+\.\d+/;
const HEADING_NUMBER = /^#{1,6}\s+(?:\u00a7\s*)?(\d+(?:\.\d+)*)\.?\s/;

/** The section numbers a Markdown text defines by its numbered headings. */
export function sectionsDefined(text: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const m = fenced ? null : HEADING_NUMBER.exec(line);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

/** Every citation in `files` a reader of the repository cannot follow, as "path:line: why". */
export function citationsIn(files: readonly SourceFile[]): string[] {
  const tracked = new Set(files.map((f) => f.path.split("/").pop()!));
  const found: string[] = [];
  for (const { path, text } of files) {
    const inDocs = path.startsWith("docs/") && path.endsWith(".md");
    const defined = inDocs ? sectionsDefined(text) : new Set<string>();
    text.split("\n").forEach((line, i) => {
      const at = `${path}:${i + 1}`;
      if (SHARED_PATH.test(line)) {
        found.push(`${at}: cites the design notes outside the repository`);
      }
      for (const m of line.replace(WEB_LINK, "").matchAll(MARKDOWN_NAME)) {
        const name = m[0].split("/").pop()!;
        if (!tracked.has(name)) found.push(`${at}: names ${name}, which is not in the repository`);
      }
      for (const [, n = ""] of line.matchAll(SECTION_NUMBER)) {
        if (!inDocs) found.push(`${at}: section number ${n} outside docs/; state the rule`);
        else if (!defined.has(n)) found.push(`${at}: section ${n} is not a heading here`);
      }
      if (TRAP_NUMBER.test(line)) found.push(`${at}: cites a trap by its number`);
      if (NUMBERED_TEST.test(line)) found.push(`${at}: test named by a section number`);
    });
  }
  return found;
}

/** The text of every file git tracks, binary files left out. */
export async function trackedFiles(): Promise<SourceFile[]> {
  const root = new URL("..", import.meta.url).pathname;
  const listing = await new Deno.Command("git", { args: ["ls-files", "-z"], cwd: root }).output();
  ok(listing.success, new TextDecoder().decode(listing.stderr));
  const paths = new TextDecoder().decode(listing.stdout).split("\0").filter((p) => p !== "");
  const files: SourceFile[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (const path of paths) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(root + path);
    } catch {
      continue; // deleted in the working tree, not yet committed
    }
    if (bytes.includes(0)) continue;
    try {
      files.push({ path, text: decoder.decode(bytes) });
    } catch {
      continue; // not UTF-8 text
    }
  }
  return files;
}

Deno.test("no tracked file cites a document outside the repository or an undefined section", async () => {
  const files = await trackedFiles();
  ok(files.length > 100, `only ${files.length} tracked files read`);
  const found = citationsIn(files);
  deepEqual(found, [], found.join("\n"));
});

Deno.test("planted citations are each reported with file and line", () => {
  // Planted names are assembled from pieces so that this file itself cites nothing.
  const md = (name: string) => `${name}.md`;
  const guide = `docs/${md("guide")}`;
  const files: SourceFile[] = [
    { path: md("README"), text: "# proxscale\n" },
    {
      path: guide,
      text: [
        "# Guide",
        "## 1. Build",
        "### 1.2 Image",
        `See ${SECTION}1.2 and ${SECTION}1 (defined here), not ${SECTION}4.1.`,
      ].join("\n"),
    },
    {
      path: "core/x.ts",
      text: [
        `/** Fine: see ${md("README")} and ${guide}, or https://example.org/${md("a")}. */`,
        `// the rule of ${["..", "shared", "design", md("NOTES")].join("/")}`,
        `// drift (semantics ${SECTION}6)`,
        `// ${"trap"} 22: six fractional digits`,
        `// per ${md("kubernetes-api")}`,
      ].join("\n"),
    },
    {
      path: "core/x_test.ts",
      text: `Deno.test("${"12.1"}.8 a Status carries its code", () => {});`,
    },
  ];
  deepEqual(citationsIn(files), [
    `${guide}:4: section 4.1 is not a heading here`,
    "core/x.ts:2: cites the design notes outside the repository",
    `core/x.ts:2: names ${md("NOTES")}, which is not in the repository`,
    "core/x.ts:3: section number 6 outside docs/; state the rule",
    "core/x.ts:4: cites a trap by its number",
    `core/x.ts:5: names ${md("kubernetes-api")}, which is not in the repository`,
    "core/x_test.ts:1: test named by a section number",
  ]);
});
