/**
 * The repository's import graph, read from the source text: a small tokenizer that skips
 * comments, strings, template literals and regular expressions, then finds the static
 * `import ... from "x"`, `import "x"`, `export ... from "x"` and dynamic `import("x")` (string
 * literal only) of each file. Relative specifiers resolve to paths from the repository root;
 * `node:` modules and deno.json import-map names are external modules, named by package; an
 * inline `npm:` (or other scheme) specifier stays whole, so the check can refuse it.
 *
 * May import: nothing of the project.
 */
import { dirname, join, normalize } from "node:path";

/**
 * One import as written in a file: its specifier, line, and whether it brings only types
 * (`import type`, `export type`, `typeof import("x")`, `import("x").Name`), as Deno's module
 * graph tells a type dependency from a code one.
 */
export type RawImport = { specifier: string; line: number; typeOnly: boolean };

/**
 * One edge of the graph: `to` is a repository path; when `external`, the package a bare or node:
 * specifier names, or the whole specifier of any other scheme (`npm:x@1`, `https:`).
 */
export type ImportEdge = {
  from: string;
  to: string;
  external: boolean;
  typeOnly: boolean;
  line: number;
};

type Token = {
  kind: "word" | "str" | "punct" | "tpl" | "regex" | "num";
  text: string;
  line: number;
};

const WORD = /[A-Za-z0-9_$]/;
/** After these words a `/` starts a regular expression, not a division. */
const REGEX_AFTER = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "yield",
  "await",
  "instanceof",
]);

/** The tokens of a TypeScript text, without comments or whitespace. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const templates: number[] = []; // brace depth at each open `${`
  let depth = 0;
  let line = 1;
  let i = 0;
  const n = text.length;

  const readString = (quote: string): string => {
    let value = "";
    i++;
    while (i < n && text[i] !== quote) {
      if (text[i] === "\\") {
        value += text[i + 1] ?? "";
        i += 2;
        continue;
      }
      if (text[i] === "\n") line++;
      value += text[i];
      i++;
    }
    i++;
    return value;
  };
  // Reads template text from i (just past a backtick or a closing `}`) to the closing backtick
  // or the next `${`.
  const readTemplate = (): void => {
    const start = line;
    while (i < n) {
      const c = text[i];
      if (c === "\\") {
        i += 2;
        continue;
      }
      if (c === "\n") line++;
      if (c === "`") {
        i++;
        break;
      }
      if (c === "$" && text[i + 1] === "{") {
        templates.push(depth);
        depth++;
        i += 2;
        break;
      }
      i++;
    }
    tokens.push({ kind: "tpl", text: "`", line: start });
  };
  const regexAllowed = (): boolean => {
    const prev = tokens[tokens.length - 1];
    if (!prev) return true;
    if (prev.kind === "word") return REGEX_AFTER.has(prev.text);
    if (prev.kind === "punct") return ![")", "]", "}"].includes(prev.text);
    return false;
  };

  while (i < n) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let k = i; k < stop; k++) if (text[k] === "\n") line++;
      i = stop;
    } else if (c === '"' || c === "'") {
      const start = line;
      tokens.push({ kind: "str", text: readString(c), line: start });
    } else if (c === "`") {
      i++;
      readTemplate();
    } else if (c === "/" && regexAllowed()) {
      const start = i;
      i++;
      let inClass = false;
      while (i < n && text[i] !== "\n") {
        const r = text[i];
        if (r === "\\") {
          i += 2;
          continue;
        }
        if (r === "[") inClass = true;
        else if (r === "]") inClass = false;
        else if (r === "/" && !inClass) break;
        i++;
      }
      i++;
      while (i < n && WORD.test(text[i]!)) i++;
      tokens.push({ kind: "regex", text: text.slice(start, i), line });
    } else if (WORD.test(c)) {
      const start = i;
      while (i < n && WORD.test(text[i]!)) i++;
      const word = text.slice(start, i);
      tokens.push({ kind: /^[0-9]/.test(word) ? "num" : "word", text: word, line });
    } else if (c === "{") {
      depth++;
      tokens.push({ kind: "punct", text: c, line });
      i++;
    } else if (c === "}") {
      i++;
      depth--;
      if (templates.length > 0 && templates[templates.length - 1] === depth) {
        templates.pop();
        readTemplate();
      } else {
        tokens.push({ kind: "punct", text: c, line });
      }
    } else {
      tokens.push({ kind: "punct", text: c, line });
      i++;
    }
  }
  return tokens;
}

/** The imports and re-exports a TypeScript text makes, in source order. */
export function parseImports(text: string): RawImport[] {
  const tokens = tokenize(text);
  const out: RawImport[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind !== "word" || (t.text !== "import" && t.text !== "export")) continue;
    const prev = tokens[k - 1];
    if (prev && prev.kind === "punct" && prev.text === ".") continue; // obj.import
    const next = tokens[k + 1];
    if (!next) continue;
    if (t.text === "import" && next.text === "(") {
      const arg = tokens[k + 2];
      const close = tokens[k + 3];
      if (arg?.kind === "str" && (close?.text === ")" || close?.text === ",")) {
        // `typeof import("x")` and `import("x").Name` name a type; `import("x").then` is a value.
        const member = close.text === ")" && tokens[k + 4]?.text === "." &&
          !["then", "catch", "finally"].includes(tokens[k + 5]?.text ?? "");
        out.push({
          specifier: arg.text,
          line: arg.line,
          typeOnly: prev?.text === "typeof" || member,
        });
      }
      continue;
    }
    if (t.text === "import" && next.text === ".") continue; // import.meta
    if (t.text === "import" && next.kind === "str") {
      out.push({ specifier: next.text, line: next.line, typeOnly: false });
      continue;
    }
    // A clause up to `from`: `import a, { b } from`, `export * as x from`, `export { a } from`.
    if (t.text === "export" && !["*", "{", "type"].includes(next.text)) continue;
    if (
      t.text === "export" && next.text === "type" && !["{", "*"].includes(tokens[k + 2]?.text ?? "")
    ) {
      continue; // export type X = ...
    }
    let j = k + 1;
    const clause: Token[] = [];
    let braces = 0;
    while (j < tokens.length) {
      const c = tokens[j]!;
      if (braces === 0 && c.kind === "word" && c.text === "from") break;
      if (braces === 0 && (c.text === ";" || c.text === "=" || c.text === "(")) break;
      if (c.text === "{") braces++;
      if (c.text === "}") braces--;
      clause.push(c);
      j++;
      if (braces === 0 && clause.length > 0 && clause[0]!.text === "{" && c.text === "}") {
        if (tokens[j]?.text !== "from") break;
      }
    }
    const spec = tokens[j + 1];
    if (tokens[j]?.text !== "from" || spec?.kind !== "str") continue;
    // As Deno's module graph has it: `import { type A }` still loads the module.
    const typeOnly = clause[0]?.text === "type" && clause.length > 1;
    out.push({ specifier: spec.text, line: spec.line, typeOnly });
  }
  return out;
}

/** The package a bare or node: specifier names: `@a/b/x` is `@a/b`, `node:fs` stays. */
export function packageOf(specifier: string): string {
  if (specifier.startsWith("node:")) return specifier;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? `${parts[0]}/${parts[1] ?? ""}` : parts[0]!;
}

/**
 * The edges of one file: a relative specifier becomes a path from the repository root; anything
 * else (npm:, node:, an import-map name) an external package.
 */
export function edgesOf(file: string, text: string): ImportEdge[] {
  return parseImports(text).map((imp) => {
    const external = !imp.specifier.startsWith(".") && !imp.specifier.startsWith("/");
    const to = !external
      ? normalize(join(dirname(file), imp.specifier))
      : /^[a-z]+:/.test(imp.specifier) && !imp.specifier.startsWith("node:")
      ? imp.specifier
      : packageOf(imp.specifier);
    return { from: file, to, external, typeOnly: imp.typeOnly, line: imp.line };
  });
}

/** The repository root, one folder above this file. */
export const ROOT: string = normalize(join(dirname(new URL(import.meta.url).pathname), "..", ".."));

/** Every git-tracked .ts file, as paths from the repository root. */
export async function trackedTsFiles(root: string = ROOT): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--", "*.ts"],
    cwd: root,
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error("git ls-files failed");
  return new TextDecoder().decode(out.stdout).split("\0").filter((f) => f.endsWith(".ts"));
}

/** The texts of every git-tracked .ts file, by path. */
export async function repositorySources(root: string = ROOT): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const file of await trackedTsFiles(root)) {
    texts.set(file, await Deno.readTextFile(join(root, file)));
  }
  return texts;
}
