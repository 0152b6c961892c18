/**
 * Reads YAML text an operator wrote into plain values, turning every way YAML can go wrong into
 * a located, plain-words problem instead of an exception: syntax errors, an alias whose anchor
 * is missing, aliases that expand into a huge value (an "alias bomb"), more than one document
 * where one is expected, tags that are not plain YAML (`!!python/object`, `!custom`). A byte
 * order mark is accepted, as YAML allows, without shifting lines or columns.
 *
 * The configuration, the snapshot file, `migrate` and hot reload all read through here, so a
 * bad file is an error message with file:line:column and never a crash of the daemon.
 *
 * May import: npm:yaml, core/result.ts.
 */
import {
  type Document,
  isAlias,
  isNode,
  LineCounter,
  type Node,
  parseAllDocuments,
  visit,
} from "yaml";
import { err, ok, type Result } from "../../core/result.ts";

/** A problem located in the source. Lines and columns from 1. */
export type YamlProblem = { line: number; col: number; message: string };

/** One document read: its node tree (for locating later problems) and its plain value. */
export type YamlRead = { doc: Document; lc: LineCounter; value: unknown };

/**
 * How many nodes the aliases of one document may expand to in total. A real configuration
 * repeats a few blocks; an alias bomb expands to millions.
 */
export const MAX_ALIAS_EXPANSION = 10_000;

/** How many aliases one document may hold (each is resolved by a walk of the document). */
export const MAX_ALIASES = 1_000;

/**
 * Size bounds checked before parsing, so a huge file is a located refusal in milliseconds
 * instead of seconds of parsing. A configuration is a few hundred lines.
 */
export type YamlLimits = { maxBytes: number; maxLines: number };

/** The bounds of a configuration file (and of `migrate`'s input). */
export const CONFIG_LIMITS: YamlLimits = { maxBytes: 128 * 1024, maxLines: 5_000 };

/** Deepest nesting of flow collections (`[`, `{`) a file may have; real files use a few. */
export const MAX_FLOW_DEPTH = 64;

/** Where the text first crosses the limits (size, lines, flow nesting), if it does. */
function overLimits(text: string, limits: YamlLimits): YamlProblem | undefined {
  let line = 1;
  let lineStart = 0;
  let depth = 0;
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== "") {
      if (ch === quote) quote = "";
      else if (ch === "\\" && quote === '"') i++;
    } else if (ch === "#" && (i === lineStart || /\s/.test(text[i - 1]!))) {
      const nl = text.indexOf("\n", i);
      i = (nl < 0 ? text.length : nl) - 1;
      continue;
    } else if ((ch === '"' || ch === "'") && depth > 0) quote = ch;
    else if (ch === "[" || ch === "{") {
      if (++depth > MAX_FLOW_DEPTH) {
        return {
          line,
          col: i - lineStart + 1,
          message: `collections nested deeper than ${MAX_FLOW_DEPTH} levels`,
        };
      }
    } else if ((ch === "]" || ch === "}") && depth > 0) depth--;
    if (i >= limits.maxBytes) {
      return {
        line,
        col: i - lineStart + 1,
        message: `the file is larger than ${limits.maxBytes} bytes (${text.length}); ` +
          "this is more than any real one holds",
      };
    }
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
      if (line > limits.maxLines) {
        return {
          line,
          col: 1,
          message: `the file has more than ${limits.maxLines} lines; ` +
            "this is more than any real one holds",
        };
      }
    }
  }
  return undefined;
}

/** Tags whose values are plain YAML data (the core schema and the common long forms). */
const PLAIN_TAGS = new Set([
  "tag:yaml.org,2002:map",
  "tag:yaml.org,2002:seq",
  "tag:yaml.org,2002:str",
  "tag:yaml.org,2002:int",
  "tag:yaml.org,2002:float",
  "tag:yaml.org,2002:bool",
  "tag:yaml.org,2002:null",
]);

function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/\s+at line \d+, column \d+:?$/, "");
}

/** Reads every document of `text`; `expect: "one"` refuses a second one where it starts. */
export function readYaml(
  text: string,
  expect: "one" | "many",
  limits: YamlLimits = CONFIG_LIMITS,
): Result<YamlRead[], YamlProblem[]> {
  // The BOM is not content; drop it so positions count from the first real character, as an
  // editor shows them.
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const over = overLimits(source, limits);
  if (over) return err([over]);
  const lc = new LineCounter();
  const docs = parseAllDocuments(source, {
    lineCounter: lc,
    uniqueKeys: true,
    prettyErrors: false,
  });
  const list = Array.isArray(docs) ? docs : [];
  const at = (offset: number) => lc.linePos(offset);
  const problems: YamlProblem[] = [];
  for (const d of list) {
    for (const e of d.errors) {
      problems.push({ ...at(e.pos[0]), message: `YAML syntax: ${firstLine(e.message)}` });
    }
  }
  if (problems.length > 0) return err(problems);
  const tagAt = (offset: number): { line: number; col: number; tag?: string } => {
    // A tagged collection's range starts at its first entry; the tag is written just before.
    const m = /(!\S*)\s*$/.exec(source.slice(Math.max(0, offset - 200), offset));
    return m ? { ...at(offset - m[0].length), tag: m[1]! } : at(offset);
  };
  const real = list.filter((d) => d.contents !== null || list.length === 1);
  if (expect === "one" && real.length > 1) {
    const second = real[1]!;
    return err([{
      ...at(second.range[0]),
      message: `a second YAML document starts here (the file holds ${real.length}); ` +
        "a configuration is one document: remove the '---' line and what follows, " +
        "or split it into two files",
    }]);
  }
  const reads: YamlRead[] = [];
  for (const doc of real) {
    const checked = checkNodes(doc, at, tagAt);
    if (checked.length > 0) return err(checked);
    try {
      reads.push({ doc, lc, value: doc.toJS({ maxAliasCount: -1 }) });
    } catch (e) {
      // checkNodes covers what toJS refuses; this keeps a library surprise a located problem.
      const pos = doc.contents && isNode(doc.contents) && doc.contents.range
        ? at(doc.contents.range[0])
        : { line: 1, col: 1 };
      return err([{ ...pos, message: `YAML: ${firstLine(String((e as Error).message ?? e))}` }]);
    }
  }
  return ok(reads);
}

/** Unknown tags, aliases without an anchor, and aliases expanding past the limit. */
function checkNodes(
  doc: Document,
  at: (offset: number) => { line: number; col: number },
  tagAt: (offset: number) => { line: number; col: number; tag?: string },
): YamlProblem[] {
  const problems: YamlProblem[] = [];
  // Count first: resolving an alias walks the document, so thousands of them take seconds.
  let aliases = 0;
  let tooMany: YamlProblem | undefined;
  visit(doc, {
    Alias: (_k, alias) => {
      if (++aliases > MAX_ALIASES) {
        const pos = alias.range ? at(alias.range[0]) : { line: 1, col: 1 };
        tooMany = {
          ...pos,
          message: `more than ${MAX_ALIASES} aliases in one document; ` +
            "write the repeated blocks out",
        };
        return visit.BREAK;
      }
    },
  });
  if (tooMany) return [tooMany];
  const sizes = new Map<Node, number>();
  const inProgress = new Set<Node>();
  // Each resolve walks the document: once per alias.
  const targets = new Map<Node, Node | undefined>();
  const resolve = (a: Node & { resolve(d: Document): Node | undefined }) => {
    if (!targets.has(a)) targets.set(a, a.resolve(doc));
    return targets.get(a);
  };
  const sizeOf = (node: unknown, depth: number): number => {
    if (depth > 64) return MAX_ALIAS_EXPANSION + 1; // deeper nesting than any real file
    if (!isNode(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    // An alias inside its own anchor's value expands without end.
    if (inProgress.has(node)) return MAX_ALIAS_EXPANSION + 1;
    inProgress.add(node);
    let n = 1;
    if (isAlias(node)) {
      const target = resolve(node);
      n = target ? sizeOf(target, depth + 1) : 1;
    } else {
      visit(node, {
        Alias: (_k, a) => {
          const target = resolve(a);
          n += target ? sizeOf(target, depth + 1) : 1;
          return visit.SKIP;
        },
        Node: () => {
          n++;
        },
      });
    }
    inProgress.delete(node);
    sizes.set(node, n);
    return n;
  };
  let expanded = 0;
  let reported = false;
  visit(doc, {
    Node: (_k, node) => {
      if (node.tag && !PLAIN_TAGS.has(node.tag) && node.range) {
        const { tag, ...pos } = tagAt(node.range[0]);
        problems.push({
          ...pos,
          message: `unknown YAML tag ${tag ?? node.tag}; a configuration holds plain YAML values ` +
            "(maps, lists, strings, numbers, booleans), not tagged objects",
        });
      }
    },
    Alias: (_k, alias) => {
      const pos = alias.range ? at(alias.range[0]) : { line: 1, col: 1 };
      const target = resolve(alias);
      if (!target) {
        problems.push({
          ...pos,
          message: `alias *${alias.source} refers to no anchor &${alias.source} defined before it`,
        });
        return;
      }
      expanded += sizeOf(target, 0);
      if (expanded > MAX_ALIAS_EXPANSION && !reported) {
        reported = true;
        problems.push({
          ...pos,
          message: `aliases expand to more than ${MAX_ALIAS_EXPANSION} values ` +
            "(an alias bomb); write the repeated blocks out or use fewer nested aliases",
        });
      }
    },
  });
  return problems;
}
