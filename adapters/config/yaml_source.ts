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
): Result<YamlRead[], YamlProblem[]> {
  // The BOM is not content; drop it so positions count from the first real character, as an
  // editor shows them.
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
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
  const sizes = new Map<Node, number>();
  const sizeOf = (node: unknown, depth: number): number => {
    if (depth > 64) return MAX_ALIAS_EXPANSION + 1; // deeper nesting than any real file
    if (!isNode(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    let n = 1;
    if (isAlias(node)) {
      const target = node.resolve(doc);
      n = target ? sizeOf(target, depth + 1) : 1;
    } else {
      visit(node, {
        Alias: (_k, a) => {
          const target = a.resolve(doc);
          n += target ? sizeOf(target, depth + 1) : 1;
          return visit.SKIP;
        },
        Node: () => {
          n++;
        },
      });
    }
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
      const target = alias.resolve(doc);
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
